"""Run the project through Dagster from the command line: `make run` (one batch) and `make ui`.

Both prepare the same surroundings: the embedded PostgreSQL with the app's migrations applied,
Dagster's instance (DAGSTER_HOME under var/, storage in its own database), and, unless real
bookmaker URLs are configured, the sandbox on loopback.
"""

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from sqlalchemy.orm import Session

from odds_pipeline.defs.automation import BATCH_JOB
from odds_pipeline.defs.failures import failure_messages, record_failed_run
from odds_pipeline.defs.recovery import WORKER_PID_TAG, recover_dead_runs, report_pool_waits, worker_tags
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import WorldConfig
from odds_pipeline.settings import SANDBOX_PORT, SANDBOX_URL, Settings
from odds_pipeline.storage import batches, migrations
from odds_pipeline.storage.database import app_database_url, dagster_database_url, make_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_YAML = Path(__file__).with_name("instance.yaml")  # copied into DAGSTER_HOME as dagster.yaml


def uses_sandbox(settings: Settings) -> bool:
    return any(book_settings.url == SANDBOX_URL for book_settings in settings.books.values())


def sandbox_already_running() -> bool:
    """A sandbox someone started (`odds-pipeline sandbox serve`) is used as it is."""
    try:
        return httpx.get(f"{SANDBOX_URL}/__sandbox/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def surroundings(settings: Settings) -> Iterator[dict[str, str]]:
    """Database migrated, DAGSTER_HOME ready, the sandbox up if needed; yields the environment runs need."""
    migrations.upgrade(app_database_url(settings.database_url, settings.pgdata_dir))
    dagster_url = dagster_database_url(settings.dagster_database_url, settings.database_url, settings.pgdata_dir)
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "ODDS_PIPELINE_DAGSTER_PG_URL": dagster_url.render_as_string(hide_password=False),
        "ODDS_PIPELINE_VAR_DIR": str(settings.var_dir),
    }
    sandbox = (
        RunningSandbox(
            SandboxOptions(world=WorldConfig(seed=7), bet9ja_timezone=settings.bet9ja.startdate_tz), port=SANDBOX_PORT
        )
        if uses_sandbox(settings) and not sandbox_already_running()
        else nullcontext()
    )
    with sandbox:
        os.environ.update(env)
        yield env


def scrape_batch_job() -> dg.JobDefinition:
    from odds_pipeline.definitions import defs

    return defs.resolve_job_def(BATCH_JOB)


@dataclass
class BatchReport:
    partition_key: str
    success: bool
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[tuple[str, str, bool, str]] = field(default_factory=list)  # asset, check, passed, severity
    failures: list[str] = field(default_factory=list)
    batch_status: str | None = None

    def lines(self) -> list[str]:
        out = [f"batch {self.partition_key}: {'succeeded' if self.success else 'FAILED'}"]
        for book in Book:
            capture = self.figures.get(f"{book.value}_raw_capture", {})
            palimpsest = self.figures.get(f"{book.value}_palimpsest", {})
            odds = self.figures.get(f"{book.value}_odds_snapshots", {})
            out.append(
                f"  {book.display_name:<9} events {palimpsest.get('dagster/row_count', '-'):>5}   "
                f"responses {capture.get('responses', '-'):>5}   errors {capture.get('errors', '-')}   "
                f"market rows {odds.get('dagster/row_count', '-'):>6}   ({palimpsest.get('run_status', 'not run')})"
            )
        matched = self.figures.get("matched_events", {})
        for book in COMPETITORS:
            odds = self.figures.get(f"{book.value}_odds_snapshots", {})
            out.append(
                f"  matched   {book.display_name:<9} {matched.get(f'{book.value}_linked', '-'):>5} linked, "
                f"{matched.get(f'{book.value}_competitor_only', '-')} competitor-only "
                f"(rate {matched.get(f'{book.value}_match_rate', '-')}); "
                f"mapping coverage {odds.get('coverage', '-')}"
            )
        compared = self.figures.get("price_comparison")
        if compared:
            margins = ", ".join(
                f"{book.display_name} {_percent(compared.get(f'median_margin_{book.value}'))}" for book in Book
            )
            out.append(
                f"  BetPawa   best price on {_percent(compared.get('best_price_share'))} of "
                f"{compared.get('outcomes_compared', '-')} outcomes a competitor prices too, median gap "
                f"{_percent(compared.get('median_gap'), signed=True)} on {compared.get('matched_events', '-')} "
                f"matched events"
            )
            out.append(
                f"  margins   median on the {compared.get('margin_lines', '-')} lines all three price: {margins}"
            )
            movers = self.figures.get("price_movers", {})
            alerts = self.figures.get("availability_alerts", {})
            gaps = self.figures.get("coverage_gaps", {})
            out.append(
                f"  watch     {movers.get('left_behind', '-')} lines left behind, "
                f"{alerts.get('line_gone', '-')} gone and {alerts.get('line_suspended', '-')} suspended lines a "
                f"competitor prices, {gaps.get('competitor_only_events', '-')} competitor-only events"
            )
        out.append(f"  batch status: {self.batch_status or '-'}")
        passed = sum(1 for c in self.checks if c[2])
        out.append(f"  checks: {passed} passed, {len(self.checks) - passed} failed")
        out.extend(f"    FAILED {severity} {asset}.{check}" for asset, check, ok, severity in self.checks if not ok)
        out.extend(f"  step failed: {message}" for message in self.failures)
        return out


def _percent(value: Any, *, signed: bool = False) -> str:
    if not isinstance(value, int | float) or value != value:  # missing, or NaN: not measured
        return "-"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


POOL_WATCH_S = 10.0  # how often a waiting batch is told what it waits for


def run_latest_batch(settings: Settings, partition_key: str | None = None) -> BatchReport:
    """Materialize one batch partition (by default the latest complete window) on the real instance.

    Runs left behind by a killed process are failed first and their pool slots freed, so they
    cannot hold this batch up; while this batch waits for a bookmaker's pool, it says so.
    """
    from odds_pipeline.defs.partitions import batch_partitions
    from odds_pipeline.defs.step_server import start_step_server

    start_step_server()  # in the surroundings' environment, while the definitions load
    partitions = batch_partitions(settings)
    key = partition_key or partitions.get_last_partition_key()
    with dg.DagsterInstance.get() as instance:
        for line in recover_dead_runs(instance):
            print(f"recovered: {line}", flush=True)
        tags = {"dagster/partition": key, **worker_tags()}
        with watching_pools(instance, tags[WORKER_PID_TAG]):
            result = dg.execute_job(
                dg.reconstructable(scrape_batch_job),
                instance=instance,
                tags=tags,
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            )
        report = BatchReport(partition_key=key, success=result.success)
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            report.figures[materialization.asset_key.to_user_string()] = {
                k: v.value for k, v in materialization.metadata.items() if k != "dagster/column_schema"
            }
        for evaluation in result.get_asset_check_evaluations():
            report.checks.append(
                (
                    evaluation.asset_key.to_user_string(),
                    evaluation.check_name,
                    evaluation.passed,
                    evaluation.severity.value,
                )
            )
        report.failures = failure_messages(result.all_events)
    engine = make_engine(app_database_url(settings.database_url, settings.pgdata_dir))
    try:
        with Session(engine) as session, session.begin():
            if not result.success:
                # No daemon runs the failure sensor here: record the failure on the batch as it would.
                record_failed_run(session, partitions, result.run_id, tags, report.failures)
            scrape_batch = batches.batch_for(session, key)
            report.batch_status = scrape_batch.status.value if scrape_batch else None
    finally:
        engine.dispose()
    return report


@contextmanager
def watching_pools(instance: dg.DagsterInstance, pid: str) -> Iterator[None]:
    """While the block runs, print (and log into the run) every wait of this process's run on a pool."""
    stop = threading.Event()
    told: set[str] = set()

    def watch() -> None:
        while not stop.wait(POOL_WATCH_S):
            for wait in report_pool_waits(instance, told):
                run = instance.get_run_by_id(wait.run_id)
                if run is not None and run.tags.get(WORKER_PID_TAG) == pid:
                    print(f"waiting: {wait.message()}", flush=True)

    watcher = threading.Thread(target=watch, name="pool-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(POOL_WATCH_S)


def run_ui(env: dict[str, str]) -> int:
    command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")]
    return subprocess.run(command, env={**os.environ, **env}, cwd=PROJECT_ROOT).returncode
