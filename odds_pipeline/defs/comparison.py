"""Where BetPawa stands: the comparison assets of a batch, made by one step after the odds and the
matching, each a PostgreSQL table holding the latest compared batch, with previews, plotted
figures and checks.

One step makes all five: they read the same lines as of the batch, and a batch recomputes only
the lines that changed since the previous one (`odds_pipeline.comparison`).
"""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd
from sqlalchemy.orm import Session

from odds_pipeline import comparison
from odds_pipeline.comparison import chart, views
from odds_pipeline.defs.assets import OWNERS
from odds_pipeline.domain import Book
from odds_pipeline.markets.overrides import active_catalogue
from odds_pipeline.storage import batches
from odds_pipeline.storage import comparison as queries
from odds_pipeline.storage.models import (
    AvailabilityAlert,
    CoverageGap,
    MarginScorecard,
    PriceComparison,
    PriceMover,
)
from odds_pipeline.storage.reports import MARGIN_MARKETS

PREVIEW_ROWS = 20
# One line's margin: a little below 0 is an arbitrage slip; many-outcome sets such as HT/FT correct
# score carry 60% and more, but a booksum above 2 is no single bet.
MARGIN_BAND = (-0.02, 1.0)
CHART_HOURS = 24
BEHIND_COLUMNS = [
    "event_name", "market_name", "line", "outcome", "betpawa_odds", "best_competitor_odds", "best_competitor", "gap",
]  # fmt: skip

PRICE_COMPARISON = dg.AssetKey("price_comparison")
MARGIN_SCORECARD = dg.AssetKey("margin_scorecard")
COVERAGE_GAPS = dg.AssetKey("coverage_gaps")
PRICE_MOVERS = dg.AssetKey("price_movers")
AVAILABILITY_ALERTS = dg.AssetKey("availability_alerts")

_KINDS = {"string": "string", "integer": "int", "bigint": "bigint", "float": "float", "boolean": "bool"}


def _schema(model: Any) -> dg.TableSchema:
    """The table's columns as the UI shows them, described by the models' ``doc``."""
    columns = []
    for column in model.__table__.columns:
        if column.name == "id":
            continue
        kind = str(column.type).lower().split("(")[0]
        columns.append(dg.TableColumn(column.name, _KINDS.get(kind, kind), description=column.doc or ""))
    return dg.TableSchema(columns=columns)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "/")


def _markdown(frame: pd.DataFrame, columns: list[str], title: str, total: int | None = None) -> dg.MetadataValue:
    """A preview table in markdown: the rows a trader looks at first, of ``total`` (by default the frame's)."""
    shown = frame[[c for c in columns if c in frame.columns]].head(PREVIEW_ROWS)
    head = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns) + "\n"
    body = "".join("| " + " | ".join(_cell(v) for v in row) + " |\n" for row in shown.itertuples(index=False))
    return dg.MetadataValue.md(f"**{title}** ({len(frame) if total is None else total} rows in all)\n\n{head}{body}")


def _figure(value: float | None) -> float:
    """Plotted metadata must be a number: an undefined figure is shown as NaN, not as a made-up 0."""
    return float("nan") if value is None else round(float(value), 5)


def _named(frame: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(events[["event_id", "event_name"]], on="event_id", how="left")


def comparison_specs(partitions: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    def spec(name: str, description: str) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(name, asset=PRICE_COMPARISON, description=description, partitions_def=partitions)

    return [
        spec("every_matched_event_compared", "Every matched event on which BetPawa offers a live price, as of the "
             "batch, has its rows in price_comparison."),
        spec("shares_in_unit_interval", "BetPawa's best-price share lies in [0, 1] and equals the share recomputed "
             "from the stored rows."),
        spec("no_suspended_or_vanished_line_compared", "No price in price_comparison is suspended, gone or absent "
             "in the lines as of the batch, on any book."),
        spec("margins_in_band", f"Every stored margin of a complete set lies in {MARGIN_BAND[0]:.0%} to "
             f"{MARGIN_BAND[1]:.0%}."),
    ]  # fmt: skip


# The step's audits read side by side, each on a connection of its own without parallel workers
# (`queries.begin_audit`): on two cores, 0.8 s for a first batch's against 1.5 s one after another.
AUDITS_SIDE_BY_SIDE = 3
AuditSession = Callable[[], AbstractContextManager[Session]]


def comparison_checks(
    audit_session: AuditSession, result: comparison.Comparison, *, side_by_side: int = 1
) -> Iterator[dg.AssetCheckResult]:
    """The checks, from what PostgreSQL holds: the stored tables against the batch's lines as of
    the batch, read afresh from the snapshots (not from what the step computed), and the step's figures.

    Each audit reads in a session from ``audit_session``, ``side_by_side`` of them at a time: the
    step's own, after it committed, on connections of their own; a test's, in its one open session.
    Each check comes as soon as its audits are done, the quick ones while the long ones still run."""
    paths = result.paths

    def audit(read: Callable[[Session], Any]) -> Any:
        with audit_session() as session:
            return read(session)

    def check(name: str, passed: bool, **metadata: Any) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=PRICE_COMPARISON, check_name=name, passed=bool(passed), metadata=metadata)

    with ThreadPoolExecutor(max_workers=side_by_side, thread_name_prefix="comparison-audit") as pool:
        # The longest first, so the short ones fill in beside them.
        not_live = {
            book.value: pool.submit(audit, partial(queries.compared_not_live, paths=paths, book=book)) for book in Book
        }
        events = pool.submit(audit, partial(queries.matched_events_with_lines, paths=paths))
        stored_share = pool.submit(audit, partial(queries.stored_best_price_share, tolerance=views.PRICE_TOLERANCE))
        outside = pool.submit(audit, partial(queries.margins_outside, low=MARGIN_BAND[0], high=MARGIN_BAND[1]))

        expected, compared, extra = events.result()
        yield check(
            "every_matched_event_compared",
            expected == compared and extra == 0,
            expected=expected,
            found=compared,
            events_not_matched_now=extra,
        )
        share, recomputed = result.figure(Book.BETPAWA.value, "best_price_share"), stored_share.result()
        yield check(
            "shares_in_unit_interval",
            share is None or (0.0 <= share <= 1.0 and recomputed is not None and abs(share - recomputed) < 1e-9),
            best_price_share=_figure(share),
            recomputed_from_rows=_figure(recomputed),
        )
        lines_outside = outside.result()
        yield check(
            "margins_in_band",
            not any(lines_outside.values()),
            **{f"{book}_lines_outside": n for book, n in lines_outside.items()},
        )
        found = {book: future.result() for book, future in not_live.items()}
        yield check("no_suspended_or_vanished_line_compared", not any(found.values()), **found)


def comparison_assets(partitions: dg.PartitionsDefinition, freshness: dg.FreshnessPolicy) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(f"{book.value}_odds_snapshots") for book in Book] + [dg.AssetKey("matched_events")]
    common: dict[str, Any] = {
        "deps": deps,
        "group_name": "where_betpawa_stands",
        "kinds": {"pandas", "postgres"},
        "owners": OWNERS,
        "partitions_def": partitions,
        "skippable": True,
    }
    specs = [
        dg.AssetSpec(
            PRICE_COMPARISON,
            description="Every live BetPawa outcome on a matched event beside each competitor's live price: the best "
            "competitor price and BetPawa's gap to it (BetPawa / best - 1), each book's margin over a complete set, "
            "and Shin's fair probability from the competitors. Table price_comparison, as of the latest compared batch "
            "(comparison_state; only changed lines are rewritten); the "
            "headline figures are kept per batch in comparison_figures.",
            metadata={
                "dagster/column_schema": _schema(PriceComparison),
                "fair_probability_method": comparison.FAIR_METHOD,
            },
            freshness_policy=freshness,
            **common,
        ),
        dg.AssetSpec(
            MARGIN_SCORECARD,
            description="BetPawa's margin against the lowest competitor margin per tournament (with its country) and "
            "market, paired line by line: only lines where BetPawa and a competitor both have a complete set.",
            metadata={"dagster/column_schema": _schema(MarginScorecard)},
            **common,
        ),
        dg.AssetSpec(
            COVERAGE_GAPS,
            description="What competitors list and BetPawa does not: competitor-only events, tournaments BetPawa "
            "lacks, markets and lines missing on matched events; and matched events BetPawa listed in a later batch "
            "than a competitor (first batch each book listed them, as seen by this tool).",
            metadata={"dagster/column_schema": _schema(CoverageGap)},
            **common,
        ),
        dg.AssetSpec(
            PRICE_MOVERS,
            description="Compared outcomes whose price moved since the previous compared batch, per book; BetPawa is "
            f"left behind where a competitor's implied probability moved by at least {views.MOVE_THRESHOLD:.0%} of "
            "itself and BetPawa's price stood still.",
            metadata={"dagster/column_schema": _schema(PriceMover)},
            **common,
        ),
        dg.AssetSpec(
            AVAILABILITY_ALERTS,
            description="BetPawa lines suspended or gone while a competitor prices them, and matched events where "
            f"BetPawa offers fewer than {views.FEW_MARKETS_SHARE:.0%} of a competitor's markets.",
            metadata={"dagster/column_schema": _schema(AvailabilityAlert)},
            **common,
        ),
    ]

    @dg.multi_asset(
        name="compare_batch",
        specs=specs,
        check_specs=comparison_specs(partitions),
        partitions_def=partitions,
        required_resource_keys={"database"},
    )
    def compare_batch(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        key = context.partition_key
        database = context.resources.database
        # The chart and previews are drawn in a thread (matplotlib is imported there: only this
        # step draws) while PostgreSQL commits, then audits the committed rows in another.
        with ThreadPoolExecutor(max_workers=2) as pool:
            started = time.perf_counter()
            with database.session() as session:
                batch = batches.batch_for(session, key)
                batch_id = batch.id
                queries.record_first_listings(session, batch)
                shapes = comparison.MarketShapes.of(active_catalogue(session))
                setup = round(time.perf_counter() - started, 3)
                result = comparison.compare_batch(session, batch, shapes)
                result.timings = {"setup": setup, **result.timings}
                started = time.perf_counter()
                with_gap, with_gap_main = queries.outcomes_with_gap(session, MARGIN_MARKETS)
                behind = {
                    "all": (queries.furthest_behind(session, None, PREVIEW_ROWS), with_gap),
                    "main": (queries.furthest_behind(session, MARGIN_MARKETS, PREVIEW_ROWS), with_gap_main),
                }
                figures = queries.figures_since(
                    session, batch.window_start - timedelta(hours=CHART_HOURS), batch.window_start
                )
                drawn = pool.submit(lambda: list(_results(result, behind, figures, result.matched)))
                result.timings["previews"] = round(time.perf_counter() - started, 3)
                started = time.perf_counter()
            result.timings["commit"] = round(time.perf_counter() - started, 3)

            @contextmanager
            def audit_session() -> Iterator[Session]:
                with database.session(isolation_level="REPEATABLE READ") as reading:
                    queries.begin_audit(reading, batch_id)
                    yield reading

            started = time.perf_counter()
            checks = comparison_checks(audit_session, result, side_by_side=AUDITS_SIDE_BY_SIDE)
            first_check = pool.submit(next, checks)  # the audits start now, beside the drawing
            yield from drawn.result()  # the chart and previews, then each asset's result handed to Dagster
            result.timings["results"] = round(time.perf_counter() - started, 3)
            yield first_check.result()
            yield from checks
            result.timings["checks"] = round(time.perf_counter() - started, 3)
        context.log.info(
            f"compared batch {key} ({result.mode}, {result.recomputed_lines} lines recomputed): "
            + ", ".join(f"{table} {rows} rows" for table, rows in result.written.items())
            + f"; {', '.join(f'{phase} {s:.1f} s' for phase, s in result.timings.items())}"
        )

    return compare_batch


def _results(
    result: comparison.Comparison,
    behind: dict[str, tuple[pd.DataFrame, int]],
    figures: pd.DataFrame,
    events: pd.DataFrame,
) -> Iterator[dg.MaterializeResult]:
    written = result.written
    betpawa = {name: result.figure(Book.BETPAWA.value, name) for name in ("best_price_share", "median_gap")}
    margins = {f"median_margin_{row['book']}": _figure(row["median_margin"]) for row in result.figures}
    png = chart.last_day_chart(figures)
    yield dg.MaterializeResult(
        asset_key=PRICE_COMPARISON,
        metadata={
            "dagster/row_count": written["price_comparison"],
            "best_price_share": _figure(betpawa["best_price_share"]),
            "median_gap": _figure(betpawa["median_gap"]),
            **margins,
            "margin_lines": result.figure(Book.BETPAWA.value, "margin_lines"),
            "outcomes_compared": result.figure(Book.BETPAWA.value, "compared"),
            "matched_events": result.figure(Book.BETPAWA.value, "events"),
            "fair_probability_method": comparison.FAIR_METHOD,
            "comparison_mode": result.mode,
            "recomputed_lines": result.recomputed_lines,
            "furthest_behind": _markdown(
                behind["all"][0],
                BEHIND_COLUMNS,
                "The outcomes where BetPawa is furthest behind the best competitor price",
                behind["all"][1],
            ),
            # Long shots dominate the list above; a trader's main markets, on their own:
            "furthest_behind_main_markets": _markdown(
                behind["main"][0], BEHIND_COLUMNS, "The same, on 1X2 and Over/Under only", behind["main"][1]
            ),
            "last_day": dg.MetadataValue.md(
                chart.as_markdown(png, "median margin per book and BetPawa's best-price share, last day")
            ),
        },
    )
    card = result.scorecard
    yield dg.MaterializeResult(
        asset_key=MARGIN_SCORECARD,
        metadata={
            "dagster/row_count": written["margin_scorecard"],
            "paired_lines": int(card["lines"].sum()) if len(card) else 0,
            "median_difference": _figure(card["median_difference"].median() if len(card) else None),
            "share_betpawa_cheaper": _figure((card["mean_difference"] < 0).mean() if len(card) else None),
            "preview": _markdown(
                card.sort_values("mean_difference", ascending=False),
                [
                    "tournament",
                    "country",
                    "market_name",
                    "events",
                    "lines",
                    "betpawa_margin",
                    "competitor_margin",
                    "mean_difference",
                    "median_difference",
                ],
                "Where BetPawa's margin is furthest above the lowest competitor's",
            ),
        },
    )
    gaps, kinds = result.coverage, result.coverage_counts
    yield dg.MaterializeResult(
        asset_key=COVERAGE_GAPS,
        metadata={
            "dagster/row_count": written["coverage_gaps"],
            **{
                f"{kind}s": int(kinds.get(kind, 0))
                for kind in ("competitor_only_event", "missing_tournament", "missing_line", "listed_later")
            },
            "preview": _markdown(
                gaps[gaps["kind"] != "missing_line"].sort_values(["kind", "country", "tournament"])
                if len(gaps)
                else gaps,
                ["kind", "tournament", "country", "event_name", "sportradar_id", "kickoff", "books", "first_listed"],
                "Events and tournaments BetPawa lacks, and matched events it listed later",
            ),
        },
    )
    movers = result.movers
    moved = {
        f"moved_{book}": int(movers["moved_by"].str.contains(book).sum()) if len(movers) else 0
        for book in (b.value for b in Book)
    }
    yield dg.MaterializeResult(
        asset_key=PRICE_MOVERS,
        metadata={
            "dagster/row_count": written["price_movers"],
            **moved,
            "left_behind": int(movers["left_behind"].sum()) if len(movers) else 0,
            "previous_batch_id": result.previous_batch_id if result.previous_batch_id is not None else -1,
            "preview": _markdown(
                _named(movers[movers["left_behind"]], events) if len(movers) else movers,
                [
                    "event_name",
                    "market_name",
                    "line",
                    "outcome",
                    "betpawa_after",
                    "sportybet_before",
                    "sportybet_after",
                    "bet9ja_before",
                    "bet9ja_after",
                    "competitor_move",
                ],
                "BetPawa left behind: a competitor moved, BetPawa did not",
            ),
        },
    )
    alerts = result.alerts
    counts = alerts["kind"].value_counts().to_dict() if len(alerts) else {}
    yield dg.MaterializeResult(
        asset_key=AVAILABILITY_ALERTS,
        metadata={
            "dagster/row_count": written["availability_alerts"],
            **{kind: int(counts.get(kind, 0)) for kind in ("line_gone", "line_suspended", "few_markets")},
            "preview": _markdown(
                _named(alerts, events) if len(alerts) else alerts,
                ["kind", "event_name", "market_name", "line", "books", "betpawa_markets", "competitor_markets"],
                "BetPawa lines a competitor prices and BetPawa does not offer now",
            ),
        },
    )
