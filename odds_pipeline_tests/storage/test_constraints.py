from datetime import UTC, datetime, timedelta

import pytest
from psycopg2.errors import ForeignKeyViolation
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book, MappingAction
from odds_pipeline.storage.models import (
    Bookmaker,
    CompetitorEvent,
    CompetitorTournament,
    Event,
    MappingAuditLog,
    MarketOdds,
    OddsSnapshot,
    Tournament,
    UserMarketMapping,
)
from odds_pipeline.storage.queries import live, soft_delete
from odds_pipeline.storage.writers import MARKET_COLUMNS, MissingParentError, copy_rows, parents_checked_once

KICKOFF = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def _competitor_tournament(session: Session, external_id: str = "sr:tournament:17") -> CompetitorTournament:
    tournament = CompetitorTournament(
        source=Book.SPORTYBET,
        sport_id=1,
        name="Premier League",
        country_raw="England",
        external_id=external_id,
    )
    session.add(tournament)
    session.flush()
    return tournament


def _competitor_event(session: Session, tournament: CompetitorTournament, external_id: str) -> CompetitorEvent:
    event = CompetitorEvent(
        source=tournament.source,
        tournament_id=tournament.id,
        name="Arsenal - Chelsea",
        home_team="Arsenal",
        away_team="Chelsea",
        kickoff=KICKOFF,
        external_id=external_id,
        sportradar_id=external_id.removeprefix("sr:match:"),
    )
    session.add(event)
    session.flush()
    return event


def test_duplicate_source_and_external_id_is_rejected(session: Session) -> None:
    tournament = _competitor_tournament(session)
    _competitor_event(session, tournament, "sr:match:61300947")
    with (
        pytest.raises(IntegrityError, match="uq_competitor_events_source_external_id"),
        session.begin_nested(),
    ):
        _competitor_event(session, tournament, "sr:match:61300947")


def test_same_external_id_on_another_book_is_allowed(session: Session) -> None:
    _competitor_tournament(session, "170880")
    other = CompetitorTournament(source=Book.BET9JA, sport_id=1, name="Premier League", external_id="170880")
    session.add(other)
    session.flush()
    assert other.id is not None


def test_soft_deleted_rows_are_excluded_by_query_helpers(session: Session) -> None:
    tournament = _competitor_tournament(session)
    kept = _competitor_event(session, tournament, "sr:match:1")
    gone = _competitor_event(session, tournament, "sr:match:2")

    assert soft_delete(session, CompetitorEvent, [gone.id]) == 1
    assert soft_delete(session, CompetitorEvent, [gone.id]) == 0, "a second delete must not move deleted_at"
    session.expire_all()

    visible = session.scalars(live(CompetitorEvent).where(CompetitorEvent.tournament_id == tournament.id)).all()
    assert [e.id for e in visible] == [kept.id]
    # The row itself is still there, with an aware UTC deletion time.
    assert session.get(CompetitorEvent, gone.id).deleted_at.tzinfo is not None


def test_audit_log_outlives_a_deleted_mapping(session: Session) -> None:
    mapping = UserMarketMapping(canonical_id="corners_1x2", name="Corners 1X2", sportybet_id="162", outcome_mapping=[])
    session.add(mapping)
    session.flush()
    session.add(MappingAuditLog(mapping_id=mapping.id, canonical_id="corners_1x2", action=MappingAction.CREATE))
    session.flush()

    session.delete(mapping)
    session.flush()
    session.expire_all()

    audit = session.scalars(select(MappingAuditLog).where(MappingAuditLog.canonical_id == "corners_1x2")).one()
    assert audit.mapping_id is None
    assert audit.action is MappingAction.CREATE


def _snapshot(session: Session) -> OddsSnapshot:
    tournament = Tournament(sport_id=1, name="Premier League", country="England")
    session.add(tournament)
    session.flush()
    event = Event(
        tournament_id=tournament.id,
        external_id="32299257",
        name="Arsenal - Chelsea",
        home_team="Arsenal",
        away_team="Chelsea",
        kickoff=KICKOFF,
        sportradar_id="61300947",
    )
    session.add(event)
    session.flush()
    betpawa = session.scalars(select(Bookmaker).where(Bookmaker.slug == Book.BETPAWA)).one()
    snapshot = OddsSnapshot(event_id=event.id, bookmaker_id=betpawa.id)
    session.add(snapshot)
    session.flush()
    return snapshot


def _line(snapshot: OddsSnapshot, market: str, line: float | None) -> MarketOdds:
    return MarketOdds(
        snapshot_id=snapshot.id,
        betpawa_market_id=market,
        betpawa_market_name="Asian Handicap",
        line=line,
        outcomes=[{"name": "1", "odds": 1.9, "is_active": True}],
    )


def test_line_zero_and_no_line_are_different_keys(session: Session) -> None:
    # The reference's COALESCE(line, 0) key made these two collide.
    snapshot = _snapshot(session)
    session.add_all([_line(snapshot, "3774", 0.0), _line(snapshot, "3774", None)])
    session.flush()


def test_two_lineless_rows_of_one_market_collide(session: Session) -> None:
    snapshot = _snapshot(session)
    session.add(_line(snapshot, "3743", None))
    session.flush()
    duplicate = pytest.raises(IntegrityError, match="uq_market_odds_snapshot_id_betpawa_market_id_line")
    with duplicate, session.begin_nested():
        session.add(_line(snapshot, "3743", None))
        session.flush()


def test_timestamps_come_back_aware(session: Session) -> None:
    snapshot = _snapshot(session)
    session.refresh(snapshot)
    assert snapshot.captured_at.utcoffset() == timedelta(0)


MARKET_ROW = ("3743", "1X2 - FT", None, None, None, None, [{"name": "1", "odds": 2.1, "is_active": True}], None, None)


def test_a_bulk_write_naming_a_missing_parent_is_refused(session: Session) -> None:
    snapshot = _snapshot(session)
    table = MarketOdds.__table__
    rows = [(snapshot.id, *MARKET_ROW), (snapshot.id + 1000, *MARKET_ROW)]
    with (
        pytest.raises(MissingParentError, match="1 of the 2 odds_snapshots rows"),
        session.begin_nested(),
        parents_checked_once(session, table, MARKET_COLUMNS, rows),
    ):
        copy_rows(session, table, MARKET_COLUMNS, rows)
    assert session.scalar(select(func.count()).select_from(MarketOdds)) == 0


def test_after_a_checked_bulk_write_the_per_row_checks_and_cascades_are_back(session: Session) -> None:
    snapshot = _snapshot(session)
    table = MarketOdds.__table__
    with parents_checked_once(session, table, MARKET_COLUMNS, [(snapshot.id, *MARKET_ROW)]):
        copy_rows(session, table, MARKET_COLUMNS, [(snapshot.id, *MARKET_ROW)])
    assert session.scalar(text("SELECT current_setting('session_replication_role')")) == "origin"
    orphan = pytest.raises(ForeignKeyViolation, match="fk_market_odds_snapshot_id_odds_snapshots")  # raw COPY
    with orphan, session.begin_nested():
        copy_rows(session, table, MARKET_COLUMNS, [(snapshot.id + 1000, *MARKET_ROW)])
    session.execute(delete(OddsSnapshot).where(OddsSnapshot.id == snapshot.id))
    assert session.scalar(select(func.count()).select_from(MarketOdds)) == 0


def test_a_checked_bulk_write_holds_its_parents_until_it_ends(engine: Engine) -> None:
    with Session(engine) as writer:
        snapshot = _snapshot(writer)
        ids = (snapshot.id, snapshot.event_id, writer.get(Event, snapshot.event_id).tournament_id)
        writer.commit()
        try:
            rows = [(ids[0], *MARKET_ROW)]
            with (
                parents_checked_once(writer, MarketOdds.__table__, MARKET_COLUMNS, rows),
                Session(engine) as other,
                other.begin(),
            ):
                other.execute(text("SET LOCAL lock_timeout = '200ms'"))
                with pytest.raises(OperationalError, match="lock timeout"):
                    other.execute(delete(OddsSnapshot).where(OddsSnapshot.id == ids[0]))
            writer.rollback()
        finally:
            writer.execute(delete(OddsSnapshot).where(OddsSnapshot.id == ids[0]))
            writer.execute(delete(Event).where(Event.id == ids[1]))
            writer.execute(delete(Tournament).where(Tournament.id == ids[2]))
            writer.commit()
