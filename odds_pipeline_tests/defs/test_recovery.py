"""Dead runs are failed and their pool slots freed; a run waiting on a pool is told so, at INFO, in its own log."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.launcher import WorkerStatus

from odds_pipeline.defs.launcher import WatchedRunLauncher
from odds_pipeline.defs.recovery import (
    WORKER_HOST_TAG,
    WORKER_PID_TAG,
    WORKER_STARTED_TAG,
    recover_dead_runs,
    report_pool_waits,
    worker_gone,
    worker_tags,
)

POOL = "bookmaker_betpawa"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}) as test_instance:
        test_instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield test_instance


def _run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    run = dg.DagsterRun(job_name="scrape_batch", run_id=uuid.uuid4().hex, status=dg.DagsterRunStatus.STARTED, tags=tags)
    instance.add_run(run)
    return run


def _dead_worker() -> dict[str, str]:
    """Worker tags of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return {**worker_tags(), WORKER_PID_TAG: str(child.pid), WORKER_STARTED_TAG: ""}


def test_a_run_whose_worker_died_is_failed_and_gives_its_slots_back(instance: dg.DagsterInstance) -> None:
    dead = _run(instance, {"dagster/partition": "2026-11-23-10:00", **_dead_worker()})
    alive = _run(instance, {"dagster/partition": "2026-11-23-10:15", **worker_tags()})
    storage = instance.event_log_storage
    storage.claim_concurrency_slot(POOL, dead.run_id, "betpawa_batch")

    done = recover_dead_runs(instance)
    assert len(done) == 1 and dead.run_id in done[0] and "is gone" in done[0]
    assert instance.get_run_by_id(dead.run_id).status is dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status is dg.DagsterRunStatus.STARTED
    assert storage.get_concurrency_info(POOL).active_run_ids == set()


def test_a_pid_reused_by_another_process_is_not_the_worker() -> None:
    tags = {**worker_tags(), WORKER_STARTED_TAG: "1"}  # this process, but "started" at another time
    assert worker_gone(dg.DagsterRun(job_name="j", run_id="r", tags=tags)) is not None
    assert worker_gone(dg.DagsterRun(job_name="j", run_id="r", tags=worker_tags())) is None
    elsewhere = {**worker_tags(), WORKER_HOST_TAG: "another-host"}
    assert worker_gone(dg.DagsterRun(job_name="j", run_id="r", tags=elsewhere)) is None  # cannot tell from here


def test_run_monitoring_sees_a_dead_worker_through_the_launcher() -> None:
    launcher = WatchedRunLauncher()
    assert launcher.supports_check_run_worker_health
    dead = dg.DagsterRun(job_name="j", run_id="r", tags=_dead_worker())
    assert launcher.check_run_worker_health(dead).status is WorkerStatus.FAILED
    alive = dg.DagsterRun(job_name="j", run_id="r", tags=worker_tags())
    assert launcher.check_run_worker_health(alive).status is WorkerStatus.RUNNING


def test_a_run_waiting_on_a_pool_is_told_once_at_info(instance: dg.DagsterInstance) -> None:
    holder = _run(instance, worker_tags())
    waiter = _run(instance, worker_tags())
    storage = instance.event_log_storage
    storage.claim_concurrency_slot(POOL, holder.run_id, "betpawa_batch")
    storage.claim_concurrency_slot(POOL, waiter.run_id, "betpawa_batch")
    told: set[str] = set()
    assert [w.run_id for w in report_pool_waits(instance, told)] == [waiter.run_id]
    assert report_pool_waits(instance, told) == []  # once
    lines = [e for e in instance.all_logs(waiter.run_id) if "waits for pool" in e.message]
    assert len(lines) == 1 and lines[0].level == logging.INFO
    assert holder.run_id in lines[0].message and POOL in lines[0].message
