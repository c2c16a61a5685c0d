"""kill -9 of a running batch, then the next batch: it runs without help, and the killed one can be redone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from odds_pipeline.defs.automation import missed_partitions
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.defs.resources import BatchPolicyResource, LandingResource
from odds_pipeline.domain import Book
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import Scale, WorldConfig
from odds_pipeline.settings import Settings
from odds_pipeline.storage.database import EmbeddedServer, drop_database, ensure_database

POOLS = [f"bookmaker_{book.value}" for book in Book]


def _cli(key: str) -> list[str]:
    return [sys.executable, "-m", "odds_pipeline.cli", "run", "--partition", key]


def _wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_batch_is_failed_and_its_pools_freed_by_the_next(
    pg_server: EmbeddedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_url = pg_server.url(f"odds_crash_{uuid.uuid4().hex[:8]}")
    dagster_url = pg_server.url(f"dagster_crash_{uuid.uuid4().hex[:8]}")
    for url in (app_url, dagster_url):
        ensure_database(url)
    var_dir = tmp_path / "var"
    world = WorldConfig(seed=3, scale=Scale.TINY, follow_wall_clock=False)
    # Slow answers, so that the first batch is surely holding the bookmaker pools when it is killed.
    with RunningSandbox(SandboxOptions(world=world, latency_ms=1500)) as sandbox:
        env = {
            **os.environ,
            "ODDS_PIPELINE_VAR_DIR": str(var_dir),
            "DATABASE_URL": app_url.render_as_string(hide_password=False),
            "DAGSTER_DATABASE_URL": dagster_url.render_as_string(hide_password=False),
            **{f"ODDS_PIPELINE_{book.value.upper()}_URL": sandbox.url for book in Book},
        }
        keys = batch_partitions(Settings()).get_partition_keys()[-2:]
        first = subprocess.Popen(
            _cli(keys[0]), env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            # The instance the CLI made, seen from here.
            monkeypatch.setenv("ODDS_PIPELINE_DAGSTER_PG_URL", env["DAGSTER_DATABASE_URL"])
            home = var_dir / "dagster_home"
            _wait_for(lambda: (home / "dagster.yaml").exists(), 60, "the CLI to set up DAGSTER_HOME")
            with dg.DagsterInstance.from_config(str(home)) as instance:

                def holding() -> str | None:
                    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": keys[0]}))
                    storage = instance.event_log_storage
                    held = {run for pool in POOLS for run in storage.get_concurrency_info(pool).active_run_ids}
                    return next((run.run_id for run in runs if run.run_id in held), None)

                run_id = _wait_for(holding, 90, "the first batch to hold a bookmaker pool")
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(10)
                assert instance.get_run_by_id(run_id).status is dg.DagsterRunStatus.STARTED
                assert holding() == run_id  # dead, yet still holding the pools: what used to block everything

                second = subprocess.run(_cli(keys[1]), env=env, capture_output=True, text=True, timeout=240)
                assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
                assert f"recovered: run {run_id}" in second.stdout
                killed = instance.get_run_by_id(run_id)
                assert killed.status is dg.DagsterRunStatus.FAILURE
                assert holding() is None

                # The killed batch is no longer "in flight": the missed-batch sensor asks for it again.
                policy = BatchPolicyResource(
                    late_window_minutes=60, missed_lookback=4, min_match_rate=0.5, min_coverage=0.35
                )
                landing = LandingResource(root=str(var_dir / "landing"))
                partitions = batch_partitions(Settings())
                now = datetime.now(UTC)
                requested = [r.partition_key for r in missed_partitions(partitions, instance, policy, landing, now)]
                assert keys[0] in requested and keys[1] not in requested
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
    for url in (app_url, dagster_url):
        drop_database(url)
