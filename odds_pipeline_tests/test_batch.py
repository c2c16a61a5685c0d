"""One batch step by step, without Dagster: the sandbox, the landing store and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from odds_pipeline import batch as steps
from odds_pipeline.bookmakers.registry import open_client, parsers
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import Scale, WorldConfig
from odds_pipeline.settings import Settings
from odds_pipeline.storage import batches, migrations
from odds_pipeline.storage.database import EmbeddedServer, drop_database, ensure_database, make_engine
from odds_pipeline.storage.landing import CaptureMissingError, LandingStore
from odds_pipeline.storage.models import (
    Event,
    OddsSnapshot,
)
from odds_pipeline.storage.writers import state_hash
from odds_pipeline_tests.tables import row_counts

WINDOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def batch_engine(pg_server: EmbeddedServer) -> Iterator[Engine]:
    url = pg_server.url(f"odds_batch_{datetime.now(UTC).strftime('%H%M%S%f')}")
    ensure_database(url)
    migrations.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def world() -> Iterator[RunningSandbox]:
    world = WorldConfig(seed=5, scale=Scale.TINY, follow_wall_clock=False)
    with RunningSandbox(SandboxOptions(world=world)) as running:
        yield running


def run_batch(engine: Engine, sandbox_url: str, landing: LandingStore, window: datetime, *, capture: bool = True):
    settings = Settings().with_books_at(sandbox_url)
    key = window.strftime("%Y-%m-%d-%H:%M")
    summaries = {}
    mapper = MarketMapper(file_catalogue())
    with Session(engine) as session, session.begin():
        scrape_batch = batches.ensure_batch(session, key, window, window + timedelta(minutes=15))
        for book in Book:
            run = batches.ensure_run(session, scrape_batch, book)
            parser = steps.CaptureParser(book, parsers(book, settings.books[book]), mapper)
            if capture:
                opener = lambda b=book: open_client(b, settings.books[b])  # noqa: E731
                summary, errors = steps.capture(opener, landing, key, book, parser=parser)
                batches.record_errors(session, run, errors, "fetch")
                parsed = parser.parsed(summary.manifest)
            else:
                parsed = steps.parse_landed(landing, key, parser)
            palimpsest = steps.store_palimpsest(session, scrape_batch, parsed, run)
            summaries[book] = (parsed, palimpsest, run.id)
        match = steps.match_events(session, scrape_batch)
        odds = {b: steps.store_odds(session, scrape_batch, p, run_id) for b, (p, _, run_id) in summaries.items()}
        batches.settle_batch(session, scrape_batch)
    return match, odds


def test_a_batch_is_stored_once_however_often_it_runs(batch_engine: Engine, world: RunningSandbox, tmp_path: Path):
    landing = LandingStore(tmp_path / "landing")
    match, odds = run_batch(batch_engine, world.url, landing, WINDOW)
    first = row_counts(batch_engine)
    assert first["events"] >= 15 and first["market_odds"] > 1_000 and first["competitor_market_odds"] > 500
    for book in COMPETITORS:
        assert 0.5 < match.match_rate(book) <= 1.0
        assert odds[book].coverage > 0.4
    # Re-deriving the same batch from its landed capture changes nothing.
    run_batch(batch_engine, world.url, landing, WINDOW, capture=False)
    assert row_counts(batch_engine) == first
    # Neither does scraping it again (the world has not moved).
    run_batch(batch_engine, world.url, landing, WINDOW)
    assert row_counts(batch_engine) == first

    # Fifteen minutes later a few prices moved: the next batch writes only those lines.
    httpx.post(f"{world.url}/__sandbox/advance", params={"minutes": 15}, timeout=10).raise_for_status()
    run_batch(batch_engine, world.url, landing, WINDOW + timedelta(minutes=15))
    second = row_counts(batch_engine)
    new_rows = second["market_odds"] - first["market_odds"]
    assert 0 < new_rows < first["market_odds"] * 0.3
    with Session(batch_engine) as session:
        confirmed = session.scalar(
            select(func.count())
            .select_from(OddsSnapshot)
            .where(OddsSnapshot.last_confirmed_at > OddsSnapshot.captured_at)
        )
        assert confirmed >= 0


def test_the_digests_taken_during_the_capture_are_those_of_the_states_stored(world: RunningSandbox, tmp_path: Path):
    settings = Settings().with_books_at(world.url)
    mapper = MarketMapper(file_catalogue())
    for book in Book:
        parser = steps.CaptureParser(book, parsers(book, settings.books[book]), mapper)
        opener = lambda b=book: open_client(b, settings.books[b])  # noqa: E731
        summary, _ = steps.capture(opener, LandingStore(tmp_path), "2026-11-22-12:00", book, parser=parser)
        odds = parser.parsed(summary.manifest).odds
        assert sum(len(event.lines) for event in odds.values()) > 100
        for event in odds.values():
            # A line mapped twice (two markets of the book onto one BetPawa line) keeps the last
            # state, and its digest must be that state's.
            assert event.digests == {key: state_hash(state) for key, state in event.lines.items()}


def test_a_batch_without_a_capture_says_so(tmp_path: Path):
    with pytest.raises(CaptureMissingError, match="no raw capture"):
        LandingStore(tmp_path).latest("2020-01-01-00:00", Book.BET9JA)


def test_a_sportradar_id_moves_to_the_event_betpawa_lists_now(session: Session):
    from odds_pipeline.bookmakers.records import EventRecord
    from odds_pipeline.storage.writers import store_events

    kickoff = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    old = EventRecord(Book.BETPAWA, "100", "61300947", kickoff, "Arsenal", "Chelsea")
    relisted = EventRecord(Book.BETPAWA, "200", "61300947", kickoff, "Arsenal", "Chelsea")
    twin = EventRecord(Book.BETPAWA, "300", "61300947", kickoff, "Arsenal", "Chelsea")
    bookmaker_id = batches.bookmaker_ids(session)[Book.BETPAWA]
    store_events(session, Book.BETPAWA, [old], bookmaker_id)
    store_events(session, Book.BETPAWA, [twin, relisted], bookmaker_id)
    owners = dict(session.execute(select(Event.external_id, Event.sportradar_id)).all())
    assert owners == {"100": None, "200": "61300947", "300": None}
