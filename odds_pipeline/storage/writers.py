"""Bulk writers: events and tournaments, and change-only odds snapshots.

Odds are stored change-only (README "Storage"): an observation writes a snapshot row and market
rows only for lines that are new, repriced, gone (`unavailable_at`) or back. An observation that
changes nothing writes no row; it moves `last_confirmed_at` of the event's latest snapshot.
Re-writing a batch first removes that batch's own snapshots, then diffs against the batches
before it, so a re-run gives the same rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import msgspec
import orjson
from sqlalchemy import Table, Text, cast, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.records import EventRecord
from odds_pipeline.domain import Book, HandicapType
from odds_pipeline.markets.catalogue import LineKind
from odds_pipeline.markets.engine import MappedLine
from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorMarketOdds,
    CompetitorOddsSnapshot,
    CompetitorTournament,
    Event,
    EventBookmaker,
    EventScrapeStatus,
    MarketOdds,
    OddsSnapshot,
    ScrapeBatch,
    Tournament,
)

FOOTBALL = 1
UNKNOWN_TOURNAMENT = "Discovered Events"

LineKey = tuple[str, float | None]


def _upsert_returning(session: Session, model: Any, rows: list[dict], keys: list[str], update_cols: list[str]):
    if not rows:
        return []
    statement = insert(model).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(statement.excluded, c) for c in update_cols}
    )
    return session.execute(statement.returning(model.id, *[getattr(model, k) for k in keys])).all()


def store_events(session: Session, book: Book, events: Iterable[EventRecord], bookmaker_id: int) -> dict[str, int]:
    """Upsert the book's tournaments and events; returns the row id per external event id."""
    events = {e.external_id: e for e in events}  # one row per event even if listed twice
    if not events:
        return {}
    if book is Book.BETPAWA:
        return _store_betpawa(session, list(events.values()), bookmaker_id)
    return _store_competitor(session, book, list(events.values()))


def _betpawa_tournament(event: EventRecord) -> tuple[str, str]:
    """BetPawa tournaments are keyed by (name, country), as the seed table's unique key says."""
    t = event.tournament
    return (t.name, t.country or "Unknown") if t else (UNKNOWN_TOURNAMENT, "Unknown")


def _event_columns(event: EventRecord) -> dict[str, Any]:
    """The columns events and competitor_events share."""
    return {
        "external_id": event.external_id,
        "name": event.name,
        "home_team": event.home_team,
        "away_team": event.away_team,
        "kickoff": event.kickoff,
        "sportradar_id": event.sportradar_id,
    }


EVENT_UPDATES = ["tournament_id", "name", "home_team", "away_team", "kickoff", "sportradar_id"]


def _store_betpawa(session: Session, events: list[EventRecord], bookmaker_id: int) -> dict[str, int]:
    tournaments = {}
    for event in events:
        name, country = _betpawa_tournament(event)
        external_id = event.tournament.external_id if event.tournament else None
        tournaments[(name, country)] = {
            "sport_id": FOOTBALL,
            "name": name,
            "country": country,
            "external_id": external_id,
        }
    rows = [tournaments[key] for key in sorted(tournaments)]
    ids = _upsert_returning(session, Tournament, rows, ["sport_id", "name", "country"], ["external_id"])
    tournament_ids = {(name, country): id_ for id_, _, name, country in ids}
    event_rows = [
        {"tournament_id": tournament_ids[_betpawa_tournament(event)], **_event_columns(event)}
        for event in sorted(events, key=lambda e: e.external_id)
    ]
    _release_sportradar_ids(session, event_rows)
    stored = {ext: id_ for id_, ext in _upsert_returning(session, Event, event_rows, ["external_id"], EVENT_UPDATES)}
    links = [{"event_id": id_, "bookmaker_id": bookmaker_id, "external_event_id": ext} for ext, id_ in stored.items()]
    session.execute(insert(EventBookmaker).values(links).on_conflict_do_nothing())
    return stored


def _release_sportradar_ids(session: Session, event_rows: list[dict[str, Any]]) -> None:
    """One BetPawa event per SportRadar id: the latest listing keeps it.

    Twice in one batch, the later row (by external id) gives it up; an older event that BetPawa
    re-listed under a new id gives it up to the new one, keeping its own history.
    """
    claimed: dict[str, str] = {}
    for row in event_rows:
        sportradar_id = row["sportradar_id"]
        if sportradar_id and sportradar_id in claimed:
            row["sportradar_id"] = None
        elif sportradar_id:
            claimed[sportradar_id] = row["external_id"]
    if claimed:
        session.execute(
            update(Event)
            .where(
                Event.sportradar_id.in_(list(claimed)),
                tuple_(Event.sportradar_id, Event.external_id).not_in(list(claimed.items())),
            )
            .values(sportradar_id=None)
        )


def _store_competitor(session: Session, book: Book, events: list[EventRecord]) -> dict[str, int]:
    def tournament_key(event: EventRecord) -> str:
        return event.tournament.external_id if event.tournament else f"discovered-{book.value}"

    tournaments = {}
    for event in events:
        t = event.tournament
        tournaments[tournament_key(event)] = {
            "source": book,
            "sport_id": FOOTBALL,
            "name": t.name if t else UNKNOWN_TOURNAMENT,
            "country_raw": t.country if t else None,
            "external_id": tournament_key(event),
            "sportradar_id": t.sportradar_id if t else None,
        }
    rows = [tournaments[k] for k in sorted(tournaments)]
    ids = _upsert_returning(
        session, CompetitorTournament, rows, ["source", "external_id"], ["name", "country_raw", "sportradar_id"]
    )
    tournament_ids = {ext: id_ for id_, _, ext in ids}
    event_rows = [
        {"source": book, "tournament_id": tournament_ids[tournament_key(event)], **_event_columns(event)}
        for event in sorted(events, key=lambda e: e.external_id)
    ]
    stored = _upsert_returning(session, CompetitorEvent, event_rows, ["source", "external_id"], EVENT_UPDATES)
    return {ext: id_ for id_, _, ext in stored}


def link_competitor_events(session: Session, batch: ScrapeBatch) -> None:
    """Link the batch's competitor events to the BetPawa event with the same SportRadar id."""
    keys = select(EventScrapeStatus.sportradar_id).where(
        EventScrapeStatus.batch_id == batch.id, EventScrapeStatus.sportradar_id.is_not(None)
    )
    session.execute(
        update(CompetitorEvent)
        .where(CompetitorEvent.sportradar_id.in_(keys), CompetitorEvent.sportradar_id == Event.sportradar_id)
        .values(betpawa_event_id=Event.id)
    )


class LineState(msgspec.Struct, frozen=True, gc=False):
    """What one stored market line holds, reduced to what decides whether it changed.

    A Struct: a batch builds one per mapped line (a few hundred thousand), and a frozen dataclass
    costs several times more to build."""

    name: str
    outcomes: tuple[tuple[str, float, bool], ...]
    handicap_type: str | None
    handicap_home: float | None
    handicap_away: float | None
    groups: tuple[str, ...]

    def outcomes_json(self) -> list[dict[str, Any]]:
        return [{"name": n, "odds": o, "is_active": a} for n, o, a in self.outcomes]


_HANDICAP_TYPES = {LineKind.ASIAN: HandicapType.ASIAN.value, LineKind.EUROPEAN: HandicapType.EUROPEAN.value}


def line_state(mapped: MappedLine, name: str, groups: tuple[str, ...]) -> LineState:
    return LineState(
        name=name,
        outcomes=tuple([(o.name, o.odds, not o.suspended) for o in mapped.outcomes]),
        handicap_type=_HANDICAP_TYPES.get(mapped.handicap_type),
        handicap_home=mapped.handicap_home,
        handicap_away=mapped.handicap_away,
        groups=groups,
    )


@dataclass(frozen=True)
class _SnapshotTables:
    snapshot: Any
    market: Any
    owner: str  # the snapshot's event column


BETPAWA_TABLES = _SnapshotTables(OddsSnapshot, MarketOdds, "event_id")
COMPETITOR_TABLES = _SnapshotTables(CompetitorOddsSnapshot, CompetitorMarketOdds, "competitor_event_id")


@dataclass
class SnapshotWrite:
    snapshots: int = 0
    market_rows: int = 0
    confirmed: int = 0  # events whose lines were all unchanged: only last_confirmed_at moved


def store_snapshots(
    session: Session,
    book: Book,
    batch: ScrapeBatch,
    run_id: int,
    bookmaker_id: int,
    observed: Mapping[int, Mapping[LineKey, LineState]],
    captured_at: datetime,
) -> SnapshotWrite:
    """Write one batch's observations of a book, change-only; ``observed`` is keyed by event row id."""
    tables = BETPAWA_TABLES if book is Book.BETPAWA else COMPETITOR_TABLES
    snapshot, market = tables.snapshot, tables.market
    owner = getattr(snapshot, tables.owner)
    # A re-run replaces the book's whole part of the batch, events it did not observe this time included.
    if book is Book.BETPAWA:
        own = [snapshot.batch_id == batch.id, snapshot.bookmaker_id == bookmaker_id]
    else:
        own = [
            snapshot.batch_id == batch.id,
            owner.in_(select(CompetitorEvent.id).where(CompetitorEvent.source == book)),
        ]
    session.execute(delete(snapshot).where(*own))
    previous = _previous_state(session, tables, book, bookmaker_id, batch, list(observed))
    result = SnapshotWrite()
    changed: dict[int, list[dict[str, Any]]] = {}
    touched: list[int] = []
    for event_id in sorted(observed):
        before, latest_snapshot = previous.get(event_id, ({}, None))
        changes = _diff(before, observed[event_id], captured_at)
        if changes:
            changed[event_id] = changes
        elif latest_snapshot is not None:
            touched.append(latest_snapshot)
    if changed:
        common = {"batch_id": batch.id, "scrape_run_id": run_id, "captured_at": captured_at}
        common["last_confirmed_at"] = captured_at
        if book is Book.BETPAWA:
            common["bookmaker_id"] = bookmaker_id
        values = [{tables.owner: event_id, **common} for event_id in changed]
        # executemany with RETURNING: one statement compiled once, not a VALUES list of every event.
        table = snapshot.__table__
        returning = insert(table).returning(table.c.id, table.c[tables.owner], sort_by_parameter_order=True)
        created = session.connection().execute(returning, values).all()
        rows = [(snapshot_id, *change) for snapshot_id, event_id in created for change in changed[event_id]]
        copy_rows(session, market.__table__, MARKET_COLUMNS, rows)
        result.snapshots, result.market_rows = len(created), len(rows)
    if touched:
        session.execute(
            update(snapshot)
            .where(snapshot.id.in_(touched))
            .values(last_confirmed_at=func.greatest(snapshot.last_confirmed_at, captured_at))
        )
        result.confirmed = len(touched)
    return result


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """A value in COPY's text format (called for every cell of 100k+ rows: common types first)."""
    kind = type(value)
    if value is None:
        return "\\N"
    if kind is str:
        return value.translate(_COPY_ESCAPES)
    if kind is float or kind is int:
        return repr(value)
    if kind is list or kind is dict:
        return orjson.dumps(value).decode().translate(_COPY_ESCAPES)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value).translate(_COPY_ESCAPES)
    return str(value).translate(_COPY_ESCAPES)


def copy_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Bulk-load rows (tuples in ``columns`` order) with COPY inside the session's transaction: the way
    to write many rows. Tuples, not dicts: a batch writes a few hundred thousand of them."""
    value = _copy_value
    text = "".join(["\t".join([value(cell) for cell in row]) + "\n" for row in rows])
    if not text:
        return 0
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(f'COPY "{table.name}" ({names}) FROM STDIN', io.StringIO(text))
    finally:
        cursor.close()
    return text.count("\n")


MarketRow = tuple[Any, ...]  # MARKET_COLUMNS but the snapshot id
MARKET_COLUMNS = (
    "snapshot_id",
    "betpawa_market_id",
    "betpawa_market_name",
    "line",
    "handicap_type",
    "handicap_home",
    "handicap_away",
    "outcomes",
    "market_groups",
    "unavailable_at",
)


def _diff(
    before: Mapping[LineKey, LineState | None], now: Mapping[LineKey, LineState], at: datetime
) -> list[MarketRow]:
    changes = []
    for (market_id, line), state in sorted(now.items(), key=_key_order):
        if before.get((market_id, line)) != state:
            changes.append(_market_row(market_id, line, state, None))
    for (market_id, line), state in sorted(before.items(), key=_key_order):
        if state is not None and (market_id, line) not in now:  # offered before, gone now
            changes.append(_market_row(market_id, line, state, at))
    return changes


def _key_order(item: tuple[LineKey, Any]) -> tuple[str, float]:
    (market_id, line), _ = item
    return market_id, float("-inf") if line is None else line


def _market_row(market_id: str, line: float | None, state: LineState, gone_at: datetime | None) -> MarketRow:
    """A market row; one with ``gone_at`` records the line's disappearance, with no outcomes."""
    return (
        market_id,
        state.name[:255],
        line,
        state.handicap_type,
        state.handicap_home,
        state.handicap_away,
        [] if gone_at is not None else state.outcomes_json(),
        list(state.groups) or None,
        gone_at,
    )


def _previous_state(
    session: Session, tables: _SnapshotTables, book: Book, bookmaker_id: int, batch: ScrapeBatch, owners: list[int]
) -> dict[int, tuple[dict[LineKey, LineState | None], int | None]]:
    """Per event: each line's latest stored state before this batch (None = gone), and the latest snapshot."""
    if not owners:
        return {}
    snapshot, market = tables.snapshot, tables.market
    owner = getattr(snapshot, tables.owner)
    earlier = [owner.in_(owners), ScrapeBatch.window_start < batch.window_start]
    if book is Book.BETPAWA:
        earlier.append(snapshot.bookmaker_id == bookmaker_id)
    # Read through the connection, outcomes as text for orjson: the ORM's row loading and the
    # driver's stdlib JSON decoding cost more than the query on 100k+ lines.
    lines = (
        session.connection()
        .execute(
            select(
                owner,
                market.betpawa_market_id,
                market.line,
                market.betpawa_market_name,
                cast(market.outcomes, Text),
                cast(market.handicap_type, Text),
                market.handicap_home,
                market.handicap_away,
                cast(market.market_groups, Text),
                market.unavailable_at,
            )
            .join(snapshot, snapshot.id == market.snapshot_id)
            .join(ScrapeBatch, ScrapeBatch.id == snapshot.batch_id)
            .where(*earlier)
            .ext(distinct_on(owner, market.betpawa_market_id, market.line))
            .order_by(owner, market.betpawa_market_id, market.line, snapshot.captured_at.desc())
        )
        .all()
    )
    latest = session.execute(
        select(owner, snapshot.id)
        .join(ScrapeBatch, ScrapeBatch.id == snapshot.batch_id)
        .where(*earlier)
        .ext(distinct_on(owner))
        .order_by(owner, snapshot.captured_at.desc())
    ).all()
    state: dict[int, tuple[dict[LineKey, LineState | None], int | None]] = {
        event_id: ({}, snapshot_id) for event_id, snapshot_id in latest
    }
    for event_id, market_id, line, name, outcomes, h_type, h_home, h_away, groups, gone in lines:
        stored = None
        if gone is None:
            stored = LineState(
                name=name,
                outcomes=tuple((o["name"], o["odds"], o["is_active"]) for o in orjson.loads(outcomes)),
                handicap_type=h_type,
                handicap_home=h_home,
                handicap_away=h_away,
                groups=tuple(orjson.loads(groups) or ()) if groups else (),
            )
        state.setdefault(event_id, ({}, None))[0][(market_id, line)] = stored
    return state
