"""Retention: what is older than its horizon goes, what is newer reads exactly as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.bookmakers.records import EventRecord
from odds_pipeline.defs.resources import DatabaseResource, LandingResource, RetentionResource
from odds_pipeline.defs.retention import retention_job
from odds_pipeline.domain import Book
from odds_pipeline.storage import batches, retention, writers
from odds_pipeline.storage.landing import LandingStore
from odds_pipeline.storage.models import Event, MarketOdds, MarketOddsCurrent, OddsSnapshot

NOW = datetime.now(UTC).replace(microsecond=0)
HOME, AWAY = ("5000", 2.5), ("3743", None)


def _state(price: float) -> writers.LineState:
    return writers.LineState("Over/Under", (("Over", price, True), ("Under", 1.9, True)), None, None, None, ())


def _observe(session: Session, days_ago: float, event_ids: dict[str, int], lines: dict[str, dict]) -> None:
    at = NOW - timedelta(days=days_ago)
    batch = batches.ensure_batch(session, f"{days_ago}", at, at + timedelta(minutes=15))
    observed = {event_ids[name]: state for name, state in lines.items()}
    bookmaker = batches.bookmaker_ids(session)[Book.BETPAWA]
    writers.store_snapshots(session, Book.BETPAWA, batch, None, bookmaker, observed, at)
    session.flush()


def _events(session: Session, **kickoffs: float) -> dict[str, int]:
    records = [
        EventRecord(Book.BETPAWA, name, None, NOW + timedelta(days=days), f"{name} home", f"{name} away")
        for name, days in kickoffs.items()
    ]
    return writers.store_events(session, Book.BETPAWA, records, batches.bookmaker_ids(session)[Book.BETPAWA])


def _state_at(session: Session, event_id: int, at: datetime) -> dict:
    rows = session.execute(
        select(MarketOdds.betpawa_market_id, MarketOdds.line, MarketOdds.outcomes, MarketOdds.unavailable_at)
        .join(OddsSnapshot, OddsSnapshot.id == MarketOdds.snapshot_id)
        .where(OddsSnapshot.event_id == event_id, OddsSnapshot.captured_at <= at)
        .order_by(OddsSnapshot.captured_at)
    ).all()
    state: dict = {}
    for market, line, outcomes, gone in rows:
        state[(market, line)] = None if gone else json.dumps(outcomes, sort_keys=True)
    return {key: value for key, value in state.items() if value is not None}


def test_old_history_is_folded_into_the_next_observation(session: Session) -> None:
    ids = _events(session, e1=5)
    _observe(session, 40, ids, {"e1": {HOME: _state(1.5), AWAY: _state(2.0)}})
    _observe(session, 35, ids, {"e1": {HOME: _state(1.6), AWAY: _state(2.0)}})
    _observe(session, 20, ids, {"e1": {HOME: _state(1.6)}})  # AWAY gone
    _observe(session, 1, ids, {"e1": {HOME: _state(1.6)}})  # nothing changed
    times = [NOW - timedelta(days=days) for days in (20, 10, 1, 0)]
    before = [_state_at(session, ids["e1"], at) for at in times]
    current = session.execute(select(MarketOddsCurrent.betpawa_market_id, MarketOddsCurrent.outcomes)).all()
    deleted = retention.Deleted()

    retention.prune_history(session, NOW - timedelta(days=30), deleted)

    assert [_state_at(session, ids["e1"], at) for at in times] == before
    assert session.execute(select(MarketOddsCurrent.betpawa_market_id, MarketOddsCurrent.outcomes)).all() == current
    kept = session.scalars(select(OddsSnapshot.captured_at).order_by(OddsSnapshot.captured_at)).all()
    assert kept == [NOW - timedelta(days=20), NOW - timedelta(days=1)]
    assert deleted.rows["odds_snapshots"] == 2 and deleted.rows["market_odds"] == 3
    assert deleted.bytes["market_odds"] > 3 * 50


def test_events_that_kicked_off_long_ago_go_whole(session: Session) -> None:
    ids = _events(session, old=-31, recent=-2)
    _observe(session, 33, ids, {"old": {HOME: _state(1.5)}, "recent": {HOME: _state(1.7)}})
    deleted = retention.Deleted()

    retention.prune_finished_events(session, NOW - timedelta(days=30), deleted)

    assert session.scalars(select(Event.external_id)).all() == ["recent"]
    assert session.scalar(select(func.count()).select_from(MarketOddsCurrent)) == 1
    assert deleted.rows["events"] == 1 and deleted.rows["odds_snapshots"] == 1
    assert deleted.rows["market_odds"] == 1 and deleted.rows["market_odds_current"] == 1


def _land(store: LandingStore, key: str) -> None:
    writer = store.open_capture(key, Book.SPORTYBET)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    writer.add(RawResponse(Book.SPORTYBET, "event", "1", "http://127.0.0.1/x", 200, b'{"a": 1}', at, 1.0))
    writer.finish(events=1, errors_by_type={})


def test_old_captures_go_and_leave_a_note(tmp_path: Path) -> None:
    store = LandingStore(tmp_path)
    _land(store, "2026-11-01-10:00")
    _land(store, "2026-11-20-10:00")

    files, size = store.prune(datetime(2026, 11, 10, tzinfo=UTC), horizon_days=14)

    assert files == 2 and size > 0  # the capture and its manifest
    assert store.manifests("2026-11-01-10:00", Book.SPORTYBET) == []
    assert store.pruned("2026-11-01-10:00")["horizon_days"] == 14
    assert store.pruned("2026-11-20-10:00") is None
    assert len(store.manifests("2026-11-20-10:00", Book.SPORTYBET)) == 1
    assert store.prune(datetime(2026, 11, 10, tzinfo=UTC), horizon_days=14) == (0, 0)  # once only


def test_the_retention_job_reports_what_it_deleted(database_url, tmp_path: Path) -> None:
    @dg.op
    def nothing() -> None:
        pass

    @dg.job
    def earlier() -> None:
        nothing()

    with dg.instance_for_test() as instance:
        for _ in range(2):
            assert earlier.execute_in_process(instance=instance).success
        resources = {
            "database": DatabaseResource(url=database_url.render_as_string(hide_password=False), var_dir=str(tmp_path)),
            "landing": LandingResource(root=str(tmp_path / "landing")),
            "retention": RetentionResource(history_days=30, events_days=30, captures_days=14, dagster_days=0),
        }
        result = retention_job.execute_in_process(instance=instance, resources=resources)
        assert result.success
        output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
        metadata = output.event_specific_data.metadata
        assert metadata["rows_deleted"].value >= 2  # the two earlier runs at least
        assert "dagster runs | 2 |" in metadata["deleted"].value
        assert len(instance.get_runs()) == 1  # only the retention run itself is left
