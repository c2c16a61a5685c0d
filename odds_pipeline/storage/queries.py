"""Query helpers that carry the schema's rules, so callers cannot forget them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book
from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorTournament,
    Event,
    EventScrapeStatus,
    ScrapeBatch,
    Tournament,
)

SoftDeletableModel = TypeVar("SoftDeletableModel", CompetitorEvent, CompetitorTournament)


def live(model: type[SoftDeletableModel]) -> Select[tuple[SoftDeletableModel]]:
    """SELECT of the rows of ``model`` that are not soft-deleted."""
    return select(model).where(model.deleted_at.is_(None))


def soft_delete(session: Session, model: type[SoftDeletableModel], ids: list[int], at: datetime | None = None) -> int:
    """Mark rows deleted without removing them; returns how many were newly marked."""
    when = at or datetime.now(UTC)
    result = session.execute(update(model).where(model.id.in_(ids), model.deleted_at.is_(None)).values(deleted_at=when))
    return result.rowcount


def delivered_by(book: Book) -> ColumnElement[bool]:
    """event_scrape_status rows whose event this book delivered."""
    return EventScrapeStatus.platforms_scraped.op("@>")(cast(literal(f'["{book.value}"]'), JSONB))


def upcoming_events_of(
    session: Session, book: Book, competitions: list[str], after: datetime
) -> list[tuple[str, str | None, str]]:
    """The book's known events of these competitions that kick off after ``after``: (id, SportRadar id, competition).

    What was lost with a competition's list, named from what earlier batches stored.
    """
    if not competitions:
        return []
    if book is Book.BETPAWA:
        query = (
            select(Event.external_id, Event.sportradar_id, Tournament.external_id)
            .join(Tournament, Tournament.id == Event.tournament_id)
            .where(Tournament.external_id.in_(competitions), Event.kickoff > after)
        )
    else:
        query = (
            select(CompetitorEvent.external_id, CompetitorEvent.sportradar_id, CompetitorTournament.external_id)
            .join(CompetitorTournament, CompetitorTournament.id == CompetitorEvent.tournament_id)
            .where(
                CompetitorEvent.source == book,
                CompetitorTournament.external_id.in_(competitions),
                CompetitorEvent.kickoff > after,
                CompetitorEvent.deleted_at.is_(None),
            )
        )
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def linked_events(session: Session, batch: ScrapeBatch, book: Book) -> tuple[int, int]:
    """(linked to a BetPawa event, competitor-only) among the competitor events this book delivered this batch."""
    delivered = select(EventScrapeStatus.sportradar_id).where(
        EventScrapeStatus.batch_id == batch.id, EventScrapeStatus.sportradar_id.is_not(None), delivered_by(book)
    )
    counts = dict(
        session.execute(
            select(CompetitorEvent.betpawa_event_id.is_not(None), func.count())
            .where(CompetitorEvent.source == book, CompetitorEvent.sportradar_id.in_(delivered))
            .group_by(CompetitorEvent.betpawa_event_id.is_not(None))
        ).all()
    )
    return counts.get(True, 0), counts.get(False, 0)
