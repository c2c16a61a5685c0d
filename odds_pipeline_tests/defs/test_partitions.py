"""The partition range starts where this install could first scrape, not months before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odds_pipeline.defs.partitions import FIRST_PARTITION_FILE, batch_partitions
from odds_pipeline.settings import Settings


def _settings(var_dir: Path, **update: object) -> Settings:
    return Settings().model_copy(update={"var_dir": var_dir, **update})


def test_a_fresh_install_starts_at_the_oldest_window_it_can_still_scrape(tmp_path: Path) -> None:
    installed = datetime(2026, 11, 23, 10, 7, tzinfo=UTC)
    keys = batch_partitions(_settings(tmp_path), now=installed).get_partition_keys(current_time=installed)
    # 60 minutes of late window before the window in progress: four windows, all still doable.
    assert keys == ["2026-11-23-09:00", "2026-11-23-09:15", "2026-11-23-09:30", "2026-11-23-09:45"]
    assert (tmp_path / FIRST_PARTITION_FILE).read_text().strip() == "2026-11-23-09:00"

    a_week_later = installed + timedelta(days=7)
    later = batch_partitions(_settings(tmp_path), now=a_week_later).get_partition_keys(current_time=a_week_later)
    assert later[0] == "2026-11-23-09:00", "the start is recorded once, not moved every day"
    assert len(later) == 4 + 7 * 96


def test_a_configured_start_wins_and_a_bad_one_is_named(tmp_path: Path) -> None:
    settings = _settings(tmp_path, partitions_start="2026-11-20-06:00")
    assert batch_partitions(settings).get_partition_keys()[0] == "2026-11-20-06:00"
    assert not (tmp_path / FIRST_PARTITION_FILE).exists()
    with pytest.raises(ValueError, match="ODDS_PIPELINE_PARTITIONS_START: '20-11-2026' is not a partition key"):
        batch_partitions(_settings(tmp_path, partitions_start="20-11-2026"))
