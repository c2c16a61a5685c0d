"""Retention: how long the app's data is kept, and deleting what is older.

- **History** older than its horizon is folded into a baseline: each event's first observation
  after the cutoff is rewritten to state every line it offered, then everything before the cutoff
  goes. The state of every line at every retained time stays what was observed.
- **Events** whose kick-off passed longer ago than their horizon go whole, with their snapshots and
  current state (the database cascades).
- **Raw captures** go by the age of their batch; the landing store keeps a note of when and why, so
  a backfill of such a window says so (`LandingStore.prune`).

`scrape_batches`, `scrape_runs`, `scrape_errors` and `event_scrape_status` are kept: they are small
and say what happened to every batch. Bytes are the deleted rows' own size (``pg_column_size``),
without index entries; PostgreSQL reuses the space after its autovacuum.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book
from odds_pipeline.storage import writers
from odds_pipeline.storage.models import CompetitorEvent, Event

FOLD_CHUNK = 500  # events per round of folding: bounded memory on a history of millions of rows


@dataclass
class Deleted:
    """What a retention pass deleted: rows and bytes per table (or landing store)."""

    rows: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, rows: int, size: int) -> None:
        self.rows[table] += rows
        self.bytes[table] += size

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": dict(sorted(self.rows.items())),
            "bytes": dict(sorted(self.bytes.items())),
            "total_rows": sum(self.rows.values()),
            "total_bytes": sum(self.bytes.values()),
        }


def _measure(session: Session, table: Any, where: list[Any], *joins: tuple[Any, Any]) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(func.pg_column_size(table.__table__.table_valued())), 0))
    query = query.select_from(table)
    for joined, on in joins:
        query = query.join(joined, on)
    rows, size = session.execute(query.where(*where)).one()
    return int(rows), int(size)


def prune_finished_events(session: Session, kicked_off_before: datetime, deleted: Deleted) -> None:
    """Delete events (BetPawa's and the competitors') that kicked off before the cutoff."""
    for book in Book:
        tables = writers.snapshot_tables(book)
        model = Event if book is Book.BETPAWA else CompetitorEvent
        gone = [model.kickoff < kicked_off_before]
        if book is not Book.BETPAWA:
            gone.append(CompetitorEvent.source == book)
        owner = getattr(tables.snapshot, tables.owner)
        current_owner = getattr(tables.current, tables.owner)
        snapshot, market, current = tables.snapshot, tables.market, tables.current
        deleted.add(
            market.__tablename__,
            *_measure(session, market, gone, (snapshot, snapshot.id == market.snapshot_id), (model, model.id == owner)),
        )
        deleted.add(snapshot.__tablename__, *_measure(session, snapshot, gone, (model, model.id == owner)))
        deleted.add(current.__tablename__, *_measure(session, current, gone, (model, model.id == current_owner)))
        deleted.add(model.__tablename__, *_measure(session, model, gone))
        session.execute(delete(model).where(*gone))


def prune_history(session: Session, older_than: datetime, deleted: Deleted) -> None:
    """Delete observations captured before the cutoff, folding them into the next one (see module)."""
    for book in Book:
        tables = writers.snapshot_tables(book)
        snapshot, market = tables.snapshot, tables.market
        owner = getattr(snapshot, tables.owner)
        old = select(owner).where(snapshot.captured_at < older_than).distinct()
        if book is not Book.BETPAWA:
            old = old.join(CompetitorEvent, CompetitorEvent.id == owner).where(CompetitorEvent.source == book)
        owners = sorted(session.scalars(old))
        for start in range(0, len(owners), FOLD_CHUNK):
            chunk = owners[start : start + FOLD_CHUNK]
            writers.fold_history(session, tables, chunk, older_than)
            where = [owner.in_(chunk), snapshot.captured_at < older_than]
            deleted.add(
                market.__tablename__, *_measure(session, market, where, (snapshot, snapshot.id == market.snapshot_id))
            )
            deleted.add(snapshot.__tablename__, *_measure(session, snapshot, where))
            session.execute(delete(snapshot).where(*where))
