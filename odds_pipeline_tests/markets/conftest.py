from __future__ import annotations

from functools import partial

import pytest

from odds_pipeline.bookmakers.palimpsest import capture_palimpsest
from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.bookmakers.registry import event_parser, open_client
from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.sandbox.server import RunningSandbox
from odds_pipeline.settings import Settings


@pytest.fixture(scope="session")
def sandbox_events(sandbox: RunningSandbox) -> dict[Book, list[ParsedEvent]]:
    """Every book's demo palimpsest from the session sandbox, parsed."""
    from odds_pipeline.bench import settings_for

    settings = settings_for(Settings.from_env(), sandbox.url)

    events = {}
    for book in Book:
        palimpsest = capture_palimpsest(partial(open_client, book, settings))
        assert not palimpsest.errors
        parse = event_parser(book, settings)
        events[book] = [parse(raw) for raw in palimpsest.events]
    return events


@pytest.fixture(scope="session")
def mapper() -> MarketMapper:
    return MarketMapper(file_catalogue())
