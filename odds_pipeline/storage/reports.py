"""Read-only reports over a batch: what the checks measure and the fault benchmark counts.

Every query that judges a batch lives here, so the checks (`defs/checks.py`) and the benchmarks
measure the same thing.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Float, Text, cast, column, func, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book
from odds_pipeline.markets import margins
from odds_pipeline.storage import queries
from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorMarketOdds,
    CompetitorMarketOddsCurrent,
    CompetitorOddsSnapshot,
    Event,
    EventScrapeStatus,
    MarketOdds,
    MarketOddsCurrent,
    OddsSnapshot,
    ScrapeBatch,
)

MARGIN_MARKETS = ("3743", "5000")  # 1X2 and Over/Under: exclusive, complete, on every book


def delivered_events(session: Session, batch: ScrapeBatch, book: Book) -> int:
    return session.scalar(
        select(func.count())
        .select_from(EventScrapeStatus)
        .where(EventScrapeStatus.batch_id == batch.id, queries.delivered_by(book))
    )


def _snapshot_tables(book: Book) -> tuple[Any, Any]:
    return (MarketOdds, OddsSnapshot) if book is Book.BETPAWA else (CompetitorMarketOdds, CompetitorOddsSnapshot)


def _of_book(query: Any, snapshot: Any, book: Book) -> Any:
    """The query narrowed to ``book``'s snapshots (competitors share their tables)."""
    if book is Book.BETPAWA:
        return query
    return query.join(CompetitorEvent, CompetitorEvent.id == CompetitorOddsSnapshot.competitor_event_id).where(
        CompetitorEvent.source == book
    )


def market_rows(session: Session, batch: ScrapeBatch, book: Book) -> int:
    """Market rows the batch wrote for ``book``."""
    market, snapshot = _snapshot_tables(book)
    query = select(func.count()).select_from(market).join(snapshot, snapshot.id == market.snapshot_id)
    return session.scalar(_of_book(query, snapshot, book).where(snapshot.batch_id == batch.id))


def events_without_snapshot(session: Session, batch: ScrapeBatch, book: Book) -> int:
    """Events of this book scraped in the batch with neither a snapshot of the batch nor one it confirmed."""
    scraped = select(EventScrapeStatus.sportradar_id, EventScrapeStatus.event_key).where(
        EventScrapeStatus.batch_id == batch.id, queries.delivered_by(book)
    )
    keys = [sr or key for sr, key in session.execute(scraped)]
    if not keys:
        return 0
    if book is Book.BETPAWA:
        owner_id, snapshot, column = Event.id, OddsSnapshot, OddsSnapshot.event_id
        owners = select(Event.id).where(
            or_(Event.sportradar_id.in_(keys), func.concat("betpawa:", Event.external_id).in_(keys))
        )
    else:
        owner_id, snapshot = CompetitorEvent.id, CompetitorOddsSnapshot
        column = CompetitorOddsSnapshot.competitor_event_id
        owners = select(CompetitorEvent.id).where(
            CompetitorEvent.source == book,
            or_(
                CompetitorEvent.sportradar_id.in_(keys),
                func.concat(f"{book.value}:", CompetitorEvent.external_id).in_(keys),
            ),
        )
    covered = select(column).where(or_(snapshot.batch_id == batch.id, snapshot.last_confirmed_at >= batch.window_start))
    return session.scalar(select(func.count()).select_from(owners.where(owner_id.not_in(covered)).subquery()))


def _current_tables(book: Book) -> tuple[Any, Any, Any]:
    """(current-state table, its event column, the snapshot table's event column) of ``book``."""
    if book is Book.BETPAWA:
        return MarketOddsCurrent, MarketOddsCurrent.event_id, OddsSnapshot.event_id
    return (
        CompetitorMarketOddsCurrent,
        CompetitorMarketOddsCurrent.competitor_event_id,
        CompetitorOddsSnapshot.competitor_event_id,
    )


def _live_lines(book: Book, batch: ScrapeBatch, *columns: Any) -> Any:
    """The lines offered now on the events ``book`` was observed on in ``batch``, from the current state."""
    current, owner, observed_owner = _current_tables(book)
    _, snapshot = _snapshot_tables(book)
    observed = _of_book(select(observed_owner).where(snapshot.batch_id == batch.id), snapshot, book)
    return select(*columns).select_from(current).where(owner.in_(observed), current.unavailable_at.is_(None))


@dataclass(frozen=True)
class LiveState:
    """What a book offers after a batch, on the events the batch saw: the state, not the changes."""

    events: int
    lines: int
    impossible_prices: int  # prices at or below 1.0
    median_margin: float | None  # of complete, active 1X2 and Over/Under lines

    def figures(self) -> dict[str, Any]:
        return {
            "events_live": self.events,
            "lines_live": self.lines,
            "median_margin": -1.0 if self.median_margin is None else round(self.median_margin, 4),
        }


def live_state(session: Session, batch: ScrapeBatch, book: Book) -> LiveState:
    current, owner, _ = _current_tables(book)
    events, lines = session.execute(_live_lines(book, batch, func.count(func.distinct(owner)), func.count())).one()
    outcome = func.jsonb_array_elements(current.outcomes).table_valued(column("value", JSONB)).alias("outcome")
    impossible = session.scalar(
        _live_lines(book, batch, func.count())
        .join(outcome, text("true"))
        .where(cast(outcome.c.value["odds"].astext, Float) <= 1.0)
    )
    rows = session.execute(
        _live_lines(book, batch, cast(current.outcomes, Text)).where(current.betpawa_market_id.in_(MARGIN_MARKETS))
    )
    found = []
    for (text_outcomes,) in rows:
        outcomes = orjson.loads(text_outcomes)
        if len(outcomes) >= 2 and all(o["is_active"] and o["odds"] for o in outcomes):
            found.append(margins.margin([o["odds"] for o in outcomes]))
    return LiveState(events, lines, impossible, statistics.median(found) if found else None)


@dataclass
class BookOutcome:
    """One book's events in one batch: listed, stored with their odds, and why the others were not."""

    listed: int = 0
    stored: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # error type → events

    @property
    def failed(self) -> int:
        return self.listed - self.stored

    def to_json(self) -> dict[str, Any]:
        return {"listed": self.listed, "stored": self.stored, "failed": self.failed, "failures": dict(self.failures)}


def batch_outcomes(session: Session, batch: ScrapeBatch) -> dict[str, BookOutcome]:
    """Per book: every event it listed, stored with its odds or failed with the type of its error."""
    outcomes = {}
    rows = session.execute(
        select(
            EventScrapeStatus.platforms_requested, EventScrapeStatus.platforms_scraped, EventScrapeStatus.error_details
        ).where(EventScrapeStatus.batch_id == batch.id)
    ).all()
    for book in Book:
        outcome = BookOutcome()
        for requested, scraped, details in rows:
            if book.value not in requested:
                continue
            outcome.listed += 1
            if book.value not in scraped:
                outcome.failures[(details or {}).get(book.value, "unknown").split(":", 1)[0]] += 1
        without_odds = events_without_snapshot(session, batch, book)
        outcome.stored = outcome.listed - sum(outcome.failures.values()) - without_odds
        if without_odds:
            outcome.failures["odds not stored"] += without_odds
        outcomes[book.value] = outcome
    return outcomes


# (table, natural key): a row repeated under its natural key is a duplicate a re-run must never make.
NATURAL_KEYS = [
    ("events", "external_id"),
    ("competitor_events", "source, external_id"),
    ("odds_snapshots", "event_id, batch_id, bookmaker_id"),
    ("competitor_odds_snapshots", "competitor_event_id, batch_id"),
    ("market_odds", "snapshot_id, betpawa_market_id, line"),
    ("competitor_market_odds", "snapshot_id, betpawa_market_id, line"),
    ("event_scrape_status", "batch_id, event_key"),
    ("scrape_runs", "batch_id, bookmaker_id"),
]


def duplicate_keys(session: Session) -> int:
    """Rows beyond the first under each natural key, over every table that has one."""
    total = 0
    for table, key in NATURAL_KEYS:
        total += int(
            session.scalar(
                text(f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} GROUP BY {key}) AS k")
            )
        )
    return total
