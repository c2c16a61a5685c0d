"""Where BetPawa stands against each competitor, batch by batch: plain Python and pandas, no Dagster.

`compare_batch` brings the comparison tables to one batch, as of its capture (the current state
for the newest batch, the history for any earlier one), so a past batch's comparison can always be
recomputed. Usually it recomputes only the lines that changed since the previous compared batch:
about one in ten, where a full batch holds a million outcomes. It recomputes every line when the
tables are not as of the previous batch (the first batch, a backfill, a re-run), when the batch is
read from the history, or when the catalogue's market shapes or this code's version changed. Both
ways give the same rows (`odds_pipeline_tests/comparison`).
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from odds_pipeline.comparison import views
from odds_pipeline.comparison.lines import (
    FAIR_METHOD,
    NO_LINE,
    MarketShapes,
    competitor_fair,
    line_states,
    prepare,
    wide_lines,
    wide_margins,
)
from odds_pipeline.storage import comparison as queries
from odds_pipeline.storage.models import (
    AvailabilityAlert,
    ComparisonLine,
    ComparisonObservation,
    ComparisonState,
    CoverageGap,
    MarginScorecard,
    PriceComparison,
    PriceMover,
    ScrapeBatch,
)

__all__ = [
    "COUNTED_TABLES",
    "FAIR_METHOD",
    "FULL",
    "INCREMENTAL",
    "LATEST_ONLY_TABLES",
    "Comparison",
    "MarketShapes",
    "compare_batch",
    "prices_as_of",
]

# Bump when what a stored comparison row means changes: the next batch then recomputes every line
# instead of keeping rows made by the code before.
COMPARISON_VERSION = 2

# The tables a batch leaves for users to read, counted in its result.
COUNTED_TABLES = tuple(
    model.__tablename__
    for model in (PriceComparison, ComparisonLine, MarginScorecard, CoverageGap, PriceMover, AvailabilityAlert)
)
# The tables that hold the latest compared batch only, whatever the number of batches.
LATEST_ONLY_TABLES = (*COUNTED_TABLES, ComparisonObservation.__tablename__, ComparisonState.__tablename__)
FULL, INCREMENTAL = "full", "incremental"


@dataclass
class Comparison:
    batch_id: int
    mode: str  # FULL or INCREMENTAL
    recomputed_lines: int  # line keys the batch computed (every one when FULL)
    matched: pd.DataFrame  # the batch's matched events, with their names and tournaments
    figures: list[dict[str, Any]]
    scorecard: pd.DataFrame
    coverage: pd.DataFrame  # but the missing lines, which are too many to carry (kind missing_line)
    coverage_counts: dict[str, int]  # rows of coverage_gaps per kind
    movers: pd.DataFrame
    alerts: pd.DataFrame
    previous_batch_id: int | None
    paths: queries.AsOf
    written: dict[str, int] = field(default_factory=dict)  # rows per table after the batch
    timings: dict[str, float] = field(default_factory=dict)

    def figure(self, book: str, name: str) -> Any:
        return next(row[name] for row in self.figures if row["book"] == book)


@dataclass
class _Clock:
    timings: dict[str, float] = field(default_factory=dict)
    mark: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.mark, 3)
        self.mark = now


def fingerprint(shapes: MarketShapes) -> str:
    """What the stored rows were computed with: the catalogue's market shapes and the code's version."""
    digest = hashlib.sha256(f"v{COMPARISON_VERSION}".encode())
    for market, outcome in shapes.outcomes[["market", "outcome"]].itertuples(index=False):
        digest.update(f"|{market}:{outcome}".encode())
    digest.update(("|exclusive:" + ",".join(sorted(shapes.exclusive))).encode())
    return digest.hexdigest()


def _prices(outcomes: pd.DataFrame, shapes: MarketShapes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(price comparison, line summaries one row per line) of the given outcomes."""
    lines = wide_lines(line_states(outcomes, shapes))
    margins = wide_margins(lines)
    return views.price_comparison(outcomes, margins, competitor_fair(outcomes, margins)), lines


def prices_as_of(session: Session, batch: ScrapeBatch, shapes: MarketShapes) -> pd.DataFrame:
    """The price comparison of a batch as of its capture, computed in memory: nothing is written."""
    paths = queries.as_of(session, batch)
    return _prices(prepare(queries.lines_as_of(session, paths)), shapes)[0]


def _rows(model: Any, frame: pd.DataFrame, **values: Any) -> pd.DataFrame:
    """The frame's columns that the model's table has, in its order, with constant columns added."""
    columns = [c.name for c in model.__table__.columns if c.name != "id"]
    frame = frame.assign(**values)
    for name in columns:
        if name not in frame.columns:
            frame[name] = None
    return frame[columns]


def _line_rows(lines: pd.DataFrame) -> pd.DataFrame:
    return _rows(ComparisonLine, lines.rename(columns={"market": "betpawa_market_id"}))


# A full recomputation goes through the matched events in this many parts (`_rewrite_in_parts`).
PARTS = 4


def _rewrite_in_parts(session: Session, paths: queries.AsOf, shapes: MarketShapes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recompute and rewrite every line, a part of the matched events at a time: while pandas
    computes one part, PostgreSQL reads the next and writes the one before, on the session's
    connection, which only the database thread uses meanwhile. That thread only moves bytes: the
    rows read are parsed, and those to write encoded, by the computing one. Lines are independent
    of one another, as the incremental comparison relies on too. A copy of a first full-scale batch took 2.6-2.9 s in
    four parts (when the pricing grouped on text: 3.8-4.0 s, 5.7-5.9 s in one, 4.0 s in eight)."""
    queries.clear_lines(session, incremental=False)
    parts = [(k, PARTS) for k in range(PARTS)]
    computed: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="comparison-database") as database:
        reads = [database.submit(queries.fetch_lines, session, paths, part=part) for part in parts[:2]]
        writes = []
        for k in range(PARTS):
            prices, lines = _prices(prepare(queries.parse_lines(reads[k].result())), shapes)
            rows = queries.encode_lines(_rows(PriceComparison, prices), _line_rows(lines))
            writes.append(database.submit(queries.copy_encoded_lines, session, rows, incremental=False))
            if k + 2 < PARTS:
                reads.append(database.submit(queries.fetch_lines, session, paths, part=parts[k + 2]))
            computed.append((prices, lines))
        for write in writes:
            write.result()
    queries.finish_lines(session, incremental=False)
    return (
        pd.concat([prices for prices, _ in computed], ignore_index=True),
        pd.concat([lines for _, lines in computed], ignore_index=True),
    )


def compare_batch(
    session: Session,
    batch: ScrapeBatch,
    shapes: MarketShapes,
    *,
    from_history: bool | None = None,
    incremental: bool = True,
) -> Comparison:
    """Bring the comparison tables to this batch and return its views; the session's caller commits.

    ``incremental=False`` recomputes every line even where the tables allow fewer."""
    clock = _Clock()
    queries.begin_comparison(session)  # before reading the state the tables are in
    paths = queries.as_of(session, batch, from_history=from_history)
    previous = queries.previous_compared_batch(session, batch)
    state = queries.comparison_state(session)
    made_with = fingerprint(shapes)
    # Only from the previous batch's tables: they are its rows, and the movers are against it.
    only_changes = (
        incremental
        and paths.current
        and previous is not None
        and state is not None
        and state.batch_id == previous.id
        and state.fingerprint == made_with
    )
    with queries.staged_changes(session, batch, incremental=only_changes):
        clock.lap("staged")
        # Movers against the previous compared batch, its rows read before they are rewritten: on
        # the recomputed lines, its stored rows of them (no other line moved); else all its stored
        # rows, or its comparison from the history.
        before: pd.DataFrame | None = None
        if only_changes:
            before = queries.stored_prices(session, recomputed_only=True)
            prices, lines = _prices(prepare(queries.lines_as_of(session, paths, recomputed_only=True)), shapes)
            queries.write_lines(session, _rows(PriceComparison, prices), _line_rows(lines), incremental=True)
        else:
            if previous is not None:
                before = queries.stored_comparison(session, previous)
                if before is None:
                    before = prices_as_of(session, previous, shapes)
            prices, lines = _rewrite_in_parts(session, paths, shapes)
        recomputed = len(lines)
        mode = INCREMENTAL if only_changes else FULL
        queries.record_state(session, batch, made_with, mode, recomputed)
        clock.lap("prices")  # read, computed and written
        if before is None:
            before = pd.DataFrame(columns=prices.columns)
        before = before.astype({"event_id": "int64", "line": "float64"})  # typed even when empty
        before = before.assign(line_key=before["line"].fillna(NO_LINE))
        movers = views.price_movers(prices, before)
        clock.lap("movers")
    matched = queries.matched_events(session, batch)
    coverage = views.coverage_gaps(
        matched, queries.competitor_events(session, batch), queries.first_listings(session, batch)
    )
    previous_id = previous.id if previous else None
    queries.replace_table(session, CoverageGap.__table__, _rows(CoverageGap, coverage, batch_id=batch.id))
    queries.write_missing_lines(session, batch)
    queries.replace_table(
        session, PriceMover.__table__, _rows(PriceMover, movers, batch_id=batch.id, previous_batch_id=previous_id)
    )
    queries.write_alerts(session, batch, views.FEW_MARKETS_SHARE, views.FEW_MARKETS_MIN)
    prices_by_book = queries.price_figures(session, views.PRICE_TOLERANCE)
    queries.write_scorecard(session, batch)
    by_line = queries.line_figures(session)
    figures = [{"book": book, **by_line[book], **prices_by_book[book]} for book in by_line]
    queries.store_figures(session, batch, figures)
    written = {table: queries.table_rows(session, table) for table in COUNTED_TABLES}
    clock.lap("views")
    scorecard = queries.stored_view(session, MarginScorecard.__tablename__)
    alerts = queries.stored_view(session, AvailabilityAlert.__tablename__)
    clock.lap("read")
    return Comparison(
        batch_id=batch.id,
        mode=mode,
        recomputed_lines=recomputed,
        matched=matched,
        figures=figures,
        scorecard=scorecard,
        coverage=coverage,
        coverage_counts=queries.view_counts(session, CoverageGap.__tablename__),
        movers=movers,
        alerts=alerts,
        previous_batch_id=previous_id,
        paths=paths,
        written=written,
        timings=clock.timings,
    )
