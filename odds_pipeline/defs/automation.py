"""The batch job, its schedule, the missed-batch sensor and the run-failure sensor."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from odds_pipeline.defs.failures import failure_messages
from odds_pipeline.defs.resources import BatchPolicyResource, DatabaseResource, LandingResource
from odds_pipeline.domain import Book
from odds_pipeline.storage import batches

if TYPE_CHECKING:  # define_asset_job's result type is not exported by dagster
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

BATCH_JOB = "scrape_batch"
IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}
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
    """Recent batches with no stored snapshots and no run in flight, that can still be done."""
    keys = partitions.get_partition_keys(current_time=now)[-policy.missed_lookback_windows :]
    done = instance.get_materialized_partitions(dg.AssetKey("odds_snapshots"))
    store = landing.store()
    requests = []
    for key in keys:
        window_end = partitions.time_window_for_partition_key(key).end
        if key in done or now - window_end < SCHEDULE_GRACE:
            continue
        scrapable = now - window_end <= timedelta(minutes=policy.late_window_minutes)
        if not scrapable and not all(store.manifests(key, book) for book in Book):
            continue  # past the late window without a capture: nothing can bring it back
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=BATCH_JOB, tags={"dagster/partition": key}))
        if any(run.status in IN_FLIGHT for run in runs):
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
        description="Requests runs for recent batches that are missing or failed and can still be done.",
    )
    def missed_batches(
        context: dg.SensorEvaluationContext, policy: BatchPolicyResource, landing: LandingResource
    ) -> dg.SensorResult | dg.SkipReason:
        requests = missed_partitions(partitions, context.instance, policy, landing, datetime.now(UTC))
        if not requests:
            return dg.SkipReason("every recent batch is stored or in flight")
        return dg.SensorResult(run_requests=requests)

    return missed_batches


def batch_failure_sensor(
    partitions: dg.TimeWindowPartitionsDefinition, job: "UnresolvedAssetJobDefinition"
) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="record_batch_failure",
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks the batch of a failed run as failed, with why it failed.",
    )
    def record_batch_failure(context: dg.RunFailureSensorContext, database: DatabaseResource) -> None:
        key = context.dagster_run.tags.get("dagster/partition")
        if not key:
            return
        steps = failure_messages(context.get_step_failure_events())
        note = "; ".join(steps) or context.failure_event.message or "the run failed"
        window = partitions.time_window_for_partition_key(key)
        with database.session() as session:
            batches.mark_batch_failed(
                session, key, window.start, window.end, f"run {context.dagster_run.run_id}: {note}"
            )

    return record_batch_failure
