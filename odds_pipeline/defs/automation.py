"""The batch job, its schedule, the missed-batch sensor and the run-failure sensor."""

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from odds_pipeline.defs.assets import STALE_FAIL_WINDOWS
from odds_pipeline.defs.failures import failure_messages, record_failed_run
from odds_pipeline.defs.recovery import report_pool_waits
from odds_pipeline.defs.resources import AlertResource, BatchPolicyResource, DatabaseResource, LandingResource
from odds_pipeline.domain import Book

if TYPE_CHECKING:  # define_asset_job's result type is not exported by dagster
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

BATCH_JOB = "scrape_batch"
IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}
MAX_TOLD = 500  # waits remembered in the pool sensor's cursor, so each is told once
SCHEDULE_GRACE = timedelta(minutes=5)  # the schedule's own run of the newest window gets this long to start


def batch_job() -> "UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        BATCH_JOB,
        selection=dg.AssetSelection.all(),
        description="One scrape batch: every book's palimpsest, matched and stored, with its checks.",
        tags={"odds_pipeline/job": "batch"},
    )


def batch_schedule(job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    return dg.build_schedule_from_partitioned_job(
        job, name="scrape_batch_schedule", default_status=dg.DefaultScheduleStatus.RUNNING
    )


def missed_partitions(
    partitions: dg.TimeWindowPartitionsDefinition,
    instance: dg.DagsterInstance,
    policy: BatchPolicyResource,
    landing: LandingResource,
    now: datetime,
) -> list[dg.RunRequest]:
    """Recent batches with no stored snapshots and no run in flight, that can still be done.

    A window that passed the late window without a capture can never be done: it gets one run,
    which fails at once saying why. Its partition then shows as failed, with the reason, in the UI
    (and in scrape_batches, and as an alert), instead of staying "missing" and offered for backfill.
    """
    keys = partitions.get_partition_keys(current_time=now)[-policy.missed_lookback :]
    # A batch is done once every book's odds are stored.
    done = set.intersection(
        *(set(instance.get_materialized_partitions(dg.AssetKey(f"{book.value}_odds_snapshots"))) for book in Book)
    )
    store = landing.store()
    requests = []
    for key in keys:
        window_end = partitions.time_window_for_partition_key(key).end
        if key in done or now - window_end < SCHEDULE_GRACE:
            continue
        # Any job's run counts: a backfill from the UI runs as Dagster's asset job, not as the batch job.
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": key}))
        if any(run.status in IN_FLIGHT for run in runs):
            continue
        scrapable = now - window_end <= timedelta(minutes=policy.late_window_minutes)
        if not scrapable and not all(store.manifests(key, book) for book in Book):
            if not runs:  # never tried: one run marks it, and the run key keeps it to one
                requests.append(dg.RunRequest(partition_key=key, run_key=f"expired:{key}"))
            continue
        # The attempt number keeps a retry of a failed batch from being swallowed as a duplicate run key.
        requests.append(dg.RunRequest(partition_key=key, run_key=f"missed:{key}:attempt-{len(runs) + 1}"))
    return requests


def missed_batches_sensor(
    partitions: dg.TimeWindowPartitionsDefinition, job: "UnresolvedAssetJobDefinition"
) -> dg.SensorDefinition:
    @dg.sensor(
        name="missed_batches",
        job=job,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests runs for recent batches that are missing or failed and can still be done, and one "
        "run for a window that passed the late window without a capture, which marks it failed with the reason.",
    )
    def missed_batches(
        context: dg.SensorEvaluationContext, policy: BatchPolicyResource, landing: LandingResource
    ) -> dg.SensorResult | dg.SkipReason:
        requests = missed_partitions(partitions, context.instance, policy, landing, datetime.now(UTC))
        if not requests:
            return dg.SkipReason("every recent batch is stored or in flight")
        return dg.SensorResult(run_requests=requests)

    return missed_batches


def batch_failure_sensor(partitions: dg.TimeWindowPartitionsDefinition) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="record_batch_failure",
        monitor_all_code_locations=False,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks the batch of any failed run, the batch job's or a backfill's, as failed, with why.",
    )
    def record_batch_failure(
        context: dg.RunFailureSensorContext, database: DatabaseResource, alerts: AlertResource
    ) -> None:
        run = context.dagster_run
        reasons = failure_messages(context.get_step_failure_events())
        if not reasons and context.failure_event.message:
            reasons = [context.failure_event.message]
        with database.session() as session:
            key = record_failed_run(session, partitions, run.run_id, run.tags, reasons)
        if key:
            context.log.info(f"batch {key} marked failed: {'; '.join(reasons)}")
            alerts.send(
                "batch_failed",
                f"batch {key}",
                f"Batch {key} failed: {'; '.join(reasons) or 'no reason recorded'}",
                {"partition": key, "run_id": run.run_id, "reasons": reasons},
            )

    return record_batch_failure


def stale_asset_alerts_sensor(watched: list[dg.AssetKey]) -> dg.SensorDefinition:
    @dg.sensor(
        name="stale_asset_alerts",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Sends an alert when an asset's freshness policy fails (no batch for {STALE_FAIL_WINDOWS} "
        "windows), once per time it goes stale.",
    )
    def stale_asset_alerts(context: dg.SensorEvaluationContext, alerts: AlertResource) -> dg.SkipReason:
        alerted = set(json.loads(context.cursor)) if context.cursor else set()
        records = context.instance.get_freshness_state_records(watched)
        failing = {key.to_user_string(): r for key, r in records.items() if r.freshness_state == "FAIL"}
        for name in sorted(set(failing) - alerted):
            since = failing[name].updated_at
            alerts.send(
                "asset_stale",
                name,
                f"{name} failed its freshness policy at {since:%Y-%m-%d %H:%M} UTC: no batch has landed for "
                f"{STALE_FAIL_WINDOWS} windows.",
                {"asset": name, "since": since.isoformat()},
            )
        context.update_cursor(json.dumps(sorted(failing)))  # one that recovers may alert again later
        return dg.SkipReason(f"stale: {', '.join(sorted(failing)) or 'none'}")

    return stale_asset_alerts


def pool_waits_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="batches_waiting_on_pools",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Writes into a batch's own log, at INFO, when one of its steps waits for a bookmaker "
        "pool, and which run holds the pool.",
    )
    def batches_waiting_on_pools(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        told = set(json.loads(context.cursor)) if context.cursor else set()
        new = report_pool_waits(context.instance, told)
        context.update_cursor(json.dumps(sorted(told)[-MAX_TOLD:]))
        for wait in new:
            context.log.info(f"run {wait.run_id}: {wait.message()}")
        return dg.SkipReason(f"{len(new)} new waits on a bookmaker pool reported" if new else "no batch waits")

    return batches_waiting_on_pools
