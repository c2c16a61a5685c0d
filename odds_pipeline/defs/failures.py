"""Why a run failed, in the words of the errors its steps raised, and what that does to its batch."""

from collections.abc import Mapping

import dagster as dg
from sqlalchemy.orm import Session

from odds_pipeline.defs.assets import trigger_of
from odds_pipeline.storage import batches


def failure_messages(events: list[dg.DagsterEvent]) -> list[str]:
    """Why each failed step failed, in the words of the error it raised."""
    messages = []
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            text = data.user_failure_data.description
        else:
            text = data.error.message.strip() if data.error else event.message or "failed"
        messages.append(f"{event.step_key}: {text}")
    return messages


def record_failed_run(
    session: Session,
    partitions: dg.TimeWindowPartitionsDefinition,
    run_id: str,
    tags: Mapping[str, str],
    reasons: list[str],
) -> str | None:
    """Mark the batch of a failed run failed, with why: the batch job's runs and backfills alike.

    Returns the partition key, or None for a run that belongs to no batch.
    """
    key = tags.get("dagster/partition")
    if not key or not partitions.has_partition_key(key):
        return None
    window = partitions.time_window_for_partition_key(key)
    note = f"run {run_id}: {'; '.join(reasons) or 'the run failed'}"
    batches.mark_batch_failed(
        session, key, window.start, window.end, note, trigger=trigger_of(tags), dagster_run_id=run_id
    )
    return key
