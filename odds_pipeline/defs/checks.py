"""The checks of every batch, per ScrapeBatch (partition): declared beside the assets they judge and
computed by the step that made the asset, from what that step wrote and what PostgreSQL now holds.

A check that compares a count compares the database with the step's own result, never with metadata
read back from the instance. Row-count checks block (ERROR): downstream assets do not run on a
broken batch. An empty book is an ERROR too, but does not block, so one book that is down does not
stop the others.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session

from odds_pipeline.batch import MatchSummary, OddsSummary, PalimpsestSummary
from odds_pipeline.defs.resources import BatchPolicyResource
from odds_pipeline.domain import COMPETITORS, Book, RunStatus
from odds_pipeline.storage import batches, reports
from odds_pipeline.storage.landing import CaptureManifest, LandingStore
from odds_pipeline.storage.models import ScrapeBatch, ScrapeRun

TRAILING_BATCHES = 8
BAND = (0.5, 1.5)  # counts outside [0.5, 1.5] times the trailing median are suspicious
MARGIN_BAND = (0.0, 0.30)  # the median margin of a book's 1X2 and Over/Under lines must sit in this band

Spec = Callable[[dg.PartitionsDefinition], dg.AssetCheckSpec]


def _spec(asset: str, name: str, description: str, *, blocking: bool = False) -> Spec:
    return lambda partitions: dg.AssetCheckSpec(
        name, asset=asset, description=description, blocking=blocking, partitions_def=partitions
    )


def _result(asset: str, name: str, passed: bool, severity: dg.AssetCheckSeverity, **metadata: object):
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(asset), check_name=name, passed=passed, severity=severity, metadata=metadata
    )


ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


# --- raw capture -----------------------------------------------------------------------------


def raw_capture_specs(book: Book, partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    asset = f"{book.value}_raw_capture"
    description = "The capture the step landed is on disk, byte for byte the one its manifest's sha256 names."
    return [_spec(asset, "capture_intact", description, blocking=True)(partitions)]


def capture_intact(store: LandingStore, key: str, book: Book, manifest: CaptureManifest) -> dg.AssetCheckResult:
    found = store.sha256_of(key, book, manifest)
    return _result(
        f"{book.value}_raw_capture",
        "capture_intact",
        found == manifest.sha256,
        ERROR,
        file=manifest.file,
        responses=manifest.responses,
        sha256=manifest.sha256,
        sha256_on_disk=found or "missing",
    )


# --- palimpsest ------------------------------------------------------------------------------


def palimpsest_specs(book: Book, partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    asset = f"{book.value}_palimpsest"
    return [
        _spec(asset, "rows_match_report", "The batch's events of this book in PostgreSQL equal those the step stored.",
              blocking=True)(partitions),
        _spec(asset, "not_empty", "The book delivered events this batch. Fails when it was down or sent nothing.")(
            partitions),
        _spec(asset, "within_trailing_median",
              f"The event count sits within {BAND[0]}-{BAND[1]} times the median of the last {TRAILING_BATCHES} "
              "batches: catches 'few rows and no error'.")(partitions),
    ]  # fmt: skip


def palimpsest_results(
    session: Session, batch: ScrapeBatch, book: Book, summary: PalimpsestSummary
) -> list[dg.AssetCheckResult]:
    asset = f"{book.value}_palimpsest"
    stored = reports.delivered_events(session, batch, book)
    return [
        _result(asset, "rows_match_report", stored == summary.events, ERROR,
                rows_in_database=stored, rows_stored_by_step=summary.events),
        _result(asset, "not_empty", stored > 0, ERROR, events=stored),
        _within_trailing_median(session, batch, book, stored),
    ]  # fmt: skip


def _within_trailing_median(session: Session, batch: ScrapeBatch, book: Book, stored: int) -> dg.AssetCheckResult:
    asset = f"{book.value}_palimpsest"
    earlier = list(
        session.scalars(
            select(ScrapeRun.events_scraped)
            .join(ScrapeBatch, ScrapeBatch.id == ScrapeRun.batch_id)
            .where(
                ScrapeRun.bookmaker_id == batches.bookmaker_ids(session)[book],
                ScrapeBatch.window_start < batch.window_start,
                ScrapeRun.status.in_([RunStatus.COMPLETED, RunStatus.PARTIAL]),
            )
            .order_by(ScrapeBatch.window_start.desc())
            .limit(TRAILING_BATCHES)
        )
    )
    if len(earlier) < 3:
        return _result(asset, "within_trailing_median", True, WARN, events=stored, note="fewer than 3 earlier batches")
    median = statistics.median(earlier)
    ratio = stored / median if median else 0.0
    return _result(
        asset, "within_trailing_median", BAND[0] <= ratio <= BAND[1], WARN,
        events=stored, trailing_median=median, ratio=round(ratio, 3),
    )  # fmt: skip


# --- odds snapshots ----------------------------------------------------------------------------


def odds_specs(book: Book, partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    asset = f"{book.value}_odds_snapshots"
    specs = [
        _spec(asset, "rows_match_report", "The batch's market rows of this book in PostgreSQL equal those the step "
              "wrote.", blocking=True),
        _spec(asset, "every_event_has_its_snapshot", "Every event of this book stored this batch has a snapshot "
              "written or confirmed by this batch."),
        _spec(asset, "odds_are_sane", f"On the lines the book offers after this batch (the current state of the "
              f"events it saw): some lines, no price of 1.0 or below, and the median margin of 1X2 and Over/Under "
              f"lines in {MARGIN_BAND[0]:.0%}-{MARGIN_BAND[1]:.0%}."),
    ]  # fmt: skip
    if book is not Book.BETPAWA:
        specs.append(_spec(asset, "mapping_coverage", "The share of this book's market lines mapped onto BetPawa's "
                           "catalogue is above the policy's minimum."))  # fmt: skip
    return [spec(partitions) for spec in specs]


def odds_results(
    session: Session,
    batch: ScrapeBatch,
    book: Book,
    summary: OddsSummary,
    live: reports.LiveState,
    policy: BatchPolicyResource,
) -> list[dg.AssetCheckResult]:
    asset = f"{book.value}_odds_snapshots"
    rows = reports.market_rows(session, batch, book)
    missing = reports.events_without_snapshot(session, batch, book)
    impossible, margin = live.impossible_prices, live.median_margin
    # Judged on the state the batch leaves, not on the few lines it changed: a quiet batch is
    # measured on everything it saw.
    sane = impossible == 0 and (margin is None or MARGIN_BAND[0] <= margin <= MARGIN_BAND[1])
    results = [
        _result(asset, "rows_match_report", rows == summary.market_rows, ERROR,
                rows_in_database=rows, rows_written_by_step=summary.market_rows),
        _result(asset, "every_event_has_its_snapshot", missing == 0, ERROR, events_without_snapshot=missing),
        _result(asset, "odds_are_sane", sane, ERROR, impossible_prices=impossible, **live.figures()),
    ]  # fmt: skip
    if book is not Book.BETPAWA:
        results.append(
            _result(asset, "mapping_coverage", summary.coverage >= policy.min_coverage, WARN,
                    coverage=round(summary.coverage, 4), minimum=policy.min_coverage)
        )  # fmt: skip
    return results


# --- matched events ----------------------------------------------------------------------------


def matched_specs(partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    description = "The share of each competitor's events linked to a BetPawa event is above the policy's minimum."
    return [_spec("matched_events", "match_rate", description)(partitions)]


def matched_results(summary: MatchSummary, policy: BatchPolicyResource) -> list[dg.AssetCheckResult]:
    rates = {book.value: round(summary.match_rate(book), 4) for book in COMPETITORS}
    passed = all(rate >= policy.min_match_rate for rate in rates.values())
    metadata = {f"{book}_match_rate": rate for book, rate in rates.items()}
    return [_result("matched_events", "match_rate", passed, WARN, **metadata, minimum=policy.min_match_rate)]


def blocked(results: list[dg.AssetCheckResult], specs: list[dg.AssetCheckSpec]) -> list[str]:
    """The blocking checks among ``results`` that failed: the step must not go on to the next asset."""
    blocking = {(spec.asset_key, spec.name) for spec in specs if spec.blocking}
    return [
        f"{r.asset_key.to_user_string()}.{r.check_name}"
        for r in results
        if not r.passed and (r.asset_key, r.check_name) in blocking
    ]
