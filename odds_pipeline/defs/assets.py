"""The asset graph of one batch, per book: raw capture → palimpsest and stored odds; then, across
books, matched events.

Each book's capture, palimpsest and odds come out of one step, which parses each answer as it
lands, so BetPawa's and SportyBet's odds are stored while Bet9ja is still being captured and the
capture is never read back to be parsed. Each body reads as: open what it needs, call a step from
`odds_pipeline.batch`, check what it wrote (`defs/checks.py`), report figures.
"""

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from odds_pipeline import batch as steps
from odds_pipeline.defs import checks
from odds_pipeline.domain import COMPETITORS, BatchTrigger, Book
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.markets.overrides import active_catalogue
from odds_pipeline.storage import batches, reports

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


class _Phases:
    """Where a step's time went, phase by phase, for its log."""

    def __init__(self) -> None:
        self._mark = time.perf_counter()
        self._took: dict[str, float] = {}

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self._took[phase], self._mark = now - self._mark, now

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in self._took.items())


def book_assets(book: Book, partitions: dg.PartitionsDefinition, freshness: dg.FreshnessPolicy) -> dg.AssetsDefinition:
    """``<book>_raw_capture``, ``<book>_palimpsest`` and ``<book>_odds_snapshots``, from one step.

    The step parses and maps every answer as it lands, while the capture waits on the network, so
    when the last answer is in only the writes are left. A re-derived batch parses the landed capture
    the same way.
    """
    tables = "tournaments / events" if book is Book.BETPAWA else "competitor_tournaments / competitor_events"
    odds_tables = (
        "odds_snapshots / market_odds" if book is Book.BETPAWA else "competitor_odds_snapshots / competitor_market_odds"
    )
    raw_key = dg.AssetKey(f"{book.value}_raw_capture")
    palimpsest_key = dg.AssetKey(f"{book.value}_palimpsest")
    odds_key = dg.AssetKey(f"{book.value}_odds_snapshots")
    raw_specs = checks.raw_capture_specs(book, partitions)
    palimpsest_specs = checks.palimpsest_specs(book, partitions)
    odds_specs = checks.odds_specs(book, partitions)
    common: dict[str, Any] = {"owners": OWNERS, "partitions_def": partitions}
    stored: dict[str, Any] = {"kinds": {"python", "postgres"}, **common}
    what = "its lines" if book is Book.BETPAWA else "every line, mapped onto BetPawa's catalogue"

    @dg.multi_asset(
        name=f"{book.value}_batch",
        specs=[
            dg.AssetSpec(
                raw_key,
                group_name="capture",
                description=f"Every answer of {book.display_name}'s API for this batch, gzip-compressed in the "
                "landing store with a manifest (counts, bytes, sha256). The source of truth everything else is "
                "re-derived from.",
                kinds={"python", "file"},
                metadata={"dagster/column_schema": RAW_SCHEMA},
                **common,
            ),
            dg.AssetSpec(
                palimpsest_key,
                deps=[raw_key],
                group_name="palimpsests",
                description=f"{book.display_name}'s tournaments and events of this batch, parsed from the raw "
                f"capture and upserted into {tables}, with an event_scrape_status row per event.",
                metadata={"dagster/column_schema": PALIMPSEST_SCHEMA},
                # Not made when the capture's blocking check fails.
                skippable=True,
                **stored,
            ),
            dg.AssetSpec(
                odds_key,
                deps=[palimpsest_key],
                group_name="odds",
                description=f"{book.display_name}'s odds of this batch, {what}, stored change-only in "
                f"{odds_tables}. Lines that cannot be mapped are counted in unmapped_market_log.",
                metadata={"dagster/column_schema": SNAPSHOT_SCHEMA},
                # Not made when a blocking check of the capture or the palimpsest fails.
                skippable=True,
                freshness_policy=freshness,
                **stored,
            ),
        ],
        check_specs=[*raw_specs, *palimpsest_specs, *odds_specs],
        partitions_def=partitions,
        pool=f"bookmaker_{book.value}",
        required_resource_keys={"database", "landing", "policy", f"{book.value}_api"},
    )
    def book_batch(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        niceness = getattr(context.resources, f"{book.value}_api").cpu_niceness
        if steps.lower_cpu_priority(niceness):
            context.log.info(f"{book.display_name}: CPU priority lowered by {niceness} (cpu_niceness)")
        with steps.collector_paused():
            yield from book_step(context)

    def book_step(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
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
            pruned = store.pruned(key)
            why = (
                f"its raw captures were deleted by retention on {pruned['pruned_at'][:10]} (captures are kept "
                f"{pruned['horizon_days']} days)"
                if pruned
                else f"{book.display_name} has no raw capture of it"
            )
            raise dg.Failure(
                description=f"Batch {key} ended {age_minutes:.0f} minutes ago, past the late window of "
                f"{policy.late_window_minutes} minutes, and {why}. "
                "Bookmakers serve live odds only: the odds of the past cannot be fetched again.",
                allow_retries=False,
            )
        with resources.database.session() as session:
            scrape_batch = batches.ensure_batch(
                session, key, window.start, window.end, trigger=trigger, dagster_run_id=context.run.run_id
            )
            batches.ensure_run(session, scrape_batch, book)
            parser = steps.CaptureParser(book, api.parsers(), MarketMapper(active_catalogue(session)))

        # --- raw capture (parsed and mapped as it lands) ---
        phases = _Phases()
        errors = None
        if existing and (late or trigger is BatchTrigger.BACKFILL):
            capture = steps.landed_capture(store, key, book)
            context.log.info(f"{book.display_name}: re-deriving batch {key} from {capture.manifest.file}")
            parsed = steps.parse_landed(store, key, parser)
        else:
            progress = _progress(context, book)
            capture, errors = steps.capture(api.open_client, store, key, book, progress=progress, parser=parser)
            parsed = parser.parsed(capture.manifest)
        manifest = capture.manifest
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
        yield dg.MaterializeResult(
            asset_key=raw_key,
            metadata={
                "dagster/row_count": manifest.responses,
                **capture.figures(),
                "run_status": status.value,
                "capture": dg.MetadataValue.path(str(store.folder(key, book) / manifest.file)),
            },
        )
        results = [checks.capture_intact(store, key, book, manifest)]
        yield from results
        phases.done("capture")
        if stopped := checks.blocked(results, raw_specs):
            context.log.error(f"{book.display_name}: palimpsest and odds not stored, as {', '.join(stopped)} failed")
            return

        # --- palimpsest ---
        with resources.database.session() as session:
            scrape_batch = batches.batch_for(session, key)
            run = batches.run_for(session, scrape_batch, book)
            summary = steps.store_palimpsest(session, scrape_batch, parsed, run)
            batches.record_errors(session, run, parsed.problems, "parse")
        phases.done("palimpsest")
        log = context.log.info if summary.lost == 0 else context.log.warning
        log(
            f"{book.display_name}: {summary.events} of {summary.listed} events stored, {summary.lost} lost "
            f"({summary.status.value}), {summary.lines} market lines"
        )
        yield dg.MaterializeResult(
            asset_key=palimpsest_key,
            metadata={
                "dagster/row_count": summary.events,
                "listed": summary.listed,
                "lost": summary.lost,
                "run_status": summary.status.value,
                "tournaments": summary.tournaments,
                "market_lines": summary.lines,
                "parse_problems": dict(summary.problems),
            },
        )
        with resources.database.session() as session:
            results = checks.palimpsest_results(session, batches.batch_for(session, key), book, summary)
        yield from results
        phases.done("palimpsest checks")
        if stopped := checks.blocked(results, palimpsest_specs):
            context.log.error(f"{book.display_name}: odds not stored, as {', '.join(stopped)} failed")
            return

        # --- odds ---
        with resources.database.session() as session:
            scrape_batch = batches.batch_for(session, key)
            run = batches.run_for(session, scrape_batch, book)
            odds = steps.store_odds(session, scrape_batch, parsed, run.id)
            status = batches.settle_batch(session, scrape_batch)
        with resources.database.session() as session:
            live = reports.live_state(session, batches.batch_for(session, key), book)
        phases.done("odds")
        context.log.info(
            f"{book.display_name}: {odds.events} events, {odds.snapshots} snapshots, {odds.market_rows} market rows, "
            f"{odds.confirmed} unchanged"
        )
        metadata: dict[str, Any] = {
            "dagster/row_count": odds.market_rows,
            "snapshots": odds.snapshots,
            "unchanged_events": odds.confirmed,
            # The state the batch leaves, beside the changes it wrote: a quiet batch writes few
            # rows yet the book still offers every line, and the plots should say so.
            "events_observed": odds.events,
            "lines_observed": odds.mapped_lines,
            **live.figures(),
            "stored_late": odds.stored_late,
            "later_observations_rewritten": odds.rewritten,
            "batch_status": status.value,
        }
        if book is not Book.BETPAWA:
            metadata["coverage"] = round(odds.coverage, 4)
        yield dg.MaterializeResult(asset_key=odds_key, metadata=metadata)
        with resources.database.session() as session:
            scrape_batch = batches.batch_for(session, key)
            yield from checks.odds_results(session, scrape_batch, book, odds, live, resources.policy)
        phases.done("odds checks")
        context.log.info(f"{book.display_name}: {phases}")

    return book_batch


def matched_events_asset(partitions: dg.PartitionsDefinition, freshness: dg.FreshnessPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        name="matched_events",
        group_name="matching",
        description="Competitor events linked to BetPawa's by SportRadar id (competitor_events.betpawa_event_id); "
        "competitor-only events are kept, unlinked.",
        partitions_def=partitions,
        deps=[dg.AssetKey(f"{book.value}_palimpsest") for book in Book],
        kinds={"python", "postgres"},
        owners=OWNERS,
        metadata={"dagster/column_schema": MATCHED_SCHEMA},
        check_specs=checks.matched_specs(partitions),
        required_resource_keys={"database", "policy"},
        freshness_policy=freshness,
    )
    def matched_events(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        with context.resources.database.session() as session:
            summary = steps.match_events(session, batches.batch_for(session, context.partition_key))
        metadata: dict[str, Any] = {"dagster/row_count": sum(summary.linked.values())}
        for book in COMPETITORS:
            metadata[f"{book.value}_linked"] = summary.linked[book.value]
            metadata[f"{book.value}_competitor_only"] = summary.competitor_only[book.value]
            metadata[f"{book.value}_match_rate"] = round(summary.match_rate(book), 4)
        yield dg.MaterializeResult(metadata=metadata)
        yield from checks.matched_results(summary, context.resources.policy)

    return matched_events


# Batch windows without a new batch before an asset warns, then fails: by then the schedule, the
# missed-batch sensor and run retries have all had their chance.
STALE_WARN_WINDOWS, STALE_FAIL_WINDOWS = 3, 6


def batch_freshness(batch_minutes: int) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(
        warn_window=timedelta(minutes=STALE_WARN_WINDOWS * batch_minutes),
        fail_window=timedelta(minutes=STALE_FAIL_WINDOWS * batch_minutes),
    )


def build_assets(partitions: dg.PartitionsDefinition, freshness: dg.FreshnessPolicy) -> list[dg.AssetsDefinition]:
    return [
        *(book_assets(book, partitions, freshness) for book in Book),
        matched_events_asset(partitions, freshness),
    ]
