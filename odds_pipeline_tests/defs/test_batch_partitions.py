"""Batch partitions materialized end to end: the sandbox, the real PostgreSQL, a temporary Dagster instance."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from odds_pipeline.defs.automation import missed_partitions
from odds_pipeline.defs.failures import failure_messages
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.defs.resources import AlertResource, BatchPolicyResource, LandingResource
from odds_pipeline.domain import BatchStatus, BatchTrigger, Book, EventScrapeOutcome
from odds_pipeline.sandbox.world import Scale
from odds_pipeline.storage.database import EmbeddedServer
from odds_pipeline.storage.models import (
    CompetitorEvent,
    Event,
    EventScrapeStatus,
    ScrapeError,
)
from odds_pipeline_tests.defs.harness import Pipeline, checks_of, figures, latest_key, pipeline_on


@pytest.fixture(scope="module")
def pipeline(pg_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with pipeline_on(pg_server, tmp_path_factory.mktemp("var"), Scale.TINY) as running:
        yield running


def sandbox_pairs(url: str) -> dict[Book, set[tuple[str, str]]]:
    """(competitor event id, BetPawa event id) of every match listed on both, per the sandbox."""
    matches = httpx.get(f"{url}/__sandbox/truth", timeout=30).json()["matches"]
    return {
        book: {(m[book.value], m["betpawa"]) for m in matches if m["sportradar_id"] and m[book.value] and m["betpawa"]}
        for book in (Book.SPORTYBET, Book.BET9JA)
    }


def sandbox_competitor_only(url: str) -> set[tuple[str, tuple[str, ...]]]:
    """(SportRadar id, the competitors listing it) of every match BetPawa does not list, per the sandbox."""
    matches = httpx.get(f"{url}/__sandbox/truth", timeout=30).json()["matches"]
    competitors = sorted(book.value for book in (Book.SPORTYBET, Book.BET9JA))
    return {
        (m["sportradar_id"], tuple(book for book in competitors if m[book]))
        for m in matches
        if m["sportradar_id"] and not m["betpawa"] and any(m[book] for book in competitors)
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


COMPARISONS = ["price_comparison", "margin_scorecard", "coverage_gaps", "price_movers", "availability_alerts"]


def test_definitions_load_and_describe_themselves(pipeline: Pipeline):
    defs = pipeline.defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        *(f"{b.value}_{asset}" for b in Book for asset in ("raw_capture", "palimpsest", "odds_snapshots")),
        "matched_events",
        *COMPARISONS,
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and node.owners and node.kinds and node.partitions_def is not None
        assert "dagster/column_schema" in node.metadata

    def parents(asset: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(asset)).parent_keys}

    # The lineage follows the data: capture → palimpsest → stored odds per book; matching across books.
    for book in Book:
        assert parents(f"{book.value}_palimpsest") == {f"{book.value}_raw_capture"}
        assert parents(f"{book.value}_odds_snapshots") == {f"{book.value}_palimpsest"}
    assert parents("matched_events") == {f"{b.value}_palimpsest" for b in Book}
    # ... and the comparisons follow the stored odds of every book and the matching.
    for asset in COMPARISONS:
        assert parents(asset) == {f"{b.value}_odds_snapshots" for b in Book} | {"matched_events"}
    # One step per book captures, parses each answer once as it lands, and makes all three.
    job = defs.resolve_job_def("scrape_batch")
    assert set(job.graph.node_names()) == {f"{b.value}_batch" for b in Book} | {"matched_events", "compare_batch"}
    assert defs.resolve_schedule_def("scrape_batch_schedule").cron_schedule == "*/15 * * * *"
    sensors = {"missed_batches", "record_batch_failure", "batches_waiting_on_pools", "stale_asset_alerts"}
    assert {s.name for s in defs.sensors} == sensors
    check_keys = graph.asset_check_keys
    assert len(check_keys) == 3 + 3 * 3 + 3 * 3 + 2 + 1 + 4
    assert all(graph.get_check_spec(k).partitions_def is not None for k in check_keys)


def test_a_batch_runs_end_to_end_and_again_without_new_rows(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    truth_before = sandbox_pairs(pipeline.sandbox.url)
    only_before = sandbox_competitor_only(pipeline.sandbox.url)
    first = pipeline.run(key)
    truth_after = sandbox_pairs(pipeline.sandbox.url)
    only_after = sandbox_competitor_only(pipeline.sandbox.url)
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert all(checks_of(first).values()), checks_of(first)
    counts = pipeline.counts()
    assert counts["events"] >= 15 and counts["market_odds"] > 1_000
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

    # Coverage gaps name exactly the sandbox's competitor-only matches, with the books that list them.
    with Session(pipeline.engine) as session:
        gaps = session.execute(
            text("SELECT sportradar_id, books FROM coverage_gaps WHERE kind = 'competitor_only_event'")
        ).all()
    only = {(sportradar_id, tuple(books)) for sportradar_id, books in gaps if sportradar_id}
    assert only and only_before & only_after <= only <= only_before | only_after
    compared = figures(first, "price_comparison")
    assert compared["dagster/row_count"] > 0 and 0 <= compared["best_price_share"] <= 1

    again = pipeline.run(key)
    assert again.success and all(checks_of(again).values())
    assert pipeline.counts() == counts
    for book in Book:
        odds = f"{book.value}_odds_snapshots"
        assert figures(again, odds)["dagster/row_count"] == figures(first, odds)["dagster/row_count"] > 0
        observed = figures(first, odds)
        assert observed["events_observed"] == observed["snapshots"] + observed["unchanged_events"] > 0
        assert observed["lines_observed"] > 0


def test_a_write_the_database_loses_fails_its_check_and_blocks_the_odds(pipeline: Pipeline):
    """The checks compare PostgreSQL with what the step itself wrote: here the database drops every
    BetPawa event status it is given, as a broken constraint or trigger might, and the step's own
    count says otherwise."""
    key = latest_key(pipeline.settings)
    betpawa_id = pipeline.bookmaker_id(Book.BETPAWA)
    with Session(pipeline.engine) as session, session.begin():
        session.execute(text(LOSE_BETPAWA_STATUS.format(betpawa=betpawa_id)))
    try:
        result = pipeline.run(key)
    finally:
        with Session(pipeline.engine) as session, session.begin():
            session.execute(text("DROP TRIGGER lose_betpawa_status ON event_scrape_status"))
    checks = checks_of(result)
    assert checks["betpawa_palimpsest.rows_match_report"] is False
    assert checks["betpawa_palimpsest.not_empty"] is False
    assert checks["betpawa_raw_capture.capture_intact"] is True
    # A blocking check failed: BetPawa's odds were not stored, and matching did not run on the batch.
    materialized = {e.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "betpawa_odds_snapshots" not in materialized and "matched_events" not in materialized
    assert {"sportybet_odds_snapshots", "bet9ja_odds_snapshots"} <= materialized  # the other books went on
    assert checks["sportybet_odds_snapshots.rows_match_report"] is True
    assert not result.success
    assert pipeline.run(key).success  # once the database keeps what it is given, the batch is whole again


def test_the_step_audits_the_committed_comparison_and_names_a_false_price(pipeline: Pipeline):
    """The comparison step commits, then audits the stored rows on connections of its own: a
    SportyBet price that is not SportyBet's live one fails the check, with SportyBet named."""
    key = latest_key(pipeline.settings)
    with Session(pipeline.engine) as session, session.begin():
        session.execute(text(SHIFT_SPORTYBET_PRICES))
    try:
        result = pipeline.run(key)
    finally:
        with Session(pipeline.engine) as session, session.begin():
            session.execute(text("DROP TRIGGER shift_sportybet_prices ON price_comparison"))
    audit = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_suspended_or_vanished_line_compared"
    )
    counts = {name: value.value for name, value in audit.metadata.items()}
    assert audit.passed is False and counts["sportybet"] > 0 and counts["betpawa"] == counts["bet9ja"] == 0, counts
    assert checks_of(pipeline.run(key))["price_comparison.no_suspended_or_vanished_line_compared"] is True


SHIFT_SPORTYBET_PRICES = """
CREATE OR REPLACE FUNCTION shift_sportybet_prices() RETURNS trigger AS $$
BEGIN
    NEW.sportybet_odds := NEW.sportybet_odds + 0.01;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER shift_sportybet_prices BEFORE INSERT ON price_comparison
FOR EACH ROW EXECUTE FUNCTION shift_sportybet_prices();
"""


# Drops BetPawa's event status rows on their way in (platforms_scraped holds the books that delivered).
LOSE_BETPAWA_STATUS = """
CREATE OR REPLACE FUNCTION lose_betpawa_status() RETURNS trigger AS $$
BEGIN
    IF NEW.platforms_scraped ? 'betpawa' THEN
        NEW.platforms_scraped := NEW.platforms_scraped - 'betpawa';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER lose_betpawa_status BEFORE INSERT OR UPDATE ON event_scrape_status
FOR EACH ROW EXECUTE FUNCTION lose_betpawa_status();
"""


def test_a_book_that_is_down_gives_a_partial_batch_and_every_lost_event_is_named(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    faults = f"{pipeline.sandbox.url}/__sandbox/faults"
    # SportyBet is down; Bet9ja's full events come back broken 7 times in 10, so retries save most
    # but not all; one BetPawa event in ten renamed a field.
    spec = "sportybet.down=1,bet9ja.event.malformed=0.7,betpawa.drift=0.1"
    httpx.post(faults, params={"spec": spec}, timeout=10).raise_for_status()
    try:
        result = pipeline.run(key)
    finally:
        httpx.post(faults, params={"spec": ""}, timeout=10).raise_for_status()
    assert result.success
    checks = checks_of(result)
    assert checks["sportybet_palimpsest.not_empty"] is False
    assert checks["betpawa_palimpsest.not_empty"] and checks["bet9ja_palimpsest.not_empty"]
    assert figures(result, "sportybet_raw_capture")["run_status"] == "connection_failed"
    assert figures(result, "matched_events")["sportybet_match_rate"] == 0  # a book that delivered nothing
    odds = figures(result, "bet9ja_odds_snapshots")
    assert odds["snapshots"] + odds["unchanged_events"] > 0  # the other books went on
    assert pipeline.batch(key).status is BatchStatus.PARTIAL
    bet9ja = figures(result, "bet9ja_palimpsest")
    assert 0 < bet9ja["lost"] < bet9ja["listed"] and bet9ja["run_status"] == "partial"
    with Session(pipeline.engine) as session:
        errors = session.scalars(select(ScrapeError.error_type)).all()
        batch_id = pipeline.batch(key).id
        statuses = session.execute(
            select(EventScrapeStatus.status, EventScrapeStatus.platforms_failed, EventScrapeStatus.error_details).where(
                EventScrapeStatus.batch_id == batch_id
            )
        ).all()
    assert {"BookmakerUnavailableError", "MalformedResponseError", "MissingFieldError"} <= set(errors)
    # Every event a book lost is failed on that book, with the reason it was lost.
    for book, reason in ((Book.BET9JA, "MalformedResponseError"), (Book.BETPAWA, "MissingFieldError")):
        failed = [(status, details) for status, failed, details in statuses if book.value in failed]
        assert failed, book
        assert all(status in (EventScrapeOutcome.PARTIAL, EventScrapeOutcome.FAILED) for status, _ in failed)
        assert all(details[book.value].startswith(reason) for _, details in failed), book
    assert sum(1 for _, failed, _ in statuses if "bet9ja" in failed) == bet9ja["lost"]


def test_a_backfill_rederives_from_the_landing_store(pipeline: Pipeline):
    key = latest_key(pipeline.settings)
    assert pipeline.run(key).success
    counts = pipeline.counts()
    # Past the late window (0 minutes here), the raw capture is re-read instead of scraped again.
    result = pipeline.run(key, tags={"dagster/backfill": "test"}, late_window_minutes=0)
    assert result.success
    assert figures(result, "betpawa_raw_capture")["source"] == "landing store"
    assert pipeline.counts() == counts
    # Stored again, so in its place by capture time; the first run was the newest batch.
    assert figures(result, "betpawa_odds_snapshots")["stored_late"] is True
    assert figures(result, "betpawa_odds_snapshots")["later_observations_rewritten"] == 0
    assert pipeline.batch(key).trigger is BatchTrigger.BACKFILL


def test_an_old_batch_without_a_capture_fails_clearly(pipeline: Pipeline, alert_receiver):
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
        resources={"database": defs.resources["database"], "alerts": AlertResource(url=alert_receiver.url)},
    ) as context:
        sensor(context.for_run_failure())
    batch = pipeline.batch(old)
    assert batch.status is BatchStatus.FAILED and "cannot be fetched again" in batch.notes
    (alert,) = alert_receiver.bodies
    assert (alert["kind"], alert["details"]["partition"]) == ("batch_failed", old)
    assert "cannot be fetched again" in alert["text"]


def test_the_missed_batch_sensor_requests_exactly_the_missing_batches(pipeline: Pipeline, tmp_path: Path):
    settings = pipeline.settings
    partitions = batch_partitions(settings)
    now = datetime.now(UTC)
    policy = BatchPolicyResource(late_window_minutes=120, missed_lookback=6, min_match_rate=0.5, min_coverage=0.35)
    landing = LandingResource(root=str(tmp_path))
    with dg.instance_for_test() as instance:
        recent = partitions.get_partition_keys(current_time=now)[-6:]
        eligible = [k for k in recent if now - partitions.time_window_for_partition_key(k).end >= timedelta(minutes=5)]
        done = eligible[::2]
        for key in done:
            for book in Book:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(f"{book.value}_odds_snapshots", partition=key)
                )
        # A batch with only some books' odds stored is not done.
        instance.report_runless_asset_event(dg.AssetMaterialization("betpawa_odds_snapshots", partition=eligible[1]))
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

        # A past window without a capture cannot be brought back. A window never tried gets one run
        # (under a run key of its own, so only once), which fails saying why; the others are left.
        short = BatchPolicyResource(late_window_minutes=0, missed_lookback=6, min_match_rate=0.5, min_coverage=0.35)
        expired = missed_partitions(partitions, instance, short, landing, now)
        untried = [k for k in missing if k not in (failed, running)]
        assert [(r.partition_key, r.run_key) for r in expired] == [(k, f"expired:{k}") for k in untried]
