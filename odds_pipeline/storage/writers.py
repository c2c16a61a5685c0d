"""Bulk writers: events and tournaments, and change-only odds snapshots.

Odds are stored change-only (README "Storage"): an observation writes a snapshot row and market
rows only for lines that are new, repriced, gone (`unavailable_at`) or back. An observation that
changes nothing writes no row; it moves `last_confirmed_at` of the event's latest snapshot.
Re-writing a batch first removes that batch's own snapshots, then diffs against the batches
before it, so a re-run gives the same rows.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import IO, TYPE_CHECKING, Any

import msgspec
import orjson
import pgpq
import pyarrow as pa
from pgpq import encoders as pgpq_encoders
from pgpq import schema as pgpq_schema
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    cast,
    delete,
    exists,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.dialects.postgresql import JSONB, distinct_on, insert
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.records import EventRecord
from odds_pipeline.domain import Book, HandicapType
from odds_pipeline.markets.catalogue import LineKind
from odds_pipeline.markets.engine import MappedLine

if TYPE_CHECKING:
    import pandas as pd

from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorMarketOdds,
    CompetitorMarketOddsCurrent,
    CompetitorOddsSnapshot,
    CompetitorTournament,
    Event,
    EventBookmaker,
    EventScrapeStatus,
    MarketOdds,
    MarketOddsCurrent,
    OddsSnapshot,
    ScrapeBatch,
    Tournament,
)

FOOTBALL = 1
UNKNOWN_TOURNAMENT = "Discovered Events"

LineKey = tuple[str, float | None]
NAME_LENGTH = 255  # betpawa_market_name's


def _upsert_returning(session: Session, model: Any, rows: list[dict], keys: list[str], update_cols: list[str]):
    """Upsert rows, returning each one's id and keys. The rows go as parameters of one statement
    compiled once (SQLAlchemy sends them in pages), not a VALUES list of every row compiled anew:
    storing Bet9ja's palimpsest of 1,232 events took 0.84 s that way and 0.46 s this way."""
    if not rows:
        return []
    statement = insert(model)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(statement.excluded, c) for c in update_cols}
    )
    return session.execute(statement.returning(model.id, *[getattr(model, k) for k in keys]), rows).all()


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
    session.execute(insert(EventBookmaker).on_conflict_do_nothing(), links)
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
        name=name[:NAME_LENGTH],  # as stored, so a state read back equals the one observed
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
    current: Any
    owner: str  # the event column of the snapshot and current tables


BETPAWA_TABLES = _SnapshotTables(OddsSnapshot, MarketOdds, MarketOddsCurrent, "event_id")
COMPETITOR_TABLES = _SnapshotTables(
    CompetitorOddsSnapshot, CompetitorMarketOdds, CompetitorMarketOddsCurrent, "competitor_event_id"
)


def snapshot_tables(book: Book) -> _SnapshotTables:
    return BETPAWA_TABLES if book is Book.BETPAWA else COMPETITOR_TABLES


@dataclass
class SnapshotWrite:
    snapshots: int = 0
    market_rows: int = 0
    confirmed: int = 0  # events whose lines were all unchanged: a snapshot with no market rows
    repaired: int = 0  # later observations whose rows were rewritten around a late one
    in_capture_order: bool = True  # False when the batch took its place among later observations


@dataclass(frozen=True)
class _BookBatch:
    """What every write of one book's observations in one batch shares."""

    tables: _SnapshotTables
    book: Book
    batch: ScrapeBatch
    run_id: int | None
    bookmaker_id: int
    captured_at: datetime


State = dict[LineKey, LineState | None]  # None: the line is not offered (gone, or never there)
LineRef = tuple[int, str, float | None]  # event id, market, line


def store_snapshots(
    session: Session,
    book: Book,
    batch: ScrapeBatch,
    run_id: int,
    bookmaker_id: int,
    observed: Mapping[int, Mapping[LineKey, LineState]],
    captured_at: datetime,
    *,
    digests: Mapping[int, Mapping[LineKey, int]] | None = None,
) -> SnapshotWrite:
    """Write one batch's observations of a book, keyed by event row id (``digests``: the lines'
    `state_hash` where already taken).

    Every observation is a snapshot row; its market rows hold only the lines that differ from the
    event's previous observation by capture time. The current-state table holds each line's latest
    state, so a batch newer than everything stored diffs against it alone, whatever the history's
    length. A batch stored late, or stored again, takes its place by capture time instead: it diffs
    against the history before it, and the next observation's rows are rewritten against it.
    """
    tables = snapshot_tables(book)
    write = _BookBatch(tables, book, batch, run_id, bookmaker_id, captured_at)
    own = _own_snapshots(session, tables, book, bookmaker_id, batch)
    if not own and not _observed_later(session, tables, list(observed), captured_at):
        return _store_newest(session, write, observed, digests or {})
    return _store_in_place(session, write, observed, own)


def _own_snapshots(
    session: Session, tables: _SnapshotTables, book: Book, bookmaker_id: int, batch: ScrapeBatch
) -> dict[int, int]:
    """The book's snapshots already stored for this batch: event id → snapshot id."""
    snapshot = tables.snapshot
    owner = getattr(snapshot, tables.owner)
    query = select(owner, snapshot.id).where(snapshot.batch_id == batch.id)
    if book is Book.BETPAWA:
        query = query.where(snapshot.bookmaker_id == bookmaker_id)
    else:
        query = query.join(CompetitorEvent, CompetitorEvent.id == owner).where(CompetitorEvent.source == book)
    return dict(session.execute(query).all())


def _observed_later(session: Session, tables: _SnapshotTables, owners: list[int], captured_at: datetime) -> bool:
    if not owners:
        return False
    snapshot = tables.snapshot
    owner = getattr(snapshot, tables.owner)
    return bool(session.scalar(select(exists().where(owner.in_(owners), snapshot.captured_at > captured_at))))


def state_hash(state: LineState) -> int:
    """A digest of the line's state that is the same in every process (Python's own hash is not)."""
    digest = hashlib.blake2b(_STATE_JSON.encode(state), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_STATE_JSON = msgspec.json.Encoder()
GONE_HASH = 0  # the digest a gone line's current row carries: never compared


def _store_newest(
    session: Session,
    write: _BookBatch,
    observed: Mapping[int, Mapping[LineKey, LineState]],
    digests: Mapping[int, Mapping[LineKey, int]],
) -> SnapshotWrite:
    """The usual batch: newer than every stored observation of its events, stored for the first time."""
    tables, batch, captured_at = write.tables, write.batch, write.captured_at
    before = _current_digests(session, tables, list(observed))
    changed: dict[int, list[tuple[LineKey, LineState, int]]] = {}
    unknown: list[tuple[LineRef, LineState, int]] = []  # carried over without a digest: compared in full
    gone_keys: list[LineRef] = []
    for event_id in sorted(observed):
        now, previous, known = observed[event_id], before.get(event_id, {}), digests.get(event_id, {})
        lines = changed[event_id] = []
        for key, state in now.items():
            digest = known.get(key)
            if digest is None:
                digest = state_hash(state)
            offered, stored = previous.get(key, (False, None))
            if offered and stored is None:
                unknown.append(((event_id, *key), state, digest))
            elif not offered or stored != digest:
                lines.append((key, state, digest))
        gone_keys += [(event_id, *key) for key, (offered, _) in previous.items() if offered and key not in now]
    full = _current_states(session, tables, gone_keys + [ref for ref, _, _ in unknown])
    to_fill = []  # carried-over lines found unchanged: their digests are recorded
    for (event_id, *key), state, digest in unknown:
        if full[(event_id, *key)] == state:
            to_fill.append((event_id, *key, digest))
        else:
            changed[event_id].append((tuple(key), state, digest))
    changes: dict[int, list[MarketRow]] = {}
    # Lines the current state has never held are inserted; the others are updated in place.
    inserted: list[tuple[Any, ...]] = []
    updated: list[tuple[Any, ...]] = []
    for event_id, lines in changed.items():
        lines.sort(key=lambda item: _key_order((item[0], None)))
        rows = changes[event_id] = [_market_row(market_id, line, state, None) for (market_id, line), state, _ in lines]
        known = before.get(event_id, {})
        for (key, _, digest), row in zip(lines, rows, strict=True):
            (updated if key in known else inserted).append((event_id, *row, digest, batch.id, captured_at))
    for event_id, market_id, line in sorted(gone_keys, key=lambda ref: (ref[0], *_key_order(((ref[1], ref[2]), None)))):
        row = _market_row(market_id, line, full[(event_id, market_id, line)], captured_at)
        changes.setdefault(event_id, []).append(row)
        updated.append((event_id, *row, GONE_HASH, batch.id, captured_at))
    result = _write_observations(session, write, list(observed), changes)
    current_columns = (tables.owner, *CURRENT_COLUMNS)
    with parents_checked_once(session, tables.current.__table__, current_columns, inserted):
        copy_rows(session, tables.current.__table__, current_columns, inserted)
    _upsert_current(session, tables, updated)
    _fill_digests(session, tables, to_fill)
    return result


def _store_in_place(
    session: Session, write: _BookBatch, observed: Mapping[int, Mapping[LineKey, LineState]], own: dict[int, int]
) -> SnapshotWrite:
    """A batch stored late or again: it replaces its own snapshots and takes its place by capture time."""
    tables, batch, captured_at = write.tables, write.batch, write.captured_at
    affected = sorted(set(observed) | set(own))
    before = _history_states(session, tables, affected, before=captured_at, excluding=batch.id)
    old = _snapshot_states(session, tables, list(own.values()))
    following = _next_snapshots(session, tables, affected, captured_at, excluding=batch.id)
    after = _snapshot_states(session, tables, [snapshot_id for snapshot_id, _ in following.values()])
    if own:
        session.execute(delete(tables.snapshot).where(tables.snapshot.id.in_(list(own.values()))))
    changes = {event_id: _diff(before.get(event_id, {}), observed[event_id], captured_at) for event_id in observed}
    result = _write_observations(session, write, list(observed), changes)
    result.in_capture_order = False
    # The next observation of each event was stored as a difference from what came before this
    # batch (or from this batch's earlier version): its rows now state what it saw against this one.
    repairs: list[tuple[Any, ...]] = []
    for event_id, (snapshot_id, next_at) in following.items():
        prior = before.get(event_id, {})
        stored_against = {**prior, **old.get(own.get(event_id, -1), {})}
        seen_next = {**stored_against, **after.get(snapshot_id, {})}
        base = observed.get(event_id, prior)
        repairs += [(snapshot_id, *row) for row in _diff(base, seen_next, next_at)]
    repaired = [snapshot_id for snapshot_id, _ in following.values()]
    if repaired:
        session.execute(delete(tables.market).where(tables.market.snapshot_id.in_(repaired)))
        copy_rows(session, tables.market.__table__, MARKET_COLUMNS, repairs)
    result.repaired = len(repaired)
    _rebuild_current(session, tables, affected)
    return result


def _write_observations(
    session: Session, write: _BookBatch, events: list[int], changes: Mapping[int, list[MarketRow]]
) -> SnapshotWrite:
    """One snapshot per observed event, and the market rows of what changed."""
    tables = write.tables
    result = SnapshotWrite()
    if not events:
        return result
    common: dict[str, Any] = {
        "batch_id": write.batch.id,
        "scrape_run_id": write.run_id,
        "captured_at": write.captured_at,
        "last_confirmed_at": write.captured_at,
    }
    if write.book is Book.BETPAWA:
        common["bookmaker_id"] = write.bookmaker_id
    values = [{tables.owner: event_id, **common} for event_id in sorted(events)]
    # executemany with RETURNING: one statement compiled once, not a VALUES list of every event.
    table = tables.snapshot.__table__
    returning = insert(table).returning(table.c.id, table.c[tables.owner], sort_by_parameter_order=True)
    created = session.connection().execute(returning, values).all()
    rows = [(snapshot_id, *change) for snapshot_id, event_id in created for change in changes.get(event_id, ())]
    with parents_checked_once(session, tables.market.__table__, MARKET_COLUMNS, rows):
        copy_rows(session, tables.market.__table__, MARKET_COLUMNS, rows)
    result.snapshots, result.market_rows = len(created), len(rows)
    result.confirmed = sum(1 for event_id in events if not changes.get(event_id))
    return result


class MissingParentError(RuntimeError):
    """Rows about to be written name a parent row (by a foreign key) that does not exist."""


@contextmanager
def parents_checked_once(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Iterator[None]:
    """Check the foreign keys of a bulk write to ``table`` once per parent row, not once per row.

    PostgreSQL checks a foreign key with a trigger per written row: Bet9ja's 119,000 current lines
    of a first batch took 2.5 s to COPY with their two keys and 1.3 s without. Here every parent
    the rows name is locked as those triggers would lock it (FOR KEY SHARE: it cannot be deleted
    or re-keyed until the transaction ends) and counted, once per key; the per-row triggers are
    then skipped for the writes inside the block. Skipping them needs the right to set
    session_replication_role, which the embedded server's superuser has; without it the triggers
    run as usual, after the same parent check."""
    position = {name: i for i, name in enumerate(columns)}
    for key in table.foreign_keys:
        index = position.get(key.parent.name)
        if index is None:
            continue
        wanted = sorted({row[index] for row in rows if row[index] is not None})
        if not wanted:
            continue
        parent = key.column.table.name
        found = session.execute(
            text(
                f'SELECT count(*) FROM (SELECT 1 FROM "{parent}" WHERE "{key.column.name}" = ANY(:ids) '
                "FOR KEY SHARE) AS locked"
            ),
            {"ids": wanted},
        ).scalar_one()
        if found != len(wanted):
            raise MissingParentError(
                f"{len(wanted) - found} of the {len(wanted)} {parent} rows that {table.name}.{key.parent.name} "
                "names do not exist"
            )
    skip = bool(rows) and session.execute(text("SELECT current_setting('is_superuser') = 'on'")).scalar_one()
    if skip:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    if skip:  # on an error the transaction (or savepoint) rolls back, and the setting with it
        session.execute(text("SET LOCAL session_replication_role = origin"))


@contextmanager
def _staged(session: Session, like: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> Iterator[str]:
    """COPY rows into a temporary table shaped like ``like``'s columns; yields its name, drops it after."""
    name = f"staged_{like.name}"
    names = ", ".join(f'"{c}"' for c in columns)
    session.execute(text(f'CREATE TEMPORARY TABLE "{name}" AS SELECT {names} FROM "{like.name}" WITH NO DATA'))
    copy_rows(session, like, columns, rows, into=name)
    yield name
    session.execute(text(f'DROP TABLE "{name}"'))


def _upsert_current(session: Session, tables: _SnapshotTables, rows: list[tuple[Any, ...]]) -> None:
    """Upsert lines' latest states (rows: event id, then CURRENT_COLUMNS)."""
    if not rows:
        return
    table = tables.current.__table__
    columns = (tables.owner, *CURRENT_COLUMNS)
    names = ", ".join(f'"{c}"' for c in columns)
    keys = f'"{tables.owner}", betpawa_market_id, line'
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in CURRENT_COLUMNS)
    with _staged(session, table, columns, rows) as staged, parents_checked_once(session, table, columns, rows):
        session.execute(
            text(
                f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staged}" '
                f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
            )
        )


def _current_digests(
    session: Session, tables: _SnapshotTables, owners: list[int]
) -> dict[int, dict[LineKey, tuple[bool, int | None]]]:
    """Per event: each line's (offered now, digest of its state); the digest is None where unknown."""
    if not owners:
        return {}
    # Plain tuples from the driver's cursor: a full palimpsest has 120,000 lines a book, and
    # SQLAlchemy's rows cost 0.25 s more to fetch than they do.
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            f'SELECT "{tables.owner}", betpawa_market_id, line, unavailable_at IS NULL, state_hash '
            f'FROM "{tables.current.__tablename__}" WHERE "{tables.owner}" = ANY(%s)',
            (owners,),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    found: dict[int, dict[LineKey, tuple[bool, int | None]]] = {}
    for event_id, market_id, line, offered, digest in rows:
        found.setdefault(event_id, {})[(market_id, line)] = (offered, digest)
    return found


def _fill_digests(session: Session, tables: _SnapshotTables, digests: list[tuple[Any, ...]]) -> None:
    """Record the digests of carried-over lines found unchanged, so they are compared in full only once."""
    if not digests:
        return
    owner = tables.owner
    table = tables.current.__table__
    with _staged(session, table, (owner, "betpawa_market_id", "line", "state_hash"), digests) as staged:
        session.execute(
            text(
                f'UPDATE "{table.name}" AS c SET state_hash = d.state_hash FROM "{staged}" AS d '
                f"WHERE c.{owner} = d.{owner} AND c.betpawa_market_id = d.betpawa_market_id "
                "AND c.line IS NOT DISTINCT FROM d.line"
            )
        )


def _current_states(session: Session, tables: _SnapshotTables, keys: list[LineRef]) -> dict[LineRef, LineState]:
    """The full current state of the given lines (those that are gone this batch: few)."""
    if not keys:
        return {}
    current = tables.current
    owner = getattr(current, tables.owner)
    events = sorted({event_id for event_id, _, _ in keys})
    wanted = set(keys)
    rows = session.connection().execute(
        select(owner, current.betpawa_market_id, current.line, *_state_columns(current)).where(owner.in_(events))
    )
    return {
        (event_id, market_id, line): _state_of(*state)
        for event_id, market_id, line, *state in rows
        if (event_id, market_id, line) in wanted
    }


def _state_columns(table: Any) -> list[Any]:
    # Outcomes and groups as text for orjson: the driver's stdlib JSON decoding costs more than the query.
    return [
        table.betpawa_market_name,
        cast(table.outcomes, Text),
        cast(table.handicap_type, Text),
        table.handicap_home,
        table.handicap_away,
        cast(table.market_groups, Text),
    ]


def _state_of(name: str, outcomes: str, h_type: str | None, h_home: Any, h_away: Any, groups: str | None) -> LineState:
    return LineState(
        name=name,
        outcomes=tuple((o["name"], o["odds"], o["is_active"]) for o in orjson.loads(outcomes)),
        handicap_type=h_type,
        handicap_home=h_home,
        handicap_away=h_away,
        groups=tuple(orjson.loads(groups) or ()) if groups else (),
    )


def _history_states(
    session: Session,
    tables: _SnapshotTables,
    owners: list[int],
    *,
    before: datetime | None = None,
    excluding: int | None = None,
) -> dict[int, State]:
    """Per event: each line's latest state in the history (before a time, leaving out one batch)."""
    found: dict[int, State] = {}
    for event_id, market_id, line, state, gone_at, _, _ in _latest_rows(session, tables, owners, before, excluding):
        found.setdefault(event_id, {})[(market_id, line)] = None if gone_at is not None else state
    return found


def _latest_rows(
    session: Session, tables: _SnapshotTables, owners: list[int], before: datetime | None, excluding: int | None
) -> list[tuple[int, str, float | None, LineState, datetime | None, int | None, datetime]]:
    """The latest history row of each line: (event, market, line, state, gone at, batch, captured at)."""
    if not owners:
        return []
    snapshot, market = tables.snapshot, tables.market
    owner = getattr(snapshot, tables.owner)
    where = [owner.in_(owners)]
    if before is not None:
        where.append(snapshot.captured_at < before)
    if excluding is not None:
        where.append(snapshot.batch_id.is_distinct_from(excluding))
    rows = session.connection().execute(
        select(
            owner,
            market.betpawa_market_id,
            market.line,
            *_state_columns(market),
            market.unavailable_at,
            snapshot.batch_id,
            snapshot.captured_at,
        )
        .join(snapshot, snapshot.id == market.snapshot_id)
        .where(*where)
        .ext(distinct_on(owner, market.betpawa_market_id, market.line))
        .order_by(owner, market.betpawa_market_id, market.line, snapshot.captured_at.desc())
    )
    return [
        (event_id, market_id, line, _state_of(*state), gone_at, batch_id, at)
        for event_id, market_id, line, *state, gone_at, batch_id, at in rows
    ]


def _snapshot_states(session: Session, tables: _SnapshotTables, snapshot_ids: list[int]) -> dict[int, State]:
    """The lines each snapshot recorded: the state it changed them to (None: gone)."""
    if not snapshot_ids:
        return {}
    market = tables.market
    rows = session.connection().execute(
        select(
            market.snapshot_id, market.betpawa_market_id, market.line, *_state_columns(market), market.unavailable_at
        ).where(market.snapshot_id.in_(snapshot_ids))
    )
    found: dict[int, State] = {}
    for snapshot_id, market_id, line, *state, gone in rows:
        found.setdefault(snapshot_id, {})[(market_id, line)] = None if gone is not None else _state_of(*state)
    return found


def _next_snapshots(
    session: Session,
    tables: _SnapshotTables,
    owners: list[int],
    after: datetime,
    excluding: int | None = None,
    *,
    inclusive: bool = False,
) -> dict[int, tuple[int, datetime]]:
    """Per event: its first observation after a time (or at it, ``inclusive``), leaving out one batch,
    as (snapshot id, captured at)."""
    if not owners:
        return {}
    snapshot = tables.snapshot
    owner = getattr(snapshot, tables.owner)
    where = [owner.in_(owners), snapshot.captured_at >= after if inclusive else snapshot.captured_at > after]
    if excluding is not None:
        where.append(snapshot.batch_id.is_distinct_from(excluding))
    rows = session.execute(
        select(owner, snapshot.id, snapshot.captured_at)
        .where(*where)
        .ext(distinct_on(owner))
        .order_by(owner, snapshot.captured_at)
    )
    return {event_id: (snapshot_id, at) for event_id, snapshot_id, at in rows}


def fold_history(session: Session, tables: _SnapshotTables, owners: list[int], cutoff: datetime) -> int:
    """Make each event's first observation at or after ``cutoff`` state every line it offered, so the
    observations before the cutoff can be deleted without changing any later state. Returns the
    observations rewritten."""
    before = _history_states(session, tables, owners, before=cutoff)
    following = _next_snapshots(session, tables, owners, cutoff, inclusive=True)
    after = _snapshot_states(session, tables, [snapshot_id for snapshot_id, _ in following.values()])
    rows: list[tuple[Any, ...]] = []
    for event_id, (snapshot_id, at) in following.items():
        seen = {**before.get(event_id, {}), **after.get(snapshot_id, {})}
        rows += [(snapshot_id, *row) for row in _diff({}, seen, at)]
    rewritten = [snapshot_id for snapshot_id, _ in following.values()]
    if rewritten:
        session.execute(delete(tables.market).where(tables.market.snapshot_id.in_(rewritten)))
        copy_rows(session, tables.market.__table__, MARKET_COLUMNS, rows)
    return len(rewritten)


def _rebuild_current(session: Session, tables: _SnapshotTables, owners: list[int]) -> None:
    """Each line's current state, for these events, from the whole history."""
    current = tables.current
    session.execute(delete(current).where(getattr(current, tables.owner).in_(owners)))
    rows = [
        (
            event_id,
            *_market_row(market_id, line, state, gone_at),
            GONE_HASH if gone_at else state_hash(state),
            batch_id,
            at,
        )
        for event_id, market_id, line, state, gone_at, batch_id, at in _latest_rows(session, tables, owners, None, None)
    ]
    _upsert_current(session, tables, rows)


def copy(session: Session, statement: str, buffer: IO[Any]) -> None:
    """Run a COPY statement on the session's connection, inside its transaction, with ``buffer`` as
    its STDIN or STDOUT."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.copy_expert(statement, buffer)
    finally:
        cursor.close()


def _arrow_type(column: Column) -> pa.DataType:
    """How a column's values go into the binary COPY: the exact width PostgreSQL's column has. A
    type not named here fails now, not as "incorrect binary data format" from PostgreSQL."""
    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, BigInteger):
        return pa.int64()
    if isinstance(kind, SmallInteger):
        return pa.int16()
    if isinstance(kind, Integer):
        return pa.int32()
    if isinstance(kind, Float) and not kind.asdecimal and (kind.precision is None or kind.precision > 24):
        return pa.float64()
    if isinstance(kind, DateTime) and kind.timezone:
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, String | JSONB):  # text, enums by value, and JSON as its text
        return pa.string()
    raise TypeError(f"{column.table.name}.{column.name}: no binary COPY encoding for {kind!r}")


@dataclass(frozen=True)
class CopyRows:
    """Rows ready for COPY into a table: encoded apart from the COPY itself, so that a thread other
    than the one on the connection can encode them."""

    table: str
    columns: tuple[str, ...]
    data: bytes  # PostgreSQL's binary COPY format
    rows: int


def _encoded(table: Table, name: str, rows: pa.Table) -> CopyRows:
    """Arrow columns, cast to the types of ``table``'s columns of the same names, in PostgreSQL's
    binary COPY format, encoded by pgpq in Rust: no number is written as text for PostgreSQL to
    parse back. A first full-scale batch's comparison rows loaded in 0.72 s instead of 1.07 s as
    CSV, and were encoded in 0.2 s instead of 0.4 s."""
    columns = [table.c[column] for column in rows.column_names]
    rows = rows.cast(pa.schema([pa.field(c.name, _arrow_type(c)) for c in columns]))
    encoders = {
        field.name: (
            pgpq_encoders.StringEncoderBuilder.new_with_output(field, pgpq_schema.Jsonb())
            if isinstance(column.type, JSONB)
            else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(field)
        )
        for field, column in zip(rows.schema, columns, strict=True)
    }
    encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(rows.schema, encoders)
    parts = [encoder.write_header(), *(encoder.write_batch(batch) for batch in rows.to_batches()), encoder.finish()]
    return CopyRows(name, tuple(rows.column_names), b"".join(parts), rows.num_rows)


def copy_encoded(session: Session, rows: CopyRows, *, freeze: bool = False) -> int:
    """COPY encoded rows (`encode_frame`) into their table. ``freeze``: see copy_frame."""
    if not rows.rows:
        return 0
    names = ", ".join(f'"{c}"' for c in rows.columns)
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    copy(session, f'COPY "{rows.table}" ({names}) FROM STDIN WITH ({options})', io.BytesIO(rows.data))
    return rows.rows


def _json_text(values: Sequence[Any]) -> list[str | None]:
    return [None if v is None else orjson.dumps(v).decode() for v in values]


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, into: str | None = None
) -> int:
    """Bulk-load rows (tuples in ``columns`` order) with COPY inside the session's transaction: the way
    to write many rows. Tuples, not dicts: a batch writes a few hundred thousand of them. The values
    are typed by ``table``'s columns; ``into`` names another table of the same columns to load."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    arrays = []
    for name, values in zip(columns, zip(*rows, strict=True), strict=True):
        column = table.c[name]
        if isinstance(column.type, JSONB):
            values = _json_text(values)
        elif isinstance(column.type, SqlEnum):
            values = [v.value if isinstance(v, Enum) else v for v in values]
        arrays.append(pa.array(values, _arrow_type(column)))
    return copy_encoded(session, _encoded(table, into or table.name, pa.Table.from_arrays(arrays, names=list(columns))))


def copy_frame(session: Session, table: Table, frame: pd.DataFrame, *, freeze: bool = False) -> int:
    """Bulk-load a DataFrame's rows (columns by name) with COPY: `encode_frame`, then `copy_encoded`.

    ``freeze`` writes the rows already frozen, for a table this transaction emptied: the first
    reader then has no hint bits to set, each of which, with data checksums on, costs a full page
    image in the WAL. Readers whose snapshot predates the commit may see the rows early."""
    return copy_encoded(session, encode_frame(table, frame), freeze=freeze)


def encode_frame(table: Table, frame: pd.DataFrame) -> CopyRows:
    """A DataFrame's rows (columns by name) ready for COPY into ``table``, through Arrow: pandas
    would handle every value in Python. Lists and dicts in a column are written as JSON; NaN and
    None as NULL."""
    if frame.empty:
        return CopyRows(table.name, tuple(frame.columns), b"", 0)
    frame = frame.copy(deep=False)
    for name in frame.columns:
        if isinstance(table.c[name].type, JSONB):
            frame[name] = [orjson.dumps(v).decode() if isinstance(v, list | dict) else None for v in frame[name]]
    return _encoded(table, table.name, pa.Table.from_pandas(frame, preserve_index=False))


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
CURRENT_COLUMNS = (*MARKET_COLUMNS[1:], "state_hash", "batch_id", "captured_at")


def _diff(
    before: Mapping[LineKey, LineState | None], now: Mapping[LineKey, LineState | None], at: datetime
) -> list[MarketRow]:
    """The rows that take a line from ``before`` to ``now``: new or changed states, and lines offered
    before and not now (gone at ``at``). None and a missing key both mean "not offered"."""
    changes = []
    for (market_id, line), state in sorted(now.items(), key=_key_order):
        if state is not None and before.get((market_id, line)) != state:
            changes.append(_market_row(market_id, line, state, None))
    for (market_id, line), state in sorted(before.items(), key=_key_order):
        if state is not None and now.get((market_id, line)) is None:
            changes.append(_market_row(market_id, line, state, at))
    return changes


def _key_order(item: tuple[LineKey, Any]) -> tuple[str, float]:
    (market_id, line), _ = item
    return market_id, float("-inf") if line is None else line


def _market_row(market_id: str, line: float | None, state: LineState, gone_at: datetime | None) -> MarketRow:
    """A market row; one with ``gone_at`` records the line's disappearance, with no outcomes."""
    return (
        market_id,
        state.name,
        line,
        state.handicap_type,
        state.handicap_home,
        state.handicap_away,
        [] if gone_at is not None else state.outcomes_json(),
        list(state.groups) or None,
        gone_at,
    )
