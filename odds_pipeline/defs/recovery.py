"""Runs whose worker died are failed, and their pool slots freed, without a person; waits on a pool are told.

A run killed with -9 never reports its end: Dagster keeps it STARTED, and its steps keep their
``bookmaker_*`` pool slots, so every later batch waits on the pool. A run's worker is known to be
gone when:

- the run was started by ``odds-pipeline run`` (its tags name the host, the process and when it
  started) and that process no longer exists on this host;
- the run was launched on a code server that answers, and the server no longer runs it.

``recover_dead_runs`` fails such runs and frees their slots: ``odds-pipeline run`` calls it before
each batch, and the instance's run monitoring calls ``worker_gone`` through ``WatchedRunLauncher``
(``defs/launcher.py``), so ``make ui`` and a deployment heal themselves too.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

WORKER_HOST_TAG = "odds_pipeline/worker_host"
WORKER_PID_TAG = "odds_pipeline/worker_pid"
WORKER_STARTED_TAG = "odds_pipeline/worker_started"  # the process's start time, against pid reuse
GRPC_INFO_TAG = "dagster/grpc_info"  # where Dagster's DefaultRunLauncher launched the run
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _process_start(pid: int) -> str | None:
    """The start time of a process, in clock ticks since boot (Linux), or None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime, counted after "pid (name)"


def worker_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this one is still running the run."""
    pid = os.getpid()
    return {
        WORKER_HOST_TAG: socket.gethostname(),
        WORKER_PID_TAG: str(pid),
        WORKER_STARTED_TAG: _process_start(pid) or "",
    }


def _process_gone(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return bool(started) and _process_start(pid) != started  # the pid now names another process


def _code_server_runs(grpc_info: str) -> set[str] | None:
    """The runs a code server is executing now, or None when it cannot be asked."""
    # Dagster's own client of its code servers, as its DefaultRunLauncher uses it to cancel a run.
    from dagster import deserialize_value
    from dagster._grpc.client import DagsterGrpcClient
    from dagster._grpc.types import GetCurrentRunsResult

    try:
        info = json.loads(grpc_info)
        client = DagsterGrpcClient(
            port=info.get("port"),
            socket=info.get("socket"),
            host=info.get("host"),
            use_ssl=bool(info.get("use_ssl", False)),
        )
        answer = deserialize_value(client.get_current_runs(), GetCurrentRunsResult)
    except Exception:  # any failure to ask means "cannot tell"
        return None
    return set(answer.current_runs)


def worker_gone(run: dg.DagsterRun) -> str | None:
    """Why the run's worker is known to be gone, or None when it runs or nobody can tell."""
    tags = run.tags
    if tags.get(WORKER_HOST_TAG) == socket.gethostname() and tags.get(WORKER_PID_TAG, "").isdigit():
        pid = int(tags[WORKER_PID_TAG])
        if _process_gone(pid, tags.get(WORKER_STARTED_TAG)):
            return f"its worker, process {pid} on {tags[WORKER_HOST_TAG]}, is gone"
        return None
    if GRPC_INFO_TAG in tags:
        running = _code_server_runs(tags[GRPC_INFO_TAG])
        if running is not None and run.run_id not in running:
            return "its code server no longer runs it"
    return None


def recover_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail every in-progress run whose worker is gone and free its pool slots; says what it did."""
    done = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        reason = worker_gone(run)
        if reason is None:
            continue
        instance.report_run_failed(run, f"Run {run.run_id} failed: {reason}.")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        batch = run.tags.get("dagster/partition", run.job_name)
        done.append(f"run {run.run_id} (batch {batch}) failed: {reason}; its pool slots are free again")
    return done


@dataclass(frozen=True)
class PoolWait:
    run_id: str
    step_key: str
    pool: str
    since: datetime
    holders: tuple[str, ...]  # runs holding the pool's slots

    def message(self) -> str:
        waited = (datetime.now(UTC) - self.since).total_seconds()
        held = ", ".join(self.holders) or "nobody yet"
        return f"step {self.step_key} waits for pool {self.pool} ({waited:.0f} s), held by run {held}"


def pool_waits(instance: dg.DagsterInstance, prefix: str = "bookmaker_") -> list[PoolWait]:
    """Steps waiting for a slot of a pool named ``prefix...``, with the runs holding the pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    waits = []
    for pool in sorted(k for k in storage.get_concurrency_keys() if k.startswith(prefix)):
        info = storage.get_concurrency_info(pool)
        holders = tuple(sorted(info.active_run_ids))
        for step in info.pending_steps:
            if step.assigned_timestamp is None:
                since = step.enqueued_timestamp
                since = since if since.tzinfo else since.replace(tzinfo=UTC)
                waits.append(PoolWait(step.run_id, step.step_key, pool, since, holders))
    return waits


def report_pool_waits(instance: dg.DagsterInstance, already: set[str]) -> list[PoolWait]:
    """Write an INFO line into each waiting run's own log, once per step and holder; returns the new waits."""
    new = []
    for wait in pool_waits(instance):
        key = f"{wait.run_id}:{wait.step_key}:{','.join(wait.holders)}"
        if key in already:
            continue
        run = instance.get_run_by_id(wait.run_id)
        if run is None or run.is_finished:
            continue
        instance.report_engine_event(f"Batch waits: {wait.message()}.", run, step_key=wait.step_key)
        already.add(key)
        new.append(wait)
    return new
