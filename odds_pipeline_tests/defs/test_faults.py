"""Batches under faults, re-runs and impossible backfills, through Dagster on a tiny world: nothing lost
without a name, nothing stuck, nothing silently completed."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from odds_pipeline.defs.failures import failure_messages, record_failed_run
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.domain import BatchStatus, BatchTrigger, Book, EventScrapeOutcome
from odds_pipeline.sandbox.world import Scale
from odds_pipeline.storage.database import EmbeddedServer
from odds_pipeline.storage.models import CompetitorEvent, EventScrapeStatus, UnmappedMarketLog
from odds_pipeline_tests.defs.harness import Pipeline, checks_of, figures, pipeline_on

# Dagster's run retries, on: an impossible backfill must still not be retried.
RUN_RETRIES = {"run_retries": {"enabled": True, "max_retries": 2}}


@pytest.fixture(scope="module")
def tiny(pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with pipeline_on(pg_server, tmp_path_factory.mktemp("var"), Scale.TINY, RUN_RETRIES) as running:
        yield running


LATE_WINDOW = {"late_window_minutes": 240}  # so that the few windows these tests use can all be scraped


def recent(pipeline: Pipeline, back: int) -> str:
    """The window that ended ``back`` windows before the latest complete one."""
    return batch_partitions(pipeline.settings).get_partition_keys()[-1 - back]


def faults(pipeline: Pipeline, spec: str) -> None:
    httpx.post(f"{pipeline.sandbox.url}/__sandbox/faults", params={"spec": spec}, timeout=10).raise_for_status()


def statuses(pipeline: Pipeline, key: str) -> list[EventScrapeStatus]:
    with Session(pipeline.engine) as session:
        batch_id = pipeline.batch(key).id
        return list(session.scalars(select(EventScrapeStatus).where(EventScrapeStatus.batch_id == batch_id)))


def unmapped_counts(pipeline: Pipeline) -> dict[tuple[str, str], int]:
    with Session(pipeline.engine) as session:
        rows = session.execute(
            select(UnmappedMarketLog.source, UnmappedMarketLog.external_market_id, UnmappedMarketLog.occurrence_count)
        ).all()
    return {(source, market): count for source, market, count in rows}


def test_a_rerun_with_a_different_capture_replaces_the_batch_cleanly(tiny: Pipeline) -> None:
    key = recent(tiny, 1)
    assert tiny.run(key, **LATE_WINDOW).success
    assert tiny.batch(key).status is BatchStatus.COMPLETED
    counted = unmapped_counts(tiny)

    # The same batch again, now with most of Bet9ja's full events broken even after the retries.
    faults(tiny, "bet9ja.event.malformed=0.8")
    try:
        again = tiny.run(key, **LATE_WINDOW)
    finally:
        faults(tiny, "")
    assert again.success, failure_messages(again.all_events)
    assert checks_of(again)["bet9ja_palimpsest.rows_match_report"] is True
    assert checks_of(again)["bet9ja_odds_snapshots.rows_match_report"] is True
    bet9ja = figures(again, "bet9ja_palimpsest")
    assert bet9ja["lost"] > 0 and bet9ja["run_status"] in ("partial", "failed")
    assert tiny.batch(key).status is BatchStatus.PARTIAL
    rows = statuses(tiny, key)
    # This attempt's word, not a merge with the first: delivered rows are what this attempt stored.
    assert sum("bet9ja" in r.platforms_scraped for r in rows) == bet9ja["dagster/row_count"]
    assert sum("bet9ja" in r.platforms_failed for r in rows) == bet9ja["lost"]

    # And clean once more: every event completed again, and the unmapped counts never grew.
    clean = tiny.run(key, **LATE_WINDOW)
    assert clean.success
    assert tiny.batch(key).status is BatchStatus.COMPLETED
    assert {r.status for r in statuses(tiny, key)} == {EventScrapeOutcome.COMPLETED}
    assert unmapped_counts(tiny) == counted


def test_a_lost_list_names_the_events_it_held(tiny: Pipeline) -> None:
    earlier, key = recent(tiny, 3), recent(tiny, 2)
    assert tiny.run(earlier, **LATE_WINDOW).success
    with Session(tiny.engine) as session:
        known = set(
            session.scalars(select(CompetitorEvent.external_id).where(CompetitorEvent.source == Book.SPORTYBET))
        )
    faults(tiny, "sportybet.events.5xx=1")  # every SportyBet event list fails, past the retries
    try:
        result = tiny.run(key, **LATE_WINDOW)
    finally:
        faults(tiny, "")
    assert figures(result, "sportybet_palimpsest")["run_status"] == "failed"
    failed = {
        r.event_key: r.error_details["sportybet"] for r in statuses(tiny, key) if "sportybet" in r.platforms_failed
    }
    assert len(failed) == len(known) > 10
    assert all("was lost" in why and "BookmakerUnavailableError" in why for why in failed.values())
    assert tiny.batch(key).status is BatchStatus.PARTIAL


def test_a_drifted_book_gives_a_failed_run(tiny: Pipeline) -> None:
    key = recent(tiny, 4)
    faults(tiny, "betpawa.drift=1")  # BetPawa renamed "markets": not one event can be read
    try:
        result = tiny.run(key, **LATE_WINDOW)
    finally:
        faults(tiny, "")
    betpawa = figures(result, "betpawa_palimpsest")
    assert betpawa["dagster/row_count"] == 0 and betpawa["run_status"] == "failed"
    assert betpawa["lost"] == betpawa["listed"] > 10
    assert tiny.batch(key).status is BatchStatus.PARTIAL


def test_an_impossible_backfill_fails_once_and_is_recorded(tiny: Pipeline) -> None:
    """A backfill runs as Dagster's asset job: it fails without retries, and its batch says why."""
    old = batch_partitions(tiny.settings).get_partition_keys()[0]
    defs = tiny.defs()
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        partition_key=old, instance=tiny.instance, raise_on_error=False, tags={"dagster/backfill": "b1"}
    )
    assert not result.success
    run = tiny.instance.get_run_by_id(result.run_id)
    assert run.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert run.tags["dagster/will_retry"] == "false"

    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    sensor = defs.resolve_sensor_def("record_batch_failure")
    with dg.build_run_status_sensor_context(
        sensor_name="record_batch_failure",
        dagster_event=failure,
        dagster_instance=tiny.instance,
        dagster_run=run,
        resources={"database": defs.resources["database"], "alerts": defs.resources["alerts"]},
    ) as context:
        sensor(context.for_run_failure())
    batch = tiny.batch(old)
    assert batch.status is BatchStatus.FAILED and batch.trigger is BatchTrigger.BACKFILL
    assert "cannot be fetched again" in batch.notes


def test_recording_a_failed_run_ignores_runs_outside_batches(tiny: Pipeline) -> None:
    with Session(tiny.engine) as session:
        partitions = batch_partitions(tiny.settings)
        assert record_failed_run(session, partitions, "r1", {}, ["boom"]) is None
        assert record_failed_run(session, partitions, "r1", {"dagster/partition": "nonsense"}, []) is None
