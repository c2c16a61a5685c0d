"""Asset checks per ScrapeBatch (partition-aware): they query PostgreSQL for that batch only.

Row-count checks are blocking with ERROR severity: downstream assets do not run on a broken
batch. An empty book is an ERROR too, but not blocking, so one book that is down does not stop
the others.
"""

import statistics
from collections.abc import Callable
from functools import partial
from typing import Any

import dagster as dg
from sqlalchemy import select
from sqlalchemy.orm import Session

from odds_pipeline.domain import COMPETITORS, Book, RunStatus
from odds_pipeline.storage import batches, reports
from odds_pipeline.storage.landing import CaptureMissingError
from odds_pipeline.storage.models import (
    ScrapeBatch,
    ScrapeRun,
)

TRAILING_BATCHES = 8
BAND = (0.5, 1.5)  # counts outside [0.5, 1.5] times the trailing median are suspicious
MARGIN_BAND = (0.0, 0.30)  # the median margin of a book's 1X2 lines must sit in this band


def reported(context: dg.AssetCheckExecutionContext, asset: str, key: str = "dagster/row_count") -> Any:
    """What the asset's latest materialization of this partition reported."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[context.partition_key]), limit=1
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(key)
    return None if value is None else value.value


Measure = Callable[[Session, ScrapeBatch], dg.AssetCheckResult]


def on_batch(context: dg.AssetCheckExecutionContext, measure: Measure) -> dg.AssetCheckResult:
    """Run ``measure`` on the partition's scrape_batches row; a batch without one fails the check."""
    with context.resources.database.session() as session:
        batch = batches.batch_for(session, context.partition_key)
        if batch is None:
            return dg.AssetCheckResult(
                passed=False, metadata={"reason": f"no scrape_batches row for {context.partition_key}"}
            )
        return measure(session, batch)


def rows_match_report_check(
    asset: str, what: str, count: Callable[[Session, ScrapeBatch], int], partitions: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="rows_match_report",
        description=f"The batch's {what} in PostgreSQL equal the count the asset reported.",
        blocking=True,
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def rows_match_report(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        def measure(session: Session, batch: ScrapeBatch) -> dg.AssetCheckResult:
            stored, claimed = count(session, batch), reported(context, asset)
            return dg.AssetCheckResult(
                passed=claimed is not None and stored == claimed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"rows_in_database": stored, "rows_reported": claimed if claimed is not None else -1},
            )

        return on_batch(context, measure)

    return rows_match_report


def competitor_share_check(
    asset: str,
    name: str,
    metric: str,
    minimum_of: Callable[[Any], float],
    description: str,
    partitions: dg.PartitionsDefinition,
) -> dg.AssetChecksDefinition:
    """WARN when a share the asset reported per competitor (``<book>_<metric>``) is under the policy's minimum."""

    @dg.asset_check(
        asset=asset,
        name=name,
        description=description,
        partitions_def=partitions,
        required_resource_keys={"policy"},
    )
    def share_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        minimum = minimum_of(context.resources.policy)
        shares = {book.value: reported(context, asset, f"{book.value}_{metric}") for book in COMPETITORS}
        return dg.AssetCheckResult(
            passed=all(share is not None and share >= minimum for share in shares.values()),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **{f"{book}_{metric}": share if share is not None else -1 for book, share in shares.items()},
                "minimum": minimum,
            },
        )

    return share_check


def palimpsest_checks(book: Book, partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    asset = f"{book.value}_palimpsest"
    events = partial(reports.delivered_events, book=book)

    @dg.asset_check(
        asset=asset,
        name="not_empty",
        description="The book delivered events this batch. Fails when it was down or answered with nothing.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def not_empty(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        def measure(session: Session, batch: ScrapeBatch) -> dg.AssetCheckResult:
            stored = events(session, batch)
            return dg.AssetCheckResult(passed=stored > 0, metadata={"events": stored})

        return on_batch(context, measure)

    @dg.asset_check(
        asset=asset,
        name="within_trailing_median",
        description=f"The event count sits within {BAND[0]}-{BAND[1]} times the median of the last "
        f"{TRAILING_BATCHES} batches: catches 'few rows and no error'.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def within_trailing_median(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        def measure(session: Session, batch: ScrapeBatch) -> dg.AssetCheckResult:
            stored = events(session, batch)
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
                return dg.AssetCheckResult(
                    passed=True, metadata={"events": stored, "note": "fewer than 3 earlier batches"}
                )
            median = statistics.median(earlier)
            ratio = stored / median if median else 0.0
            return dg.AssetCheckResult(
                passed=BAND[0] <= ratio <= BAND[1],
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"events": stored, "trailing_median": median, "ratio": round(ratio, 3)},
            )

        return on_batch(context, measure)

    rows = rows_match_report_check(asset, "events of this book", events, partitions)
    return [rows, not_empty, within_trailing_median]


def raw_capture_check(book: Book, partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"{book.value}_raw_capture",
        name="capture_intact",
        description="The batch's latest raw capture exists and matches the sha256 of its manifest.",
        blocking=True,
        partitions_def=partitions,
        required_resource_keys={"landing"},
    )
    def capture_intact(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        try:
            manifest, responses = context.resources.landing.store().latest(context.partition_key, book)
        except CaptureMissingError as problem:
            return dg.AssetCheckResult(passed=False, metadata={"problem": str(problem)})
        return dg.AssetCheckResult(
            passed=len(responses) == manifest.responses,
            metadata={"responses": len(responses), "sha256": manifest.sha256, "file": manifest.file},
        )

    return capture_intact


def odds_snapshot_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset="odds_snapshots",
        name="every_event_has_its_snapshot",
        description="Every event scraped this batch has a snapshot written or confirmed by this batch.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def every_event_has_its_snapshot(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        def measure(session: Session, batch: ScrapeBatch) -> dg.AssetCheckResult:
            missing = {book.value: reports.events_without_snapshot(session, batch, book) for book in Book}
            metadata = {f"{b}_missing": n for b, n in missing.items()}
            return dg.AssetCheckResult(passed=not any(missing.values()), metadata=metadata)

        return on_batch(context, measure)

    @dg.asset_check(
        asset="odds_snapshots",
        name="odds_are_sane",
        description=f"No stored price is 1.0 or below, and each book's median margin on 1X2 and Over/Under lines "
        f"lies in {MARGIN_BAND[0]:.0%}-{MARGIN_BAND[1]:.0%}.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def odds_are_sane(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        def measure(session: Session, batch: ScrapeBatch) -> dg.AssetCheckResult:
            impossible = reports.impossible_prices(session, batch.id)
            medians = reports.median_margins(session, batch.id)
            in_band = all(MARGIN_BAND[0] <= m <= MARGIN_BAND[1] for m in medians.values())
            return dg.AssetCheckResult(
                passed=impossible == 0 and in_band,
                metadata={
                    "impossible_prices": impossible,
                    **{f"{b}_median_margin": round(m, 4) for b, m in medians.items()},
                },
            )

        return on_batch(context, measure)

    return [
        rows_match_report_check("odds_snapshots", "market rows", reports.market_rows, partitions),
        every_event_has_its_snapshot,
        competitor_share_check(
            "odds_snapshots",
            "mapping_coverage",
            "coverage",
            lambda policy: policy.min_mapping_coverage,
            "The share of each competitor's market lines mapped onto BetPawa's catalogue is above the threshold.",
            partitions,
        ),
        odds_are_sane,
    ]


def build_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    checks: list[dg.AssetChecksDefinition] = []
    for book in Book:
        checks.append(raw_capture_check(book, partitions))
        checks.extend(palimpsest_checks(book, partitions))
    checks.append(
        competitor_share_check(
            "matched_events",
            "match_rate",
            "match_rate",
            lambda policy: policy.min_match_rate,
            "The share of each competitor's events linked to a BetPawa event is above the threshold.",
            partitions,
        )
    )
    checks.extend(odds_snapshot_checks(partitions))
    return checks
