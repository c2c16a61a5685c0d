"""One time-window partition per scrape batch, in UTC, from the first window this install could scrape."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from odds_pipeline.domain import floor_to_window
from odds_pipeline.settings import Settings

PARTITION_FORMAT = "%Y-%m-%d-%H:%M"
FIRST_PARTITION_FILE = "first_partition"


def batch_partitions(settings: Settings, now: datetime | None = None) -> dg.TimeWindowPartitionsDefinition:
    minutes = settings.batch_minutes
    if minutes <= 0 or 60 % minutes:
        raise ValueError(f"ODDS_PIPELINE_BATCH_MINUTES must divide an hour, not {minutes}")
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=f"*/{minutes} * * * *" if minutes < 60 else "0 * * * *",
        start=first_partition(settings, now),
        fmt=PARTITION_FORMAT,
        timezone="UTC",
    )


def first_partition(settings: Settings, now: datetime | None = None) -> datetime:
    """The configured start, else the one this install recorded the first time it was asked.

    Bookmakers serve live odds only, so windows from before the install can never be scraped: a
    partition range starting months back would show thousands of partitions that can never fill.
    The recorded start is the earliest window still inside the late window at that moment.
    """
    if settings.partitions_start:
        return _parse(settings.partitions_start, "ODDS_PIPELINE_PARTITIONS_START")
    marker = settings.var_dir / FIRST_PARTITION_FILE
    if marker.exists():
        return _parse(marker.read_text().strip(), str(marker))
    now = now or datetime.now(UTC)
    window = floor_to_window(now, timedelta(minutes=settings.batch_minutes))
    start = window - timedelta(minutes=settings.late_window_minutes)
    return _record(marker, start)


def _record(marker: Path, start: datetime) -> datetime:
    """Write the start once: the first process to link its file in wins, the others read it."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    draft = marker.with_name(f"{marker.name}.{os.getpid()}")
    draft.write_text(start.strftime(PARTITION_FORMAT) + "\n")
    try:
        os.link(draft, marker)
    except FileExistsError:
        return _parse(marker.read_text().strip(), str(marker))
    finally:
        draft.unlink()
    return start


def _parse(text: str, where: str) -> datetime:
    try:
        return datetime.strptime(text, PARTITION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a partition key like 2026-11-23-10:15 (UTC)") from None
