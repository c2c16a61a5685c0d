"""The asset graph of one batch: raw capture → palimpsest (per book) → matched_events → odds_snapshots.

Each body reads as: open what it needs, call a step from `odds_pipeline.batch`, report figures.
"""

import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from odds_pipeline import batch as steps
from odds_pipeline.domain import COMPETITORS, BatchTrigger, Book
from odds_pipeline.storage import batches

OWNERS = ["team:odds-data"]
# The run tag that tells Dagster's run retries whether a step failure is worth another run.
RETRY_ON_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
PROGRESS_STEPS = 10  # log a book's progress about this many times per capture


def trigger_of(tags: Mapping[str, str]) -> BatchTrigger:
    if "dagster/backfill" in tags:
        return BatchTrigger.BACKFILL
    if "dagster/schedule_name" in tags:
        return BatchTrigger.SCHEDULE
    if "dagster/sensor_name" in tags:
        return BatchTrigger.SENSOR
    return BatchTrigger.MANUAL


def _schema(*columns: tuple[str, str, str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, kind, description=text) for name, kind, text in columns])


RAW_SCHEMA = _schema(
    ("endpoint", "string", "catalogue, events (a list) or event (one full event)"),
    ("ref", "string", "what was asked for: tournament, group or event id"),
    ("status", "int", "HTTP status"),
    ("fetched_at", "timestamp", "UTC"),
    ("body", "bytes", "the answer, byte for byte"),
)
PALIMPSEST_SCHEMA = _schema(
    ("external_id", "string", "the book's event id"),
    ("sportradar_id", "string", "the key events are matched on"),
    ("kickoff", "timestamptz", "UTC"),
    ("home_team", "string", ""),
    ("away_team", "string", ""),
    ("tournament", "string", "tournaments / competitor_tournaments"),
)
MATCHED_SCHEMA = _schema(
    ("competitor_event_id", "bigint", "competitor_events.id"),
    ("betpawa_event_id", "bigint", "events.id with the same SportRadar id; NULL for competitor-only events"),
    ("source", "string", "sportybet or bet9ja"),
)
SNAPSHOT_SCHEMA = _schema(
    ("snapshot_id", "bigint", "odds_snapshots / competitor_odds_snapshots: one changed observation"),
    ("betpawa_market_id", "string", "BetPawa's market type id (competitor lines are mapped onto it)"),
    ("line", "float", "the total, or the home side's handicap; NULL for markets without a line"),
    ("outcomes", "jsonb", '[{"name", "odds", "is_active"}]; empty when the line disappeared'),
    ("unavailable_at", "timestamptz", "set on the row recording a line's disappearance"),
)


def _progress(context: dg.AssetExecutionContext, book: Book):
    logged = -1

    def report(_: Book, delivered: int, failed: int, expected: int) -> None:
        nonlocal logged
        done = delivered + failed
        step = max(1, expected // PROGRESS_STEPS)
        if expected and (done == expected or done // step > logged):
            logged = done // step
            context.log.info(f"{book.display_name}: {delivered}/{expected} events fetched, {failed} failed")

    return report


def raw_capture_asset(book: Book, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{book.value}_raw_capture",
        group_name="capture",
        description=f"Every answer of {book.display_name}'s API for this batch, gzip-compressed in the landing "
        "store with a manifest (counts, bytes, sha256). The source of truth everything else is re-derived from.",
        partitions_def=partitions,
        pool=f"bookmaker_{book.value}",
        kinds={"python", "file"},
        owners=OWNERS,
        metadata={"dagster/column_schema": RAW_SCHEMA},
        required_resource_keys={"database", "landing", "policy", f"{book.value}_api"},
    )
    def raw_capture(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resources = context.resources
        api, store, policy = getattr(resources, f"{book.value}_api"), resources.landing.store(), resources.policy
        key, window = context.partition_key, context.partition_time_window
        age_minutes = (datetime.now(UTC) - window.end).total_seconds() / 60
        trigger = trigger_of(context.run.tags)
        existing = store.manifests(key, book)
        late = age_minutes > policy.late_window_minutes
        if late and not existing:
            # Certain to fail again: neither this step nor the run is worth a retry.
            context.instance.add_run_tags(context.run.run_id, {RETRY_ON_FAILURE_TAG: "false"})
            raise dg.Failure(
                description=f"Batch {key} ended {age_minutes:.0f} minutes ago, past the late window of "
                f"{policy.late_window_minutes} minutes, and {book.display_name} has no raw capture of it. "
                "Bookmakers serve live odds only: the odds of the past cannot be fetched again.",
                allow_retries=False,
            )
        with resources.database.session() as session:
            scrape_batch = batches.ensure_batch(
                session, key, window.start, window.end, trigger=trigger, dagster_run_id=context.run.run_id
            )
            batches.ensure_run(session, scrape_batch, book)
        errors = None
        if existing and (late or trigger is BatchTrigger.BACKFILL):
            summary = steps.landed_capture(store, key, book)
            context.log.info(f"{book.display_name}: re-deriving batch {key} from {summary.manifest.file}")
        else:
            summary, errors = steps.capture(api.open_client, store, key, progress=_progress(context, book))
        manifest = summary.manifest
        with resources.database.session() as session:
            scrape_batch = batches.batch_for(session, key)
            run = batches.run_for(session, scrape_batch, book)
            if errors is not None:
                # What never arrived; an answer that arrived, even refused, is the parse's to judge.
                batches.record_errors(session, run, [e for e in errors if e.response is None], "fetch")
            status = batches.finish_capture(session, run, down=manifest.down)
            batches.settle_batch(session, scrape_batch)
        if manifest.down:
            context.log.error(f"{book.display_name} was down for batch {key}: {manifest.errors_by_type}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": manifest.responses,
                **summary.figures(),
                "run_status": status.value,
                "capture": dg.MetadataValue.path(str(store.folder(key, book) / manifest.file)),
            }
        )

    return raw_capture


def palimpsest_asset(book: Book, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    tables = "tournaments / events" if book is Book.BETPAWA else "competitor_tournaments / competitor_events"

    @dg.asset(
        name=f"{book.value}_palimpsest",
        group_name="palimpsests",
        description=f"{book.display_name}'s tournaments and events of this batch, parsed from the raw capture and "
        f"upserted into {tables}, with an event_scrape_status row per event.",
        partitions_def=partitions,
        deps=[dg.AssetKey(f"{book.value}_raw_capture")],
        kinds={"python", "postgres"},
        owners=OWNERS,
        metadata={"dagster/column_schema": PALIMPSEST_SCHEMA},
        required_resource_keys={"database", "landing", f"{book.value}_api"},
    )
    def palimpsest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resources = context.resources
        key = context.partition_key
        parsed = steps.parse_capture(
            resources.landing.store(), key, book, getattr(resources, f"{book.value}_api").parsers()
        )
        with resources.database.session() as session:
            scrape_batch = batches.batch_for(session, key)
            run = batches.run_for(session, scrape_batch, book)
            summary = steps.store_palimpsest(session, scrape_batch, parsed, run)
            batches.record_errors(session, run, parsed.problems, "parse")
        log = context.log.info if summary.lost == 0 else context.log.warning
        log(
            f"{book.display_name}: {summary.events} of {summary.listed} events stored, {summary.lost} lost "
            f"({summary.status.value}), {summary.lines} market lines"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": summary.events,
                "listed": summary.listed,
                "lost": summary.lost,
                "run_status": summary.status.value,
                "tournaments": summary.tournaments,
                "market_lines": summary.lines,
                "parse_problems": dict(summary.problems),
            }
        )

    return palimpsest


def matched_events_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="matched_events",
        group_name="comparison",
        description="Competitor events linked to BetPawa's by SportRadar id (competitor_events.betpawa_event_id); "
        "competitor-only events are kept, unlinked.",
        partitions_def=partitions,
        deps=[dg.AssetKey(f"{book.value}_palimpsest") for book in Book],
        kinds={"python", "postgres"},
        owners=OWNERS,
        metadata={"dagster/column_schema": MATCHED_SCHEMA},
        required_resource_keys={"database"},
    )
    def matched_events(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with context.resources.database.session() as session:
            summary = steps.match_events(session, batches.batch_for(session, context.partition_key))
        metadata: dict[str, Any] = {"dagster/row_count": sum(summary.linked.values())}
        for book in COMPETITORS:
            metadata[f"{book.value}_linked"] = summary.linked[book.value]
            metadata[f"{book.value}_competitor_only"] = summary.competitor_only[book.value]
            metadata[f"{book.value}_match_rate"] = round(summary.match_rate(book), 4)
        return dg.MaterializeResult(metadata=metadata)

    return matched_events


def odds_snapshots_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="odds_snapshots",
        group_name="comparison",
        description="BetPawa's lines and every competitor line mapped onto BetPawa's catalogue, stored change-only "
        "(odds_snapshots / market_odds, competitor_odds_snapshots / competitor_market_odds). "
        "Unmapped lines are counted in unmapped_market_log.",
        partitions_def=partitions,
        deps=[dg.AssetKey("matched_events")],
        kinds={"python", "postgres"},
        owners=OWNERS,
        metadata={"dagster/column_schema": SNAPSHOT_SCHEMA},
        required_resource_keys={"database", "landing", "bet9ja_api"},
    )
    def odds_snapshots(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        resources = context.resources
        key = context.partition_key
        metadata: dict[str, Any] = {}
        rows = 0
        store = resources.landing.store()
        books = [book for book in Book if store.manifests(key, book)]
        for book in set(Book) - set(books):
            context.log.error(f"no raw capture of {book.display_name} for batch {key}: its odds are not stored")
        zone = resources.bet9ja_api.bet9ja_startdate_tz
        # One process per book: parsing and mapping are CPU work, and the books are independent.
        with ProcessPoolExecutor(max_workers=len(books) or 1, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {
                book: pool.submit(
                    steps.store_book_odds, resources.database.url_string(), str(store.root), key, book, zone
                )
                for book in books
            }
            summaries = {book: future.result() for book, future in futures.items()}
        for book, summary in summaries.items():
            rows += summary.market_rows
            metadata[f"{book.value}_snapshots"] = summary.snapshots
            metadata[f"{book.value}_market_rows"] = summary.market_rows
            metadata[f"{book.value}_unchanged_events"] = summary.confirmed
            if book is not Book.BETPAWA:
                metadata[f"{book.value}_coverage"] = round(summary.coverage, 4)
            context.log.info(
                f"{book.display_name}: {summary.events} events, {summary.snapshots} snapshots, "
                f"{summary.market_rows} market rows, {summary.confirmed} unchanged"
            )
        with resources.database.session() as session:
            status = batches.settle_batch(session, batches.batch_for(session, key))
        metadata["batch_status"] = status.value
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **metadata})

    return odds_snapshots


def build_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [
        *(raw_capture_asset(book, partitions) for book in Book),
        *(palimpsest_asset(book, partitions) for book in Book),
        matched_events_asset(partitions),
        odds_snapshots_asset(partitions),
    ]
