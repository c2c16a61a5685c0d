"""Dagster's DefaultRunLauncher, with a worker health check, so run monitoring notices a killed run.

The instance (dagster.yaml) names this launcher. Run monitoring asks it about every started run;
a run whose worker is gone (``recovery.worker_gone``) is failed by Dagster itself, and the slots
its steps held are freed after ``free_slots_after_run_end_seconds``.
"""

from __future__ import annotations

import dagster as dg

# The health-check types of Dagster's launcher interface, as its own launchers use them.
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

from odds_pipeline.defs.recovery import worker_gone


class WatchedRunLauncher(dg.DefaultRunLauncher):
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        reason = worker_gone(run)
        if reason is not None:
            return CheckRunHealthResult(WorkerStatus.FAILED, reason)
        return CheckRunHealthResult(WorkerStatus.RUNNING)
