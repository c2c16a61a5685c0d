"""Query helpers that carry the schema's rules, so callers cannot forget them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from odds_pipeline.storage.models import CompetitorEvent, CompetitorTournament

SoftDeletableModel = TypeVar("SoftDeletableModel", CompetitorEvent, CompetitorTournament)


def live(model: type[SoftDeletableModel]) -> Select[tuple[SoftDeletableModel]]:
    """SELECT of the rows of ``model`` that are not soft-deleted."""
    return select(model).where(model.deleted_at.is_(None))


def soft_delete(session: Session, model: type[SoftDeletableModel], ids: list[int], at: datetime | None = None) -> int:
    """Mark rows deleted without removing them; returns how many were newly marked."""
    when = at or datetime.now(UTC)
    result = session.execute(update(model).where(model.id.in_(ids), model.deleted_at.is_(None)).values(deleted_at=when))
    return result.rowcount
