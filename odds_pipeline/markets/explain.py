"""Explain one event: every market line of a full-event answer, mapped or with its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.domain import Book
from odds_pipeline.markets.engine import MarketMapper


def raw_from_file(book: Book, path: Path) -> RawResponse:
    """A saved full-event answer, as if it had just arrived."""
    return RawResponse(
        book=book,
        endpoint="event",
        ref=path.name,
        url=path.resolve().as_uri(),
        status=200,
        body=path.read_bytes(),
        fetched_at=datetime.now(UTC),
        elapsed_ms=0.0,
        attempts=0,
    )


def explain_event(
    raw: RawResponse, parse: Callable[[RawResponse], ParsedEvent], mapper: MarketMapper
) -> Iterator[dict[str, Any]]:
    """One JSON-able object per market line, then one per value the parser refused."""
    parsed = parse(raw)
    for mapping in mapper.map_many(parsed.lines):
        yield mapping.to_json()
    for problem in parsed.problems:
        yield {
            "book": raw.book.value,
            "problem": problem.error_type,
            "path": problem.field,
            "detail": str(problem.args[0]),
        }
