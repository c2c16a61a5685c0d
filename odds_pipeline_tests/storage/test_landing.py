"""The landing store: answers come back byte for byte, whatever they are, and a changed file is caught."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.domain import Book
from odds_pipeline.storage.landing import CaptureMissingError, LandingStore

KEY = "2026-11-23-10:00"
BODIES = [
    b'{"bizCode":10000,"data":{"eventId":"sr:match:1","odds":"1.85","desc":"Arsenal \\u00e9 \xc3\xa9"}}',
    b'{\n  "pretty": [1, 2]\n}\n',  # JSON on several lines
    b' {"padded": true} ',  # JSON with whitespace around it
    b'{"truncated": [1, 2',  # not JSON
    b"\xff\xfe not utf-8",  # not text at all
]


def _answer(index: int, body: bytes, rejected: str | None = None) -> RawResponse:
    return RawResponse(
        book=Book.SPORTYBET,
        endpoint="event",
        ref=f"sr:match:{index}",
        url=f"http://127.0.0.1:8765/api/ng/factsCenter/event?eventId=sr:match:{index}",
        status=200,
        body=body,
        fetched_at=datetime(2026, 11, 23, 10, 0, index, tzinfo=UTC),
        elapsed_ms=12.5 + index,
        attempts=1 + index % 2,
        rejected=rejected,
    )


def _land(store: LandingStore, answers: list[RawResponse]):
    writer = store.open_capture(KEY, Book.SPORTYBET)
    for answer in answers:
        writer.add(answer)
    return writer.finish(events=len(answers), errors_by_type={})


def _accept_as_landed(store: LandingStore, manifest) -> None:
    """Record the file's bytes as they are now as the ones landed."""
    manifest_file = store.folder(KEY, Book.SPORTYBET) / "manifest.json"
    listed = json.loads(manifest_file.read_text())
    listed["captures"][0]["sha256"] = store.sha256_of(KEY, Book.SPORTYBET, manifest)
    manifest_file.write_text(json.dumps(listed))


def test_every_answer_comes_back_byte_for_byte(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    answers = [
        _answer(i, body, rejected="MalformedResponseError: cut" if i == 3 else None) for i, body in enumerate(BODIES)
    ]
    manifest = _land(store, answers)
    assert (manifest.responses, manifest.raw_bytes) == (len(BODIES), sum(map(len, BODIES)))
    latest, read = store.latest(KEY, Book.SPORTYBET)
    assert latest == manifest
    assert list(read) == answers
    assert store.sha256_of(KEY, Book.SPORTYBET, manifest) == manifest.sha256


def test_a_body_the_book_gzipped_is_landed_as_the_book_compressed_it(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    gzipped = [gzip.compress(body, compresslevel=6, mtime=7) for body in BODIES]
    answers = [
        replace(_answer(i, body), gzipped=packed) for i, (body, packed) in enumerate(zip(BODIES, gzipped, strict=True))
    ]
    manifest = _land(store, answers)
    landed = (store.folder(KEY, Book.SPORTYBET) / manifest.file).read_bytes()
    # A JSON body on one line is the book's own member, byte for byte; the others are compressed
    # with their line, as any body without a gzip of its own.
    assert gzipped[0] in landed
    assert all(packed not in landed for packed in gzipped[1:])
    _, read = store.latest(KEY, Book.SPORTYBET)
    assert [(r.ref, r.body, r.elapsed_ms) for r in read] == [(a.ref, a.body, a.elapsed_ms) for a in answers]
    assert json.loads(gzip.decompress(landed).splitlines()[0])["body"]["data"]["odds"] == "1.85"


def test_a_capture_of_no_answers_is_still_a_gzip_file(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    manifest = _land(store, [])
    assert gzip.decompress((store.folder(KEY, Book.SPORTYBET) / manifest.file).read_bytes()) == b""
    assert list(store.latest(KEY, Book.SPORTYBET)[1]) == []


def test_a_json_body_is_kept_as_it_is_in_the_line(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    manifest = _land(store, [_answer(0, BODIES[0])])
    line = gzip.decompress((store.folder(KEY, Book.SPORTYBET) / manifest.file).read_bytes())
    assert BODIES[0] in line and json.loads(line)["encoding"] == "json"


def test_captures_landed_before_bodies_were_kept_verbatim_still_read(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    manifest = _land(store, [_answer(0, BODIES[0])])
    path = store.folder(KEY, Book.SPORTYBET) / manifest.file
    record = json.loads(gzip.decompress(path.read_bytes()))
    record.update(encoding="utf-8", body=BODIES[0].decode("utf-8"))  # the earlier format
    path.write_bytes(gzip.compress(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"))
    _accept_as_landed(store, manifest)
    _, read = store.latest(KEY, Book.SPORTYBET)
    assert [a.body for a in read] == [BODIES[0]]


def test_a_changed_capture_is_caught_when_it_is_read(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    manifest = _land(store, [_answer(i, BODIES[0]) for i in range(3)])
    path = store.folder(KEY, Book.SPORTYBET) / manifest.file
    path.write_bytes(path.read_bytes() + b"\x00")  # bytes after the gzip stream count too
    assert store.sha256_of(KEY, Book.SPORTYBET, manifest) != manifest.sha256
    _, read = store.latest(KEY, Book.SPORTYBET)
    with pytest.raises(CaptureMissingError, match="sha256"):
        list(read)


def test_an_abandoned_capture_leaves_nothing_and_the_latest_finished_one_is_read(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    first = _land(store, [_answer(0, BODIES[0])])
    writer = store.open_capture(KEY, Book.SPORTYBET)
    writer.add(_answer(1, BODIES[2]))
    writer.abandon()
    assert sorted(p.name for p in store.folder(KEY, Book.SPORTYBET).iterdir()) == sorted(["manifest.json", first.file])
    assert store.manifests(KEY, Book.SPORTYBET) == [first]
    second = _land(store, [_answer(2, BODIES[2])])
    latest, read = store.latest(KEY, Book.SPORTYBET)
    assert latest == second and [a.body for a in read] == [BODIES[2]]


def test_a_capture_cut_short_is_caught_when_it_is_read(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    manifest = _land(store, [_answer(i, BODIES[0]) for i in range(3)])
    path = store.folder(KEY, Book.SPORTYBET) / manifest.file
    path.write_bytes(path.read_bytes()[:-20])
    _, read = store.latest(KEY, Book.SPORTYBET)
    with pytest.raises(CaptureMissingError, match="sha256"):
        list(read)


def test_a_capture_of_several_gzip_members_reads_whole(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    answers = [_answer(i, BODIES[0] * (1 + i)) for i in range(4)]
    manifest = _land(store, answers)
    path = store.folder(KEY, Book.SPORTYBET) / manifest.file
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    # as gzip tools append: one member per line, the last without its newline
    path.write_bytes(b"".join(gzip.compress(line.rstrip(b"\n") if i == 3 else line) for i, line in enumerate(lines)))
    _accept_as_landed(store, manifest)
    _, read = store.latest(KEY, Book.SPORTYBET)
    assert list(read) == answers
