"""The Dagster code location: `dagster dev -w workspace.yaml` and `make ui` load `defs` from here."""

from __future__ import annotations

import warnings

import dagster as dg

from odds_pipeline.defs.assets import batch_freshness, build_assets
from odds_pipeline.defs.automation import (
    batch_failure_sensor,
    batch_job,
    batch_schedule,
    missed_batches_sensor,
    pool_waits_sensor,
    stale_asset_alerts_sensor,
)
from odds_pipeline.defs.comparison import comparison_assets
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.defs.resources import resources_from_settings
from odds_pipeline.defs.retention import retention_job, retention_schedule
from odds_pipeline.defs.step_server import STEP_PRELOAD
from odds_pipeline.settings import Settings

# Partitioned asset checks are "preview" in 1.13; they are what per-batch checks need.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = batch_partitions(settings)
    job = batch_job()
    freshness = batch_freshness(settings.batch_minutes)
    assets = [*build_assets(partitions, freshness), comparison_assets(partitions, freshness)]
    watched = [spec.key for asset in assets for spec in asset.specs if spec.freshness_policy is not None]
    return dg.Definitions(
        assets=assets,
        jobs=[job, retention_job],
        schedules=[batch_schedule(job), retention_schedule],
        sensors=[
            missed_batches_sensor(partitions, job),
            batch_failure_sensor(partitions),
            pool_waits_sensor(),
            stale_asset_alerts_sensor(watched),
        ],
        resources=resources_from_settings(settings),
        # Steps in forked workers of a server that has the project, and what a step process needs
        # of Dagster, imported once (`defs/step_worker.py`): a step starts in a fraction of a second
        # instead of re-importing them each time.
        executor=dg.multiprocess_executor.configured(
            {
                "max_concurrent": 4,
                "start_method": {"forkserver": {"preload_modules": STEP_PRELOAD}},
            }
        ),
    )


defs = build_definitions(Settings())
