"""The landing store: every answer of a batch, compressed and append-only, the source of truth.

Layout: ``<root>/<partition key>/<book>/capture-<UTC timestamp>.jsonl.gz`` holds one JSON object
per answer: its metadata and its body, and ``manifest.json`` lists every capture with its counts,
bytes and sha256, and what never arrived. A body that is JSON on one line is kept as it is, byte for
byte, as the object's ``body`` value (``"encoding": "json"``); any other body is a string, UTF-8 or
base64 (an answer refused when it arrived says why). A capture is written as its answers arrive and
is never rewritten: a re-scrape adds a capture, and readers take the latest complete one.
Everything downstream can be re-derived from it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec
import orjson

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.domain import Book

# Fast and still about 6:1 on the books' JSON; the capture is written while the answers arrive.
COMPRESS_LEVEL = 1
MANIFEST = "manifest.json"
PRUNED = "PRUNED.json"  # retention's note in a batch's folder whose captures it deleted


class CaptureMissingError(LookupError):
    """No raw capture exists for a batch and book: the odds of the past cannot be fetched again."""


@dataclass(frozen=True)
class CaptureManifest:
    file: str
    responses: int
    events: int
    errors: int
    raw_bytes: int
    stored_bytes: int
    sha256: str
    captured_at: str
    down: bool = False  # no competition could be read: the book gave nothing usable
    errors_by_type: dict[str, int] = field(default_factory=dict)
    listed: int = 0  # distinct events the lists named
    failed_lists: dict[str, str] = field(default_factory=dict)  # competition → why its list was lost
    failures: dict[str, str] = field(default_factory=dict)  # what never arrived (event id, list) → why

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _safe_key(partition_key: str) -> str:
    return partition_key.replace(":", "").replace(" ", "T")


class _Record(msgspec.Struct, gc=False):
    """One line of a capture; ``body`` as it stands in the line (a JSON value)."""

    endpoint: str
    ref: str
    url: str
    status: int
    fetched_at: str
    elapsed_ms: float
    attempts: int
    encoding: str
    body: msgspec.Raw
    rejected: str | None = None


_RECORD = msgspec.json.Decoder(_Record)


def _line_parts(response: RawResponse) -> tuple[bytes, bool]:
    """The answer as one line, and whether the line is ``head + body + b"}\n"`` with the body verbatim."""
    head = {
        "endpoint": response.endpoint,
        "ref": response.ref,
        "url": response.url,
        "status": response.status,
        "fetched_at": response.fetched_at.isoformat(),
        "elapsed_ms": response.elapsed_ms,
        "attempts": response.attempts,
        **({"rejected": response.rejected} if response.rejected else {}),
    }
    body = response.body
    # Verbatim only when the line stays one line and the body is exactly what JSON parsing returns.
    # The syntax is known already for an answer the HTTP layer accepted: it is not checked twice.
    if b"\n" not in body and b"\r" not in body and body.strip() == body and response.is_json():
        return orjson.dumps({**head, "encoding": "json"})[:-1] + b',"body":', True
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return orjson.dumps({**head, "encoding": encoding, "body": text}) + b"\n", False


def _member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0)


_LINE_END = b"}\n"
_LINE_END_MEMBER = _member(_LINE_END)


def _response(book: Book, line: bytes) -> RawResponse:
    record = _RECORD.decode(line)
    if record.encoding == "json":
        body = bytes(record.body)
    else:
        text = msgspec.json.decode(record.body, type=str)
        body = text.encode("utf-8") if record.encoding == "utf-8" else base64.b64decode(text)
    return RawResponse(
        book=book,
        endpoint=record.endpoint,
        ref=record.ref,
        url=record.url,
        status=record.status,
        body=body,
        fetched_at=datetime.fromisoformat(record.fetched_at),
        elapsed_ms=record.elapsed_ms,
        attempts=record.attempts,
        rejected=record.rejected,
    )


def _gzip_lines(file: _Hashed, path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The lines of a gzip file of one or more members, inflated a megabyte at a time (GzipFile
    reads 8 KB at a time, in Python: on a capture of a few hundred megabytes that is most of the cost)."""
    inflate = zlib.decompressobj(wbits=31)
    in_member = False
    pending = b""
    while chunk := file.read(chunk_size):
        while chunk:
            in_member = True
            try:
                pending += inflate.decompress(chunk)
            except zlib.error as exc:
                raise CaptureMissingError(f"{path} is not the gzip stream it was ({exc})") from exc
            chunk = b""
            if inflate.eof:  # the next member, if any, starts in what is left
                chunk, in_member = inflate.unused_data, False
                inflate = zlib.decompressobj(wbits=31)
        *lines, pending = pending.split(b"\n")
        yield from lines
    if in_member:
        raise CaptureMissingError(f"{path} ends in the middle of its compressed stream")
    if pending:
        yield pending


class _Hashed:
    """A file whose bytes are hashed as they are written or read."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.file.write(data)

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data

    def flush(self) -> None:
        self.file.flush()


class CaptureWriter:
    """One capture being written: each answer compressed and appended as it arrives, nothing kept in memory."""

    def __init__(self, store: LandingStore, partition_key: str, book: Book) -> None:
        self.store, self.partition_key, self.book = store, partition_key, book
        self.folder = store.folder(partition_key, book)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started = datetime.now(UTC)
        self.name = f"capture-{self.started.strftime('%Y%m%dT%H%M%S%fZ')}.jsonl.gz"
        self._temporary = self.folder / f".{self.name}.partial"
        self._file = self._temporary.open("wb")
        self._hashed = _Hashed(self._file)
        self.responses = 0
        self.raw_bytes = 0

    def add(self, response: RawResponse) -> None:
        """Append one answer as gzip members. A body the book sent gzip-compressed is written as the
        book's own member, between two small ones for the line's head and end: the line reads the
        same, and the body is never compressed a second time."""
        head, verbatim = _line_parts(response)
        if verbatim and response.gzipped is not None:
            self._hashed.write(_member(head))
            self._hashed.write(response.gzipped)
            self._hashed.write(_LINE_END_MEMBER)
        else:
            self._hashed.write(_member(head + response.body + _LINE_END if verbatim else head))
        self.responses += 1
        self.raw_bytes += len(response.body)

    def finish(
        self,
        *,
        events: int,
        errors_by_type: dict[str, int],
        down: bool = False,
        listed: int = 0,
        failed_lists: dict[str, str] | None = None,
        failures: dict[str, str] | None = None,
    ) -> CaptureManifest:
        """Close the capture, move it into place and list it in the manifest."""
        if not self.responses:
            self._hashed.write(_member(b""))  # still a gzip file, for any tool that opens it
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temporary, self.folder / self.name)  # a reader never sees half a capture
        manifest = CaptureManifest(
            file=self.name,
            responses=self.responses,
            events=events,
            errors=sum(errors_by_type.values()),
            raw_bytes=self.raw_bytes,
            stored_bytes=(self.folder / self.name).stat().st_size,
            sha256=self._hashed.digest.hexdigest(),
            captured_at=self.started.isoformat(),
            down=down,
            errors_by_type=dict(errors_by_type),
            listed=listed,
            failed_lists=dict(failed_lists or {}),
            failures=dict(failures or {}),
        )
        self.store.add_manifest(self.partition_key, self.book, manifest)
        return manifest

    def abandon(self) -> None:
        """Drop a capture that will not be finished (its step failed): no half capture is left behind."""
        self._file.close()
        self._temporary.unlink(missing_ok=True)


class LandingStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, partition_key: str, book: Book) -> Path:
        return self.root / _safe_key(partition_key) / book.value

    def manifests(self, partition_key: str, book: Book) -> list[CaptureManifest]:
        path = self.folder(partition_key, book) / MANIFEST
        if not path.exists():
            return []
        return [CaptureManifest(**m) for m in json.loads(path.read_text())["captures"]]

    def open_capture(self, partition_key: str, book: Book) -> CaptureWriter:
        return CaptureWriter(self, partition_key, book)

    def add_manifest(self, partition_key: str, book: Book, manifest: CaptureManifest) -> None:
        captures = [m.to_json() for m in self.manifests(partition_key, book)] + [manifest.to_json()]
        manifest_path = self.folder(partition_key, book) / MANIFEST
        manifest_path.with_suffix(".tmp").write_text(json.dumps({"captures": captures}, indent=1))
        os.replace(manifest_path.with_suffix(".tmp"), manifest_path)

    def pruned(self, partition_key: str) -> dict[str, Any] | None:
        """The note retention left where a batch's captures were, if it deleted them."""
        note = self.root / _safe_key(partition_key) / PRUNED
        return json.loads(note.read_text()) if note.exists() else None

    def prune(self, started_before: datetime, horizon_days: int) -> tuple[int, int]:
        """Delete the captures of every batch that started before the cutoff, leaving a note of it in
        the batch's folder; returns (files, bytes) deleted."""
        files = size = 0
        for folder in sorted(self.root.iterdir()) if self.root.exists() else []:
            try:
                started = datetime.strptime(folder.name, "%Y-%m-%d-%H%M").replace(tzinfo=UTC)
            except ValueError:
                continue  # not a batch's folder
            if started >= started_before:
                continue
            kept = [path for path in folder.rglob("*") if path.is_file() and path.name != PRUNED]
            if not kept:
                continue
            gone = sum(path.stat().st_size for path in kept)
            for path in kept:
                path.unlink()
            for book_folder in (path for path in folder.iterdir() if path.is_dir()):
                book_folder.rmdir()
            note = {"pruned_at": datetime.now(UTC).isoformat(), "horizon_days": horizon_days, "files": len(kept)}
            (folder / PRUNED).write_text(json.dumps({**note, "bytes": gone}))
            files, size = files + len(kept), size + gone
        return files, size

    def sha256_of(self, partition_key: str, book: Book, manifest: CaptureManifest) -> str | None:
        """The sha256 of the capture's file as it is on disk now; None when the file is gone."""
        path = self.folder(partition_key, book) / manifest.file
        digest = hashlib.sha256()
        try:
            with path.open("rb") as capture:
                while chunk := capture.read(1 << 20):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        return digest.hexdigest()

    def latest(self, partition_key: str, book: Book) -> tuple[CaptureManifest, Iterator[RawResponse]]:
        """The latest capture of a batch and book: its manifest, and its answers one by one.

        The file is checked against the manifest's sha256 as it is read: a reader that takes every
        answer gets CaptureMissingError at the end if the bytes are not the ones landed.
        """
        manifests = self.manifests(partition_key, book)
        if not manifests:
            raise CaptureMissingError(f"no raw capture of {book.value} for batch {partition_key}")
        manifest = manifests[-1]
        path = self.folder(partition_key, book) / manifest.file
        if not path.exists():
            raise CaptureMissingError(f"{path} is listed in its manifest but missing")
        return manifest, self._answers(path, book, manifest)

    @staticmethod
    def _answers(path: Path, book: Book, manifest: CaptureManifest) -> Iterator[RawResponse]:
        with path.open("rb") as file:
            hashed = _Hashed(file)
            try:
                for line in _gzip_lines(hashed, path):
                    if line.strip():
                        yield _response(book, line)
            except CaptureMissingError:
                while hashed.read(1 << 20):
                    pass
                if hashed.digest.hexdigest() == manifest.sha256:
                    raise
            # what gzip left unread still counts
            while hashed.read(1 << 20):
                pass
        if hashed.digest.hexdigest() != manifest.sha256:
            raise CaptureMissingError(f"{path} does not match the sha256 in its manifest")
