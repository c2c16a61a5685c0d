"""User mappings in PostgreSQL: extend or override the file catalogue without a deploy.

Every create, update, deactivate and reactivate writes a mapping_audit_log row in the same
transaction, so the history cannot drift from the mappings. Lines that could not be mapped are
counted in unmapped_market_log, one row per (book, market), so the gap is visible and can be
closed by adding a user mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book, MappingAction
from odds_pipeline.markets.catalogue import (
    Carrier,
    Catalogue,
    CatalogueEntry,
    CatalogueOutcome,
    Evidence,
    LineKind,
    OutcomeSet,
    Source,
    file_catalogue,
)
from odds_pipeline.markets.engine import LineMapping
from odds_pipeline.storage.models import MappingAuditLog, UnmappedMarketLog, UnmappedMarketSighting, UserMarketMapping

BOOK_COLUMNS = {Book.SPORTYBET: "sportybet_id", Book.BET9JA: "bet9ja_key"}
EDITABLE = ("name", "betpawa_id", "sportybet_id", "bet9ja_key", "outcome_mapping", "priority")


class InvalidMappingError(ValueError):
    """A user mapping that could never map anything; says which field is wrong."""


def _validate(values: Mapping[str, Any]) -> None:
    outcomes = values.get("outcome_mapping")
    if not isinstance(outcomes, list) or not outcomes:
        raise InvalidMappingError("outcome_mapping must be a non-empty list of outcomes")
    if not values.get("sportybet_id") and not values.get("bet9ja_key"):
        raise InvalidMappingError("a mapping needs a sportybet_id or a bet9ja_key")
    for index, outcome in enumerate(outcomes):
        if not isinstance(outcome, dict) or not outcome.get("id"):
            raise InvalidMappingError(f"outcome_mapping[{index}] needs an id")
        if values.get("betpawa_id") and not outcome.get("betpawa"):
            raise InvalidMappingError(f"outcome_mapping[{index}] needs its BetPawa name")
        if not any(outcome.get(book.value) for book in BOOK_COLUMNS):
            raise InvalidMappingError(f"outcome_mapping[{index}] names no competitor label")


def _snapshot(row: UserMarketMapping) -> dict[str, Any]:
    return {"canonical_id": row.canonical_id, "is_active": row.is_active, **{c: getattr(row, c) for c in EDITABLE}}


def _audit(session: Session, row: UserMarketMapping, action: MappingAction, old: Any, by: str | None, why: str | None):
    session.add(
        MappingAuditLog(
            mapping_id=row.id,
            canonical_id=row.canonical_id,
            action=action,
            old_value=old,
            new_value=_snapshot(row),
            reason=why,
            created_by=by,
        )
    )


def create_user_mapping(
    session: Session,
    *,
    canonical_id: str,
    name: str,
    outcome_mapping: list[dict[str, Any]],
    betpawa_id: str | None = None,
    sportybet_id: str | None = None,
    bet9ja_key: str | None = None,
    priority: int = 0,
    created_by: str | None = None,
    reason: str | None = None,
) -> UserMarketMapping:
    values = {
        "name": name,
        "betpawa_id": betpawa_id,
        "sportybet_id": sportybet_id,
        "bet9ja_key": bet9ja_key.removeprefix("S_") if bet9ja_key else None,
        "outcome_mapping": outcome_mapping,
        "priority": priority,
    }
    _validate(values)
    row = UserMarketMapping(canonical_id=canonical_id, created_by=created_by, **values)
    session.add(row)
    session.flush()
    _audit(session, row, MappingAction.CREATE, None, created_by, reason)
    return row


def update_user_mapping(
    session: Session, mapping_id: int, changes: Mapping[str, Any], *, by: str | None = None, reason: str | None = None
) -> UserMarketMapping:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidMappingError(f"not editable: {sorted(unknown)}")
    row = session.get_one(UserMarketMapping, mapping_id)
    old = _snapshot(row)
    _validate({**old, **changes})
    for column, value in changes.items():
        setattr(row, column, value)
    row.updated_at = datetime.now(UTC)
    session.flush()
    _audit(session, row, MappingAction.UPDATE, old, by, reason)
    return row


def set_user_mapping_active(
    session: Session, mapping_id: int, active: bool, *, by: str | None = None, reason: str | None = None
) -> UserMarketMapping:
    """Deactivate (soft delete) or reactivate; a no-op change writes no audit row."""
    row = session.get_one(UserMarketMapping, mapping_id)
    if row.is_active == active:
        return row
    old = _snapshot(row)
    row.is_active = active
    row.updated_at = datetime.now(UTC)
    session.flush()
    _audit(session, row, MappingAction.ACTIVATE if active else MappingAction.DEACTIVATE, old, by, reason)
    return row


def entry_from_user_mapping(row: UserMarketMapping, base: Catalogue) -> CatalogueEntry:
    """A catalogue entry from a user row; line handling is inherited from the file entry it overrides."""
    overridden = base.entries.get(row.canonical_id)
    outcomes = tuple(CatalogueOutcome(str(o["id"]), o.get("betpawa")) for o in row.outcome_mapping)
    sources = []
    for book, column in BOOK_COLUMNS.items():
        market = getattr(row, column)
        if not market:
            continue
        labels = {str(o[book.value]): str(o["id"]) for o in row.outcome_mapping if o.get(book.value)}
        inherited = next(
            (s for s in (overridden.sources if overridden else ()) if s.book is book and s.market == market), None
        )
        if inherited:
            carrier, params, fixed_line = inherited.carrier, inherited.params, inherited.fixed_line
        else:
            carrier, params, fixed_line = Carrier.AS_SENT, {}, None
        sources.append(Source(book, market, carrier, labels, params, fixed_line, evidence=Evidence.USER))
    return CatalogueEntry(
        id=row.canonical_id,
        name=row.name,
        betpawa_id=row.betpawa_id,
        line_kind=overridden.line_kind if overridden else LineKind.NONE,
        outcomes=outcomes,
        sources=tuple(sources),
        outcome_set=overridden.outcome_set if overridden else OutcomeSet.EXCLUSIVE,
        tabs=overridden.tabs if overridden else (),
        origin="user",
        note=f"user mapping #{row.id}",
    )


def active_catalogue(session: Session, base: Catalogue | None = None) -> Catalogue:
    """The file catalogue with the active user mappings on top (higher priority wins a market)."""
    base = base or file_catalogue()
    rows = session.scalars(
        select(UserMarketMapping)
        .where(UserMarketMapping.is_active.is_(True))
        .order_by(UserMarketMapping.priority, UserMarketMapping.id)
    ).all()
    return base.with_overrides(entry_from_user_mapping(row, base) for row in rows)


def record_unmapped(
    session: Session, mappings: Iterable[LineMapping], batch_id: int, seen_at: datetime | None = None
) -> int:
    """Log the batch's unmapped lines: one unmapped_market_log row per (book, market), with its
    lines of this batch in unmapped_market_sightings. The log's count is the sum over batches, so a
    re-run of a batch replaces its own count instead of adding to it. Returns the markets touched.
    """
    seen_at = seen_at or datetime.now(UTC)
    counts: Counter[tuple[Book, str]] = Counter()
    # A full batch has some 100,000 unmapped lines and a few hundred markets: only the last line
    # of each market is described.
    latest: dict[tuple[Book, str], LineMapping] = {}
    for mapping in mappings:
        if mapping.unmapped is not None:
            key = (mapping.record.book, mapping.record.market_id)
            counts[key] += 1
            latest[key] = mapping
    if not counts:
        return 0
    rows = [
        {
            "source": key[0],
            "external_market_id": key[1],
            "market_name": mapping.record.market_name,
            "reason": mapping.unmapped.reason.value,
            "sample_outcomes": [o.name for o in mapping.record.outcomes[:10]],
            "occurrence_count": counts[key],
            "first_seen_at": seen_at,
            "last_seen_at": seen_at,
        }
        for key, mapping in sorted(latest.items(), key=lambda item: item[0])
    ]
    statement = insert(UnmappedMarketLog).values(rows)
    excluded = statement.excluded
    table = UnmappedMarketLog.__table__.c
    logged = session.execute(
        statement.on_conflict_do_update(
            constraint="uq_unmapped_source_market",
            set_={
                "last_seen_at": func.greatest(table.last_seen_at, excluded.last_seen_at),
                "first_seen_at": func.least(table.first_seen_at, excluded.first_seen_at),
                "reason": excluded.reason,
                "market_name": func.coalesce(excluded.market_name, table.market_name),
                "sample_outcomes": excluded.sample_outcomes,
            },
        ).returning(UnmappedMarketLog.id, UnmappedMarketLog.source, UnmappedMarketLog.external_market_id)
    ).all()
    sightings = insert(UnmappedMarketSighting).values(
        [
            {"batch_id": batch_id, "unmapped_id": id_, "lines": counts[(source, market)]}
            for id_, source, market in logged
        ]
    )
    session.execute(
        sightings.on_conflict_do_update(
            index_elements=["batch_id", "unmapped_id"], set_={"lines": sightings.excluded.lines}
        )
    )
    ids = [id_ for id_, _, _ in logged]
    total = (
        select(func.sum(UnmappedMarketSighting.lines))
        .where(UnmappedMarketSighting.unmapped_id == UnmappedMarketLog.id)
        .scalar_subquery()
    )
    session.execute(update(UnmappedMarketLog).where(UnmappedMarketLog.id.in_(ids)).values(occurrence_count=total))
    return len(rows)


def unmapped_report(session: Session, limit: int = 10) -> Sequence[UnmappedMarketLog]:
    """The most frequent unmapped markets first."""
    return session.scalars(
        select(UnmappedMarketLog).order_by(UnmappedMarketLog.occurrence_count.desc()).limit(limit)
    ).all()
