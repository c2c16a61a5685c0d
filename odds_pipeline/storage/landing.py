"""The landing store: every answer of a batch, compressed and append-only, the source of truth.

Layout: ``<root>/<partition key>/<book>/capture-<UTC timestamp>.jsonl.gz`` holds one JSON object
per answer (metadata plus the body, base64 when it is not valid UTF-8; an answer refused when it
arrived says why), and ``manifest.json`` lists every capture with its counts, bytes and sha256, and
what never arrived. A capture is never rewritten: a re-scrape adds a
capture, and readers take the latest complete one. Everything downstream can be re-derived from it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.domain import Book

MANIFEST = "manifest.json"


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


def _encode(response: RawResponse) -> dict[str, Any]:
    try:
        body, encoding = response.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(response.body).decode("ascii"), "base64"
    return {
        "endpoint": response.endpoint,
        "ref": response.ref,
        "url": response.url,
        "status": response.status,
        "fetched_at": response.fetched_at.isoformat(),
        "elapsed_ms": response.elapsed_ms,
        "attempts": response.attempts,
        **({"rejected": response.rejected} if response.rejected else {}),
        "encoding": encoding,
        "body": body,
    }


def _decode(book: Book, item: dict[str, Any]) -> RawResponse:
    body = item["body"].encode("utf-8") if item["encoding"] == "utf-8" else base64.b64decode(item["body"])
    return RawResponse(
        book=book,
        endpoint=item["endpoint"],
        ref=item["ref"],
        url=item["url"],
        status=item["status"],
        body=body,
        fetched_at=datetime.fromisoformat(item["fetched_at"]),
        elapsed_ms=item["elapsed_ms"],
        attempts=item["attempts"],
        rejected=item.get("rejected"),
    )


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

    def write(
        self,
        partition_key: str,
        book: Book,
        responses: list[RawResponse],
        *,
        events: int,
        errors_by_type: dict[str, int],
        down: bool = False,
        listed: int = 0,
        failed_lists: dict[str, str] | None = None,
        failures: dict[str, str] | None = None,
    ) -> CaptureManifest:
        folder = self.folder(partition_key, book)
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        name = f"capture-{now.strftime('%Y%m%dT%H%M%S%fZ')}.jsonl.gz"
        temporary = folder / f".{name}.partial"
        raw_bytes = 0
        with gzip.open(temporary, "wb", compresslevel=6) as out:
            for response in responses:
                raw_bytes += len(response.body)
                out.write(json.dumps(_encode(response), ensure_ascii=False).encode("utf-8") + b"\n")
        digest = hashlib.sha256(temporary.read_bytes()).hexdigest()
        os.replace(temporary, folder / name)  # a reader never sees half a capture
        manifest = CaptureManifest(
            file=name,
            responses=len(responses),
            events=events,
            errors=sum(errors_by_type.values()),
            raw_bytes=raw_bytes,
            stored_bytes=(folder / name).stat().st_size,
            sha256=digest,
            captured_at=now.isoformat(),
            down=down,
            errors_by_type=dict(errors_by_type),
            listed=listed,
            failed_lists=dict(failed_lists or {}),
            failures=dict(failures or {}),
        )
        captures = [m.to_json() for m in self.manifests(partition_key, book)] + [manifest.to_json()]
        manifest_path = folder / MANIFEST
        manifest_path.with_suffix(".tmp").write_text(json.dumps({"captures": captures}, indent=1))
        os.replace(manifest_path.with_suffix(".tmp"), manifest_path)
        return manifest

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

    def latest(self, partition_key: str, book: Book) -> tuple[CaptureManifest, list[RawResponse]]:
        """The latest capture of a batch and book, checked against its sha256."""
        manifests = self.manifests(partition_key, book)
        if not manifests:
            raise CaptureMissingError(f"no raw capture of {book.value} for batch {partition_key}")
        manifest = manifests[-1]
        path = self.folder(partition_key, book) / manifest.file
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise CaptureMissingError(f"{path} does not match the sha256 in its manifest")
        lines = gzip.decompress(data).splitlines()
        return manifest, [_decode(book, json.loads(line)) for line in lines if line]
