"""`odds-pipeline map BOOK FILE`, run as a user runs it, on answers saved from the sandbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.bookmakers.registry import open_client
from odds_pipeline.domain import Book
from odds_pipeline.sandbox.server import RunningSandbox
from odds_pipeline.settings import Settings


def _first_event(book: Book, url: str) -> RawResponse:
    async def fetch() -> RawResponse:
        async with open_client(book, Settings().with_books_at(url).books[book]) as client:
            catalogue = await client.catalogue()
            for ref in client.list_refs(catalogue):
                for page in await client.event_list(ref):
                    ids = client.event_ids(page)
                    if ids:
                        return await client.event(ids[0])
        raise AssertionError("the sandbox listed no event")

    return asyncio.run(fetch())


def _map(book: str, path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "odds_pipeline.cli", "map", book, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("book", list(Book))
def test_map_explains_every_line_of_a_saved_event(book: Book, sandbox: RunningSandbox, tmp_path: Path):
    raw = _first_event(book, sandbox.url)
    saved = tmp_path / f"{book.value}.json"
    saved.write_bytes(raw.body)
    result = _map(book.value, saved)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) > 30
    for line in lines:
        assert line["book"] == book.value and line["market"]
        assert ("mapped" in line) != ("reason" in line)
        for mapped in line.get("mapped", []):
            assert mapped["betpawa_market_id"] and mapped["outcomes"]
            assert all((o["odds"] is None and o["suspended"]) or o["odds"] > 1 for o in mapped["outcomes"])
    mapped = [line for line in lines if "mapped" in line]
    assert mapped
    if book is not Book.BETPAWA:
        assert {line["reason"] for line in lines if "reason" in line} <= {
            "UNKNOWN_MARKET",
            "NO_BETPAWA_EQUIVALENT",
            "UNKNOWN_OUTCOME",
            "UNKNOWN_PARAM",
            "UNCONFIRMED",
        }


def test_map_names_a_malformed_answer(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"bizCode": 10000, "data": {"eventId": ')
    result = _map("sportybet", broken)
    assert result.returncode == 1
    assert "MalformedResponseError" in result.stderr


def test_map_says_when_the_file_is_missing(tmp_path: Path):
    result = _map("bet9ja", tmp_path / "absent.json")
    assert result.returncode == 2
    assert "cannot read" in result.stderr
