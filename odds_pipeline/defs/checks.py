"""Asset checks per ScrapeBatch (partition-aware): they query PostgreSQL for that batch only.

Row-count checks are blocking with ERROR severity: downstream assets do not run on a broken
batch. An empty book is an ERROR too, but not blocking, so one book that is down does not stop
the others.
"""

import statistics
from typing import Any

import dagster as dg
from sqlalchemy import Float, cast, column, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from odds_pipeline.domain import COMPETITORS, Book, RunStatus
from odds_pipeline.markets import margins
from odds_pipeline.storage import batches
from odds_pipeline.storage.landing import CaptureMissingError
from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorMarketOdds,
    CompetitorOddsSnapshot,
    Event,
    EventScrapeStatus,
    MarketOdds,
    OddsSnapshot,
    ScrapeBatch,
    ScrapeRun,
)

TRAILING_BATCHES = 8
BAND = (0.5, 1.5)  # counts outside [0.5, 1.5] times the trailing median are suspicious
MARGIN_BAND = (0.0, 0.30)  # the median margin of a book's 1X2 lines must sit in this band
MARGIN_MARKETS = ("3743", "5000")  # 1X2 and Over/Under: exclusive, complete, on every book


def reported(context: dg.AssetCheckExecutionContext, asset: str, key: str = "dagster/row_count") -> Any:
    """What the asset's latest materialization of this partition reported."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[context.partition_key]), limit=1
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(key)
    return None if value is None else value.value


def _scraped_events(session: Session, batch_id: int, book: Book) -> int:
    return session.scalar(
        select(func.count())
        .select_from(EventScrapeStatus)
        .where(
            EventScrapeStatus.batch_id == batch_id,
            EventScrapeStatus.platforms_scraped.op("@>")(cast(literal(f'["{book.value}"]'), JSONB)),
        )
    )


def _market_rows(session: Session, batch_id: int) -> int:
    betpawa = select(func.count()).select_from(MarketOdds).join(OddsSnapshot, OddsSnapshot.id == MarketOdds.snapshot_id)
    competitors = (
        select(func.count())
        .select_from(CompetitorMarketOdds)
        .join(CompetitorOddsSnapshot, CompetitorOddsSnapshot.id == CompetitorMarketOdds.snapshot_id)
    )
    return session.scalar(betpawa.where(OddsSnapshot.batch_id == batch_id)) + session.scalar(
        competitors.where(CompetitorOddsSnapshot.batch_id == batch_id)
    )


def _missing_batch(key: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"reason": f"no scrape_batches row for {key}"})


def palimpsest_checks(book: Book, partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    asset = f"{book.value}_palimpsest"

    @dg.asset_check(
        asset=asset,
        name="rows_match_report",
        description="The batch's events of this book in PostgreSQL equal the count the asset reported.",
        blocking=True,
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def rows_match_report(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            if batch is None:
                return _missing_batch(context.partition_key)
            stored = _scraped_events(session, batch.id, book)
        claimed = reported(context, asset)
        return dg.AssetCheckResult(
            passed=claimed is not None and stored == claimed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_in_database": stored, "rows_reported": claimed if claimed is not None else -1},
        )

    @dg.asset_check(
        asset=asset,
        name="not_empty",
        description="The book delivered events this batch. Fails when it was down or answered with nothing.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def not_empty(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            stored = _scraped_events(session, batch.id, book) if batch else 0
        return dg.AssetCheckResult(passed=stored > 0, metadata={"events": stored})

    @dg.asset_check(
        asset=asset,
        name="within_trailing_median",
        description=f"The event count sits within {BAND[0]}-{BAND[1]} times the median of the last "
        f"{TRAILING_BATCHES} batches: catches 'few rows and no error'.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def within_trailing_median(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            if batch is None:
                return _missing_batch(context.partition_key)
            stored = _scraped_events(session, batch.id, book)
            bookmaker_id = batches.bookmaker_ids(session)[book]
            earlier = list(
                session.scalars(
                    select(ScrapeRun.events_scraped)
                    .join(ScrapeBatch, ScrapeBatch.id == ScrapeRun.batch_id)
                    .where(
                        ScrapeRun.bookmaker_id == bookmaker_id,
                        ScrapeBatch.window_start < batch.window_start,
                        ScrapeRun.status.in_([RunStatus.COMPLETED, RunStatus.PARTIAL]),
                    )
                    .order_by(ScrapeBatch.window_start.desc())
                    .limit(TRAILING_BATCHES)
                )
            )
        if len(earlier) < 3:
            return dg.AssetCheckResult(passed=True, metadata={"events": stored, "note": "fewer than 3 earlier batches"})
        median = statistics.median(earlier)
        ratio = stored / median if median else 0.0
        return dg.AssetCheckResult(
            passed=BAND[0] <= ratio <= BAND[1],
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"events": stored, "trailing_median": median, "ratio": round(ratio, 3)},
        )

    return [rows_match_report, not_empty, within_trailing_median]


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


def matched_events_check(partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset="matched_events",
        name="match_rate",
        description="The share of each competitor's events linked to a BetPawa event is above the threshold.",
        partitions_def=partitions,
        required_resource_keys={"policy"},
    )
    def match_rate(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        minimum = context.resources.policy.min_match_rate
        rates = {book.value: reported(context, "matched_events", f"{book.value}_match_rate") for book in COMPETITORS}
        passed = all(rate is not None and rate >= minimum for rate in rates.values())
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**{f"{b}_match_rate": r if r is not None else -1 for b, r in rates.items()}, "minimum": minimum},
        )

    return match_rate


def odds_snapshot_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset="odds_snapshots",
        name="rows_match_report",
        description="The batch's market rows in PostgreSQL equal the count the asset reported.",
        blocking=True,
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def rows_match_report(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            if batch is None:
                return _missing_batch(context.partition_key)
            stored = _market_rows(session, batch.id)
        claimed = reported(context, "odds_snapshots")
        return dg.AssetCheckResult(
            passed=claimed is not None and stored == claimed,
            metadata={"rows_in_database": stored, "rows_reported": claimed if claimed is not None else -1},
        )

    @dg.asset_check(
        asset="odds_snapshots",
        name="every_event_has_its_snapshot",
        description="Every event scraped this batch has a snapshot written or confirmed by this batch.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def every_event_has_its_snapshot(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            if batch is None:
                return _missing_batch(context.partition_key)
            missing = {book.value: _events_without_snapshot(session, batch, book) for book in Book}
        return dg.AssetCheckResult(
            passed=not any(missing.values()), metadata={f"{b}_missing": n for b, n in missing.items()}
        )

    @dg.asset_check(
        asset="odds_snapshots",
        name="mapping_coverage",
        description="The share of each competitor's market lines mapped onto BetPawa's catalogue is above "
        "the threshold.",
        partitions_def=partitions,
        required_resource_keys={"policy"},
    )
    def mapping_coverage(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        minimum = context.resources.policy.min_mapping_coverage
        coverage = {book.value: reported(context, "odds_snapshots", f"{book.value}_coverage") for book in COMPETITORS}
        passed = all(c is not None and c >= minimum for c in coverage.values())
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**{f"{b}_coverage": c if c is not None else -1 for b, c in coverage.items()}, "minimum": minimum},
        )

    @dg.asset_check(
        asset="odds_snapshots",
        name="odds_are_sane",
        description=f"No stored price is 1.0 or below, and each book's median margin on 1X2 and Over/Under lines "
        f"lies in {MARGIN_BAND[0]:.0%}-{MARGIN_BAND[1]:.0%}.",
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def odds_are_sane(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with context.resources.database.session() as session:
            batch = batches.batch_for(session, context.partition_key)
            if batch is None:
                return _missing_batch(context.partition_key)
            impossible = _impossible_prices(session, batch.id)
            medians = _median_margins(session, batch.id)
        in_band = all(MARGIN_BAND[0] <= m <= MARGIN_BAND[1] for m in medians.values())
        return dg.AssetCheckResult(
            passed=impossible == 0 and in_band,
            metadata={
                "impossible_prices": impossible,
                **{f"{b}_median_margin": round(m, 4) for b, m in medians.items()},
            },
        )

    return [rows_match_report, every_event_has_its_snapshot, mapping_coverage, odds_are_sane]


def _events_without_snapshot(session: Session, batch: ScrapeBatch, book: Book) -> int:
    """Events of this book scraped in the batch with neither a snapshot of the batch nor one it confirmed."""
    scraped = select(EventScrapeStatus.sportradar_id, EventScrapeStatus.event_key).where(
        EventScrapeStatus.batch_id == batch.id,
        EventScrapeStatus.platforms_scraped.op("@>")(cast(literal(f'["{book.value}"]'), JSONB)),
    )
    keys = [sr or key for sr, key in session.execute(scraped)]
    if not keys:
        return 0
    if book is Book.BETPAWA:
        owner_id, snapshot, column = Event.id, OddsSnapshot, OddsSnapshot.event_id
        owners = select(Event.id).where(
            or_(Event.sportradar_id.in_(keys), func.concat("betpawa:", Event.external_id).in_(keys))
        )
    else:
        owner_id, snapshot = CompetitorEvent.id, CompetitorOddsSnapshot
        column = CompetitorOddsSnapshot.competitor_event_id
        owners = select(CompetitorEvent.id).where(
            CompetitorEvent.source == book,
            or_(
                CompetitorEvent.sportradar_id.in_(keys),
                func.concat(f"{book.value}:", CompetitorEvent.external_id).in_(keys),
            ),
        )
    covered = select(column).where(or_(snapshot.batch_id == batch.id, snapshot.last_confirmed_at >= batch.window_start))
    return session.scalar(select(func.count()).select_from(owners.where(owner_id.not_in(covered)).subquery()))


def _impossible_prices(session: Session, batch_id: int) -> int:
    total = 0
    for market, snapshot in ((MarketOdds, OddsSnapshot), (CompetitorMarketOdds, CompetitorOddsSnapshot)):
        outcome = func.jsonb_array_elements(market.outcomes).table_valued(column("value", JSONB)).alias("outcome")
        total += session.scalar(
            select(func.count())
            .select_from(market)
            .join(snapshot, snapshot.id == market.snapshot_id)
            .join(outcome, text("true"))
            .where(snapshot.batch_id == batch_id, cast(outcome.c.value["odds"].astext, Float) <= 1.0)
        )
    return total


def _median_margins(session: Session, batch_id: int) -> dict[str, float]:
    """Median margin per book over the batch's complete, active 1X2 and Over/Under lines."""
    found: dict[str, list[float]] = {}
    betpawa = (
        select(MarketOdds.outcomes)
        .join(OddsSnapshot, OddsSnapshot.id == MarketOdds.snapshot_id)
        .where(OddsSnapshot.batch_id == batch_id, MarketOdds.betpawa_market_id.in_(MARGIN_MARKETS))
    )
    competitors = (
        select(CompetitorEvent.source, CompetitorMarketOdds.outcomes)
        .join(CompetitorOddsSnapshot, CompetitorOddsSnapshot.id == CompetitorMarketOdds.snapshot_id)
        .join(CompetitorEvent, CompetitorEvent.id == CompetitorOddsSnapshot.competitor_event_id)
        .where(CompetitorOddsSnapshot.batch_id == batch_id, CompetitorMarketOdds.betpawa_market_id.in_(MARGIN_MARKETS))
    )
    rows = [(Book.BETPAWA, outcomes) for (outcomes,) in session.execute(betpawa)]
    rows += list(session.execute(competitors))
    for book, outcomes in rows:
        if outcomes and all(o["is_active"] for o in outcomes) and len(outcomes) >= 2:
            found.setdefault(Book(book).value, []).append(margins.margin([o["odds"] for o in outcomes]))
    return {book: statistics.median(values) for book, values in found.items()}


def build_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    checks: list[dg.AssetChecksDefinition] = []
    for book in Book:
        checks.append(raw_capture_check(book, partitions))
        checks.extend(palimpsest_checks(book, partitions))
    checks.append(matched_events_check(partitions))
    checks.extend(odds_snapshot_checks(partitions))
    return checks
