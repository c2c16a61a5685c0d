"""User mappings, their audit trail and the unmapped log, against the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.records import MarketLineRecord, OutcomeRecord
from odds_pipeline.domain import Book, MappingAction
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MappingReason, MarketMapper
from odds_pipeline.markets.overrides import (
    InvalidMappingError,
    active_catalogue,
    create_user_mapping,
    record_unmapped,
    set_user_mapping_active,
    unmapped_report,
    update_user_mapping,
)
from odds_pipeline.storage import batches
from odds_pipeline.storage.models import MappingAuditLog, UnmappedMarketLog, UserMarketMapping

EARLY_GOALS = MarketLineRecord(
    book=Book.SPORTYBET,
    market_id="60180",
    market_name="Over/Under - Early Goals",
    outcomes=(OutcomeRecord("Over", 2.2), OutcomeRecord("Under", 1.6)),
    specifier="total=0.5",
    line=0.5,
    params=(("total", "0.5"),),
)


def _mapper(session: Session) -> MarketMapper:
    return MarketMapper(active_catalogue(session))


def _audit(session: Session, canonical_id: str) -> list[MappingAuditLog]:
    return list(
        session.scalars(
            select(MappingAuditLog).where(MappingAuditLog.canonical_id == canonical_id).order_by(MappingAuditLog.id)
        )
    )


def test_a_user_mapping_closes_a_gap_and_every_change_is_audited(session: Session):
    assert _mapper(session).map(EARLY_GOALS).unmapped.reason is MappingReason.UNKNOWN_MARKET
    row = create_user_mapping(
        session,
        canonical_id="early_goals_ou",
        name="Over/Under - Early Goals",
        betpawa_id="99000001",
        sportybet_id="60180",
        outcome_mapping=[
            {"id": "over", "betpawa": "Over", "sportybet": "Over"},
            {"id": "under", "betpawa": "Under", "sportybet": "Under"},
        ],
        created_by="analyst",
        reason="BetPawa added early goals",
    )
    mapped = _mapper(session).map(EARLY_GOALS).mapped
    assert [(m.betpawa_market_id, m.line) for m in mapped] == [("99000001", 0.5)]

    update_user_mapping(session, row.id, {"betpawa_id": "99000002"}, by="analyst", reason="id typo")
    assert _mapper(session).map(EARLY_GOALS).mapped[0].betpawa_market_id == "99000002"

    set_user_mapping_active(session, row.id, False, by="analyst", reason="market withdrawn")
    set_user_mapping_active(session, row.id, False, by="analyst")  # already inactive: no audit row
    assert _mapper(session).map(EARLY_GOALS).unmapped.reason is MappingReason.UNKNOWN_MARKET

    trail = _audit(session, "early_goals_ou")
    assert [a.action for a in trail] == [MappingAction.CREATE, MappingAction.UPDATE, MappingAction.DEACTIVATE]
    assert trail[0].old_value is None and trail[0].new_value["betpawa_id"] == "99000001"
    assert trail[1].old_value["betpawa_id"] == "99000001" and trail[1].new_value["betpawa_id"] == "99000002"
    assert trail[2].new_value["is_active"] is False and trail[2].reason == "market withdrawn"
    assert all(a.mapping_id == row.id and a.created_by == "analyst" for a in trail)


def test_a_user_mapping_overrides_the_file_entry_and_keeps_its_line_handling(session: Session):
    record = MarketLineRecord(
        book=Book.SPORTYBET,
        market_id="18",
        market_name=None,
        outcomes=(OutcomeRecord("Plus", 1.9), OutcomeRecord("Minus", 1.9)),
        specifier="total=2.5",
        line=2.5,
        params=(("total", "2.5"),),
    )
    assert _mapper(session).map(record).unmapped.reason is MappingReason.UNKNOWN_OUTCOME
    create_user_mapping(
        session,
        canonical_id="over_under_ft",
        name="Over/Under - Full Time",
        betpawa_id="5000",
        sportybet_id="18",
        bet9ja_key="S_OU",
        outcome_mapping=[
            {"id": "over", "betpawa": "Over", "sportybet": "Plus", "bet9ja": "O"},
            {"id": "under", "betpawa": "Under", "sportybet": "Minus", "bet9ja": "U"},
        ],
    )
    mapped = _mapper(session).map(record).mapped[0]
    assert (mapped.betpawa_market_id, mapped.line, mapped.complete) == ("5000", 2.5, True)
    without_total = MarketLineRecord(book=Book.SPORTYBET, market_id="18", market_name=None, outcomes=record.outcomes)
    assert _mapper(session).map(without_total).unmapped.reason is MappingReason.BAD_LINE
    assert len(file_catalogue()) == len(active_catalogue(session))


@pytest.mark.parametrize(
    "bad",
    [
        {"outcome_mapping": []},
        {"outcome_mapping": [{"betpawa": "Over", "sportybet": "Over"}]},
        {"outcome_mapping": [{"id": "over", "sportybet": "Over"}]},
        {"outcome_mapping": [{"id": "over", "betpawa": "Over"}]},
        {"sportybet_id": None},
    ],
)
def test_a_mapping_that_could_never_map_is_refused(session: Session, bad):
    values = {
        "canonical_id": "bad",
        "name": "bad",
        "betpawa_id": "1",
        "sportybet_id": "1",
        "outcome_mapping": [{"id": "over", "betpawa": "Over", "sportybet": "Over"}],
        **bad,
    }
    with pytest.raises(InvalidMappingError):
        create_user_mapping(session, **values)
    assert session.scalar(select(UserMarketMapping).where(UserMarketMapping.canonical_id == "bad")) is None


def _batch(session: Session, at: datetime) -> int:
    return batches.ensure_batch(session, at.strftime("%Y-%m-%d-%H:%M"), at, at + timedelta(minutes=15)).id


def test_unmapped_lines_are_counted_per_market_and_batch(session: Session):
    mapper = _mapper(session)
    first = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    later = first + timedelta(minutes=15)
    first_batch, later_batch = _batch(session, first), _batch(session, later)
    assert record_unmapped(session, mapper.map_many([EARLY_GOALS, EARLY_GOALS]), first_batch, first) == 1
    assert record_unmapped(session, mapper.map_many([EARLY_GOALS]), later_batch, later) == 1
    assert record_unmapped(session, mapper.map_many([]), later_batch, later) == 0
    # Re-running a batch replaces its own count: nothing is counted twice.
    assert record_unmapped(session, mapper.map_many([EARLY_GOALS]), later_batch, later) == 1
    row = session.scalar(select(UnmappedMarketLog).where(UnmappedMarketLog.external_market_id == "60180"))
    session.refresh(row)
    assert (row.source, row.occurrence_count, row.reason) == (Book.SPORTYBET, 3, "UNKNOWN_MARKET")
    assert (row.first_seen_at, row.last_seen_at) == (first, later)
    assert row.market_name == "Over/Under - Early Goals" and row.sample_outcomes == ["Over", "Under"]
    assert unmapped_report(session, limit=1)[0].external_market_id == "60180"
