"""Batch partitions materialized end to end: the sandbox, the real PostgreSQL, a temporary Dagster instance."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from odds_pipeline.bench import settings_for
from odds_pipeline.definitions import build_definitions
from odds_pipeline.defs.automation import missed_partitions
from odds_pipeline.defs.failures import failure_messages
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.defs.resources import BatchPolicyResource, LandingResource
from odds_pipeline.domain import BatchStatus, BatchTrigger, Book, EventScrapeOutcome
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import WorldConfig
from odds_pipeline.settings import Settings
from odds_pipeline.storage import migrations
from odds_pipeline.storage.database import EmbeddedServer, drop_database, ensure_database, make_engine
from odds_pipeline.storage.models import (
    CompetitorEvent,
    Event,
    EventScrapeStatus,
    OddsSnapshot,
    ScrapeBatch,
    ScrapeError,
)
from odds_pipeline_tests.tables import row_counts


@dataclasses.dataclass
class Pipeline:
    settings: Settings
    engine: Engine
    sandbox: RunningSandbox
    instance: dg.DagsterInstance

    def defs(self, **policy: int) -> dg.Definitions:
        return build_definitions(dataclasses.replace(self.settings, **policy))

    def run(self, key: str, *, tags: dict[str, str] | None = None, **policy: int) -> dg.ExecuteInProcessResult:
        job = self.defs(**policy).resolve_job_def("scrape_batch")
        return job.execute_in_process(partition_key=key, instance=self.instance, raise_on_error=False, tags=tags)

    def counts(self) -> dict[str, int]:
        return row_counts(self.engine)

    def batch(self, key: str) -> ScrapeBatch:
        with Session(self.engine) as session:
            return session.scalar(select(ScrapeBatch).where(ScrapeBatch.partition_key == key))


@pytest.fixture(scope="module")
def pipeline(pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    url = pg_server.url(f"odds_dagster_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    migrations.upgrade(url)
    var_dir = tmp_path_factory.mktemp("var")
    with (
        RunningSandbox(SandboxOptions(world=WorldConfig(seed=3, follow_wall_clock=False))) as sandbox,
        dg.instance_for_test() as instance,
    ):
        settings = dataclasses.replace(
            settings_for(Settings.from_env(), sandbox.url),
            var_dir=var_dir,
            landing_root=var_dir / "landing",
            database_url=url.render_as_string(hide_password=False),
        )
        engine = make_engine(url)
        yield Pipeline(settings, engine, sandbox, instance)
        engine.dispose()
    drop_database(url)


def latest_key(settings: Settings) -> str:
    return batch_partitions(settings).get_last_partition_key()


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {f"{e.asset_key.to_user_string()}.{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}


def figures(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    for event in result.get_asset_materialization_events():
        if event.materialization.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def sandbox_pairs(url: str) -> dict[Book, set[tuple[str, str]]]:
    """(competitor event id, BetPawa event id) of every match listed on both, per the sandbox."""
    matches = httpx.get(f"{url}/__sandbox/truth", timeout=30).json()["matches"]
    return {
        book: {(m[book.value], m["betpawa"]) for m in matches if m["sportradar_id"] and m[book.value] and m["betpawa"]}
        for book in (Book.SPORTYBET, Book.BET9JA)
    }


def stored_pairs(engine: Engine) -> dict[Book, set[tuple[str, str]]]:
    with Session(engine) as session:
        rows = session.execute(
            select(CompetitorEvent.source, CompetitorEvent.external_id, Event.external_id).join(
                Event, Event.id == CompetitorEvent.betpawa_event_id
            )
        ).all()
    pairs: dict[Book, set[tuple[str, str]]] = {Book.SPORTYBET: set(), Book.BET9JA: set()}
    for source, competitor_id, betpawa_id in rows:
        pairs[Book(source)].add((competitor_id, betpawa_id))
    return pairs


def test_definitions_load_and_describe_themselves(pipeline: Pipeline):
    defs = pipeline.defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        *(f"{b.value}_raw_capture" for b in Book),
        *(f"{b.value}_palimpsest" for b in Book),
        "matched_events",
        "odds_snapshots",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and node.owners and node.kinds and node.partitions_def is not None
        assert "dagster/column_schema" in node.metadata
    upstream = {k.to_user_string() for k in graph.get(dg.AssetKey("odds_snapshots")).parent_keys}
    assert upstream == {"matched_events"}
    assert defs.resolve_schedule_def("scrape_batch_schedule").cron_schedule == "*/15 * * * *"
    assert {s.name for s in defs.sensors} == {"missed_batches", "record_batch_failure"}
    assert all(c.partitions_def is not None for c in defs.asset_checks)


def test_a_batch_runs_end_to_end_and_again_without_new_rows(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    truth_before = sandbox_pairs(pipeline.sandbox.url)
    first = pipeline.run(key)
    truth_after = sandbox_pairs(pipeline.sandbox.url)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert all(checks_of(first).values()), checks_of(first)
    counts = pipeline.counts()
    assert counts["events"] > 100 and counts["market_odds"] > 10_000
    batch = pipeline.batch(key)
    assert (batch.status, batch.trigger) == (BatchStatus.COMPLETED, BatchTrigger.MANUAL)
    with Session(pipeline.engine) as session:
        outcomes = session.execute(
            select(EventScrapeStatus.status, func.count())
            .where(EventScrapeStatus.batch_id == batch.id)
            .group_by(EventScrapeStatus.status)
        ).all()
    assert dict(outcomes) == {EventScrapeOutcome.COMPLETED: counts["event_scrape_status"]}
    # The links are exactly the sandbox's ground truth (a match may kick off while the batch runs).
    stored = stored_pairs(pipeline.engine)
    for book in (Book.SPORTYBET, Book.BET9JA):
        assert truth_before[book] & truth_after[book] <= stored[book] <= truth_before[book] | truth_after[book]
        assert len(stored[book]) == figures(first, "matched_events")[f"{book.value}_linked"]

    again = pipeline.run(key)
    assert again.success and all(checks_of(again).values())
    assert pipeline.counts() == counts
    assert (
        figures(again, "odds_snapshots")["dagster/row_count"] == figures(first, "odds_snapshots")["dagster/row_count"]
    )


def test_checks_fail_when_a_batch_loses_rows(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    assert pipeline.run(key).success
    batch = pipeline.batch(key)
    with Session(pipeline.engine) as session, session.begin():
        session.execute(delete(EventScrapeStatus).where(EventScrapeStatus.batch_id == batch.id))
        session.execute(delete(OddsSnapshot).where(OddsSnapshot.batch_id == batch.id))
    job = pipeline.defs().resolve_job_def("scrape_batch")
    check_steps = [name for name in job.graph.node_names() if not name.endswith(("_raw_capture", "_palimpsest"))]
    check_steps = [name for name in check_steps if name not in ("matched_events", "odds_snapshots")]
    result = job.execute_in_process(
        partition_key=key, instance=pipeline.instance, raise_on_error=False, op_selection=check_steps
    )
    checks = checks_of(result)
    assert checks["betpawa_palimpsest.rows_match_report"] is False
    assert checks["betpawa_palimpsest.not_empty"] is False
    assert checks["odds_snapshots.rows_match_report"] is False
    assert checks["betpawa_raw_capture.capture_intact"] is True


def test_a_book_that_is_down_gives_a_partial_batch(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    faults = f"{pipeline.sandbox.url}/__sandbox/faults"
    # SportyBet is down; one Bet9ja answer in ten is broken JSON; one BetPawa answer in ten renamed a field.
    spec = "sportybet.down=1,bet9ja.malformed=0.1,betpawa.drift=0.1"
    httpx.post(faults, params={"spec": spec}, timeout=10).raise_for_status()
    try:
        result = pipeline.run(key)
    finally:
        httpx.post(faults, params={"spec": ""}, timeout=10).raise_for_status()
    checks = checks_of(result)
    assert checks["sportybet_palimpsest.not_empty"] is False
    assert checks["betpawa_palimpsest.not_empty"] and checks["bet9ja_palimpsest.not_empty"]
    assert figures(result, "sportybet_raw_capture")["run_status"] == "failed"
    odds = figures(result, "odds_snapshots")
    assert odds["bet9ja_snapshots"] + odds["bet9ja_unchanged_events"] > 0  # the other books went on
    assert pipeline.batch(key).status is BatchStatus.PARTIAL
    with Session(pipeline.engine) as session:
        errors = session.scalars(select(ScrapeError.error_type)).all()
        batch_id = pipeline.batch(key).id
        statuses = session.execute(
            select(EventScrapeStatus.status, EventScrapeStatus.platforms_failed).where(
                EventScrapeStatus.batch_id == batch_id
            )
        ).all()
    assert {"BookmakerUnavailableError", "MalformedResponseError", "MissingFieldError"} <= set(errors)
    # Events whose Bet9ja answer was broken are recorded as failed on Bet9ja, not dropped.
    failed_on_bet9ja = [status for status, failed in statuses if "bet9ja" in failed]
    assert failed_on_bet9ja and all(
        s in (EventScrapeOutcome.PARTIAL, EventScrapeOutcome.FAILED) for s in failed_on_bet9ja
    )


def test_a_backfill_rederives_from_the_landing_store(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    assert pipeline.run(key).success
    counts = pipeline.counts()
    # Past the late window (0 minutes here), the raw capture is re-read instead of scraped again.
    result = pipeline.run(key, tags={"dagster/backfill": "test"}, late_window_minutes=0)
    assert result.success
    assert figures(result, "betpawa_raw_capture")["source"] == "landing store"
    assert pipeline.counts() == counts
    assert pipeline.batch(key).trigger is BatchTrigger.BACKFILL


def test_an_old_batch_without_a_capture_fails_clearly(pipeline: Pipeline):
    old = batch_partitions(pipeline.settings).get_partition_keys()[0]
    result = pipeline.run(old)
    assert not result.success
    messages = " ".join(failure_messages(result.all_events))
    assert "cannot be fetched again" in messages

    # The run-failure sensor records it on the batch, even though the run died before writing one.
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    defs = pipeline.defs()
    sensor = defs.resolve_sensor_def("record_batch_failure")
    with dg.build_run_status_sensor_context(
        sensor_name="record_batch_failure",
        dagster_event=failure,
        dagster_instance=pipeline.instance,
        dagster_run=result.dagster_run,
        resources={"database": defs.resources["database"]},
    ) as context:
        sensor(context.for_run_failure())
    batch = pipeline.batch(old)
    assert batch.status is BatchStatus.FAILED and "cannot be fetched again" in batch.notes


def test_the_missed_batch_sensor_requests_exactly_the_missing_batches(pipeline: Pipeline, tmp_path: Path):
    settings = pipeline.settings
    partitions = batch_partitions(settings)
    now = datetime.now(UTC)
    policy = BatchPolicyResource(late_window_minutes=120, missed_lookback_windows=6)
    landing = LandingResource(root=str(tmp_path))
    with dg.instance_for_test() as instance:
        recent = partitions.get_partition_keys(current_time=now)[-6:]
        eligible = [k for k in recent if now - partitions.time_window_for_partition_key(k).end >= timedelta(minutes=5)]
        done = eligible[::2]
        for key in done:
            instance.report_runless_asset_event(dg.AssetMaterialization("odds_snapshots", partition=key))
        requests = missed_partitions(partitions, instance, policy, landing, now)
        missing = [k for k in eligible if k not in done]
        assert [r.partition_key for r in requests] == missing
        assert all(r.run_key.endswith("attempt-1") for r in requests)

        # A failed run is retried under a new run key; a batch with a run in flight is left alone.
        failed, running = missing[0], missing[1]
        for key, status in ((failed, dg.DagsterRunStatus.FAILURE), (running, dg.DagsterRunStatus.STARTED)):
            instance.add_run(
                dg.DagsterRun(
                    job_name="scrape_batch", run_id=uuid.uuid4().hex, tags={"dagster/partition": key}, status=status
                )
            )
        again = {r.partition_key: r.run_key for r in missed_partitions(partitions, instance, policy, landing, now)}
        assert set(again) == set(missing) - {running}
        assert again[failed] == f"missed:{failed}:attempt-2"

        # A past window without a capture cannot be brought back: not requested.
        short = BatchPolicyResource(late_window_minutes=0, missed_lookback_windows=6)
        assert missed_partitions(partitions, instance, short, landing, now) == []
