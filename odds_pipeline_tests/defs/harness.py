"""A Dagster pipeline on the real PostgreSQL and a sandbox, for tests that run whole batches."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from odds_pipeline.definitions import build_definitions
from odds_pipeline.defs.partitions import batch_partitions
from odds_pipeline.domain import Book
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import Scale, WorldConfig
from odds_pipeline.settings import Settings
from odds_pipeline.storage import batches, migrations
from odds_pipeline.storage.database import EmbeddedServer, drop_database, ensure_database, make_engine
from odds_pipeline.storage.models import ScrapeBatch
from odds_pipeline_tests.tables import row_counts


@dataclasses.dataclass
class Pipeline:
    settings: Settings
    engine: Engine
    sandbox: RunningSandbox
    instance: dg.DagsterInstance

    def defs(self, **policy: int) -> dg.Definitions:
        return build_definitions(self.settings.model_copy(update=policy))

    def run(self, key: str, *, tags: dict[str, str] | None = None, **policy: int) -> dg.ExecuteInProcessResult:
        job = self.defs(**policy).resolve_job_def("scrape_batch")
        return job.execute_in_process(partition_key=key, instance=self.instance, raise_on_error=False, tags=tags)

    def counts(self) -> dict[str, int]:
        return row_counts(self.engine)

    def bookmaker_id(self, book: Book) -> int:
        with Session(self.engine) as session:
            return batches.bookmaker_ids(session)[book]

    def batch(self, key: str) -> ScrapeBatch:
        with Session(self.engine) as session:
            return session.scalar(select(ScrapeBatch).where(ScrapeBatch.partition_key == key))


@contextmanager
def pipeline_on(
    pg_server: EmbeddedServer, var_dir: Path, scale: Scale = Scale.DEMO, instance_overrides: dict | None = None
) -> Iterator[Pipeline]:
    """A fresh database, a sandbox world frozen in time, and a temporary Dagster instance."""
    url = pg_server.url(f"odds_dagster_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    migrations.upgrade(url)
    with (
        RunningSandbox(SandboxOptions(world=WorldConfig(seed=3, scale=scale, follow_wall_clock=False))) as sandbox,
        dg.instance_for_test(overrides=instance_overrides) as instance,
    ):
        settings = (
            Settings()
            .with_books_at(sandbox.url)
            .model_copy(
                update={
                    "var_dir": var_dir,
                    "landing_root": var_dir / "landing",
                    "database_url": url.render_as_string(hide_password=False),
                    # A day of windows, the oldest long past the late window: some tests need one.
                    "partitions_start": (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d-00:00"),
                }
            )
        )
        engine = make_engine(url)
        yield Pipeline(settings, engine, sandbox, instance)
        engine.dispose()
    drop_database(url)


def latest_key(settings: Settings) -> str:
    return batch_partitions(settings).get_last_partition_key()


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {f"{e.asset_key.to_user_string()}.{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}


def figures(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    for event in result.get_asset_materialization_events():
        if event.materialization.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")
