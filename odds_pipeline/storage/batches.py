"""Batch bookkeeping: one scrape_batches row per partition, one scrape_runs row per book, the errors.

Every function is an upsert keyed by the partition and the book, so re-running a partition
reuses its rows instead of adding new ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, case, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.domain import BatchStatus, BatchTrigger, Book, EventScrapeOutcome, RunStatus
from odds_pipeline.storage.models import Bookmaker, EventScrapeStatus, ScrapeBatch, ScrapeError, ScrapeRun


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


LOSS_TOLERANCE = 0.02  # a book that lost more than this share of its listed events is partial


def finish_capture(session: Session, run: ScrapeRun, *, down: bool) -> RunStatus:
    """After the capture: a book that was down has failed; otherwise its run waits for its events to be stored."""
    run.status = RunStatus.CONNECTION_FAILED if down else RunStatus.RUNNING
    if down:
        run.completed_at = datetime.now(UTC)
    return run.status


def settle_run(session: Session, run: ScrapeRun, *, listed: int, stored: int, lost: int, down: bool) -> RunStatus:
    """The book's part of the batch, from what was stored: nothing stored is failed; more than 2% lost is partial."""
    if down:
        status = RunStatus.CONNECTION_FAILED
    elif stored == 0:
        status = RunStatus.FAILED
    elif listed and lost / listed > LOSS_TOLERANCE:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.COMPLETED
    run.status, run.events_scraped, run.events_failed = status, stored, lost
    run.completed_at = datetime.now(UTC)
    return status


SETTLED = {RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CONNECTION_FAILED}
FAILED_RUNS = {RunStatus.FAILED, RunStatus.CONNECTION_FAILED}


def settle_batch(session: Session, batch: ScrapeBatch, *, expected_books: int = len(Book)) -> BatchStatus:
    """The batch's status follows from its runs: running while one runs, completed when every book
    completed, failed when none delivered, partial otherwise."""
    session.flush()
    statuses = list(session.scalars(select(ScrapeRun.status).where(ScrapeRun.batch_id == batch.id)))
    if len(statuses) < expected_books or any(s not in SETTLED for s in statuses):
        status = BatchStatus.RUNNING
    elif all(s is RunStatus.COMPLETED for s in statuses):
        status = BatchStatus.COMPLETED
    elif all(s in FAILED_RUNS for s in statuses):
        status = BatchStatus.FAILED
    else:
        status = BatchStatus.PARTIAL
    batch.status = status
    batch.completed_at = None if status is BatchStatus.RUNNING else datetime.now(UTC)
    return status


@dataclass(frozen=True)
class EventStatusRow:
    """One book's part of one event's row: delivered, or failed with the reason."""

    key: str
    sportradar_id: str | None
    failure: str | None
    timing_ms: float | None


def record_event_status(session: Session, batch: ScrapeBatch, book: Book, rows: list[EventStatusRow]) -> None:
    """Replace the book's part of the batch's event_scrape_status rows with this attempt's.

    A re-run of the batch replaces what the book's earlier attempt said, instead of adding to it;
    the other books' parts are left as they are, and each row's status follows from all parts.
    """
    name = book.value
    table = EventScrapeStatus.__table__.c
    session.execute(
        update(EventScrapeStatus)
        .where(EventScrapeStatus.batch_id == batch.id, table.platforms_requested.op("?")(name))
        .values(
            platforms_requested=table.platforms_requested.op("-")(name),
            platforms_scraped=table.platforms_scraped.op("-")(name),
            platforms_failed=table.platforms_failed.op("-")(name),
            platform_timings=func.coalesce(table.platform_timings, _EMPTY).op("-")(name),
            error_details=func.coalesce(table.error_details, _EMPTY).op("-")(name),
        )
    )
    session.execute(
        delete(EventScrapeStatus).where(
            EventScrapeStatus.batch_id == batch.id, func.jsonb_array_length(table.platforms_requested) == 0
        )
    )
    values = {}
    for row in rows:
        ok = row.failure is None
        values[row.key] = {
            "batch_id": batch.id,
            "event_key": row.key,
            "sportradar_id": row.sportradar_id,
            "status": EventScrapeOutcome.COMPLETED if ok else EventScrapeOutcome.FAILED,
            "platforms_requested": [name],
            "platforms_scraped": [name] if ok else [],
            "platforms_failed": [] if ok else [name],
            "platform_timings": {} if row.timing_ms is None else {name: round(row.timing_ms)},
            "error_details": {} if ok else {name: row.failure[:500]},
        }
    if values:
        statement = insert(EventScrapeStatus)  # rows as parameters: compiled once (see writers)
        excluded = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["batch_id", "event_key"],
                set_={
                    "sportradar_id": func.coalesce(table.sportradar_id, excluded.sportradar_id),
                    "platforms_requested": table.platforms_requested.op("||")(excluded.platforms_requested),
                    "platforms_scraped": table.platforms_scraped.op("||")(excluded.platforms_scraped),
                    "platforms_failed": table.platforms_failed.op("||")(excluded.platforms_failed),
                    "platform_timings": func.coalesce(table.platform_timings, _EMPTY).op("||")(
                        excluded.platform_timings
                    ),
                    "error_details": func.coalesce(table.error_details, _EMPTY).op("||")(excluded.error_details),
                },
            ),
            [values[k] for k in sorted(values)],
        )
    scraped, failed = table.platforms_scraped, table.platforms_failed
    slowest = (
        select(func.max(cast(text("value"), Integer)))
        .select_from(func.jsonb_each_text(table.platform_timings))
        .scalar_subquery()
    )
    session.execute(
        update(EventScrapeStatus)
        .where(EventScrapeStatus.batch_id == batch.id)
        .values(
            status=case(
                (func.jsonb_array_length(failed) == 0, EventScrapeOutcome.COMPLETED.value),
                (func.jsonb_array_length(scraped) == 0, EventScrapeOutcome.FAILED.value),
                else_=EventScrapeOutcome.PARTIAL.value,
            ),
            timing_ms=slowest,
        )
    )


_EMPTY = text("'{}'::jsonb")


def mark_batch_failed(
    session: Session,
    partition_key: str,
    window_start: datetime,
    window_end: datetime,
    note: str,
    *,
    trigger: BatchTrigger | None = None,
    dagster_run_id: str | None = None,
) -> ScrapeBatch:
    """Record a failed run on its batch, creating the row if the run failed before it could.

    Books whose part was still running when the run failed have failed with it.
    """
    batch = batch_for(session, partition_key) or ensure_batch(
        session, partition_key, window_start, window_end, trigger=trigger, dagster_run_id=dagster_run_id
    )
    session.execute(
        update(ScrapeRun)
        .where(ScrapeRun.batch_id == batch.id, ScrapeRun.status.not_in(list(SETTLED)))
        .values(status=RunStatus.FAILED, completed_at=datetime.now(UTC))
    )
    batch.status = BatchStatus.FAILED
    batch.notes = note[:2000]
    batch.completed_at = datetime.now(UTC)
    return batch
