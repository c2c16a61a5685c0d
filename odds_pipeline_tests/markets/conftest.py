from __future__ import annotations

import pytest

from odds_pipeline.bookmakers.palimpsest import PalimpsestCapture
from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.bookmakers.registry import event_parser
from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.settings import Settings


@pytest.fixture(scope="session")
def sandbox_events(sandbox_palimpsests: dict[Book, PalimpsestCapture]) -> dict[Book, list[ParsedEvent]]:
    """Every book's demo palimpsest from the session sandbox, parsed."""
    events = {}
    for book, palimpsest in sandbox_palimpsests.items():
        parse = event_parser(book, Settings().books[book])
        events[book] = [parse(raw) for raw in palimpsest.events]
    return events


@pytest.fixture(scope="session")
def mapper() -> MarketMapper:
    return MarketMapper(file_catalogue())
