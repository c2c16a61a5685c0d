"""Batch bookkeeping: one scrape_batches row per partition, one scrape_runs row per book, the errors.

Every function is an upsert keyed by the partition and the book, so re-running a partition
reuses its rows instead of adding new ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.domain import BatchStatus, BatchTrigger, Book, RunStatus
from odds_pipeline.storage.models import Bookmaker, ScrapeBatch, ScrapeError, ScrapeRun


def bookmaker_ids(session: Session) -> dict[Book, int]:
    return {slug: id_ for id_, slug in session.execute(select(Bookmaker.id, Bookmaker.slug))}


def ensure_batch(
    session: Session,
    partition_key: str,
    window_start: datetime,
    window_end: datetime,
    *,
    trigger: BatchTrigger | None = None,
    dagster_run_id: str | None = None,
) -> ScrapeBatch:
    values = {
        "partition_key": partition_key,
        "window_start": window_start,
        "window_end": window_end,
        "status": BatchStatus.RUNNING,
        "trigger": trigger,
        "dagster_run_id": dagster_run_id,
    }
    update = {k: v for k, v in values.items() if k != "partition_key" and v is not None}
    update["completed_at"] = None
    statement = insert(ScrapeBatch).values(values)
    statement = statement.on_conflict_do_update(index_elements=["partition_key"], set_=update)
    batch_id = session.execute(statement.returning(ScrapeBatch.id)).scalar_one()
    return session.get_one(ScrapeBatch, batch_id, populate_existing=True)


def batch_for(session: Session, partition_key: str) -> ScrapeBatch | None:
    return session.scalar(select(ScrapeBatch).where(ScrapeBatch.partition_key == partition_key))


def ensure_run(session: Session, batch: ScrapeBatch, book: Book) -> ScrapeRun:
    """The book's run of the batch, reset to running."""
    bookmaker_id = bookmaker_ids(session)[book]
    statement = insert(ScrapeRun).values(
        batch_id=batch.id, bookmaker_id=bookmaker_id, status=RunStatus.RUNNING, trigger=batch.trigger
    )
    statement = statement.on_conflict_do_update(
        index_elements=["batch_id", "bookmaker_id"],
        set_={"status": RunStatus.RUNNING, "started_at": datetime.now(UTC), "completed_at": None},
    )
    run_id = session.execute(statement.returning(ScrapeRun.id)).scalar_one()
    return session.get_one(ScrapeRun, run_id, populate_existing=True)


def run_for(session: Session, batch: ScrapeBatch, book: Book) -> ScrapeRun | None:
    bookmaker_id = bookmaker_ids(session)[book]
    return session.scalar(
        select(ScrapeRun).where(ScrapeRun.batch_id == batch.id, ScrapeRun.bookmaker_id == bookmaker_id)
    )


def record_errors(session: Session, run: ScrapeRun, errors: Iterable[BookmakerError], stage: str) -> int:
    """Replace the run's errors of one stage (fetch, parse) with these: a re-run does not pile them up."""
    session.execute(
        delete(ScrapeError).where(ScrapeError.scrape_run_id == run.id, ScrapeError.context["stage"].astext == stage)
    )
    rows = [
        {
            "scrape_run_id": run.id,
            "bookmaker_id": run.bookmaker_id,
            "external_ref": (error.ref or "")[:200] or None,
            "error_type": error.error_type,
            "error_message": str(error),
            "context": {"stage": stage, **{k: str(v) for k, v in error.context.items()}},
        }
        for error in errors
    ]
    if rows:
        session.execute(insert(ScrapeError).values(rows))
    return len(rows)


def finish_run(session: Session, run: ScrapeRun, *, scraped: int, failed: int, down: bool) -> RunStatus:
    if down:
        status = RunStatus.FAILED
    elif failed:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.COMPLETED
    run.status, run.events_scraped, run.events_failed = status, scraped, failed
    run.completed_at = datetime.now(UTC)
    return status


def settle_batch(session: Session, batch: ScrapeBatch, *, expected_books: int = len(Book)) -> BatchStatus:
    """completed when every book completed, failed when none delivered, partial otherwise."""
    statuses = list(session.scalars(select(ScrapeRun.status).where(ScrapeRun.batch_id == batch.id)))
    if len(statuses) == expected_books and all(s is RunStatus.COMPLETED for s in statuses):
        status = BatchStatus.COMPLETED
    elif statuses and all(s in (RunStatus.FAILED, RunStatus.CONNECTION_FAILED) for s in statuses):
        status = BatchStatus.FAILED
    else:
        status = BatchStatus.PARTIAL
    batch.status = status
    batch.completed_at = datetime.now(UTC)
    return status


def mark_batch_failed(
    session: Session, partition_key: str, window_start: datetime, window_end: datetime, note: str
) -> ScrapeBatch:
    """Record a failed run on its batch, creating the row if the run failed before it could."""
    batch = batch_for(session, partition_key) or ensure_batch(session, partition_key, window_start, window_end)
    batch.status = BatchStatus.FAILED
    batch.notes = note[:2000]
    batch.completed_at = datetime.now(UTC)
    return batch
