"""The daily retention job: delete what is older than its horizon (resources.RetentionResource),
and report what went, as rows and bytes, in the run's page."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from odds_pipeline.storage import retention
from odds_pipeline.storage.retention import Deleted

RETENTION_CRON = "30 3 * * *"  # 03:30 UTC, when the fewest matches are priced
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def prune_dagster(instance: dg.DagsterInstance, older_than: datetime, keep_run: str, deleted: Deleted) -> None:
    """Finished runs created before the cutoff (their event logs go with them), and older ticks."""
    records = instance.get_run_records(
        dg.RunsFilter(created_before=older_than, statuses=FINISHED), order_by="create_timestamp"
    )
    runs = [record.dagster_run.run_id for record in records if record.dagster_run.run_id != keep_run]
    events = 0
    for run_id in runs:
        events += len(instance.all_logs(run_id))
        instance.delete_run(run_id)
    deleted.add("dagster runs", len(runs), 0)
    deleted.add("dagster run events", events, 0)
    before = older_than.timestamp()
    ticks = 0
    for state in instance.all_instigator_state():
        ticks += len(instance.get_ticks(state.instigator_origin_id, state.selector_id, before=before))
        instance.purge_ticks(state.instigator_origin_id, state.selector_id, before=before)
    deleted.add("dagster ticks", ticks, 0)


@dg.op(
    required_resource_keys={"database", "landing", "retention"},
    out=dg.Out(dg.Nothing),
    description="Delete odds history, finished events, raw captures and Dagster runs and ticks older than their "
    "horizons; report what went, as rows and bytes.",
)
def apply_retention(context: dg.OpExecutionContext) -> dg.Output:
    horizons = context.resources.retention
    now = datetime.now(UTC)
    deleted = Deleted()
    with context.resources.database.session() as session:
        retention.prune_finished_events(session, now - timedelta(days=horizons.events_days), deleted)
    with context.resources.database.session() as session:
        retention.prune_history(session, now - timedelta(days=horizons.history_days), deleted)
    days = horizons.captures_days
    files, size = context.resources.landing.store().prune(now - timedelta(days=days), days)
    deleted.add("raw captures (files)", files, size)
    prune_dagster(context.instance, now - timedelta(days=horizons.dagster_days), context.run_id, deleted)
    parts = [f"{what} {rows:,}" for what, rows in sorted(deleted.rows.items()) if rows]
    total_mb = sum(deleted.bytes.values()) / 1e6
    what = ", ".join(parts) or "nothing was old enough"
    context.log.info(f"Retention deleted {sum(deleted.rows.values()):,} rows ({total_mb:.1f} MB): {what}")
    return dg.Output(None, metadata=_metadata(deleted, horizons))


def _metadata(deleted: Deleted, horizons: Any) -> dict[str, Any]:
    lines = ["| what | rows | bytes |", "|---|---:|---:|"]
    lines += [f"| {what} | {rows:,} | {deleted.bytes[what]:,} |" for what, rows in sorted(deleted.rows.items())]
    return {
        "deleted": dg.MetadataValue.md("\n".join(lines)),
        "rows_deleted": sum(deleted.rows.values()),
        "bytes_deleted": sum(deleted.bytes.values()),
        "horizons_days": {
            "history": horizons.history_days,
            "events": horizons.events_days,
            "captures": horizons.captures_days,
            "dagster": horizons.dagster_days,
        },
    }


@dg.job(
    name="retention", description="Daily: keep the database, the landing store and Dagster's storage to their horizons."
)
def retention_job() -> None:
    apply_retention()


retention_schedule = dg.ScheduleDefinition(
    name="retention_daily",
    job=retention_job,
    cron_schedule=RETENTION_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
