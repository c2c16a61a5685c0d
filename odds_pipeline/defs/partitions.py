"""One time-window partition per scrape batch, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from odds_pipeline.settings import Settings

PARTITION_FORMAT = "%Y-%m-%d-%H:%M"


def batch_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    minutes = settings.batch_minutes
    if minutes <= 0 or 60 % minutes:
        raise ValueError(f"ODDS_PIPELINE_BATCH_MINUTES must divide an hour, not {minutes}")
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=f"*/{minutes} * * * *" if minutes < 60 else "0 * * * *",
        start=datetime.strptime(settings.partitions_start, PARTITION_FORMAT).replace(tzinfo=UTC),
        fmt=PARTITION_FORMAT,
        timezone="UTC",
    )
