"""Where BetPawa stands against each competitor, batch by batch: plain Python and pandas, no Dagster.

`compare_batch` computes every view of one batch from the stored lines as of that batch (the
current state for the newest batch, the history for any earlier one), so a past batch's
comparison can always be recomputed. `store_comparison` replaces the comparison tables with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from odds_pipeline.comparison import views
from odds_pipeline.comparison.lines import FAIR_METHOD, NO_LINE, MarketShapes, competitor_fair, line_margins, prepare
from odds_pipeline.storage import comparison as queries
from odds_pipeline.storage.models import (
    AvailabilityAlert,
    CoverageGap,
    MarginScorecard,
    PriceComparison,
    PriceMover,
    ScrapeBatch,
)

__all__ = [
    "FAIR_METHOD",
    "REPLACED_TABLES",
    "Comparison",
    "MarketShapes",
    "compare_batch",
    "prices_as_of",
    "store_comparison",
]

# The tables `store_comparison` empties and rewrites each batch.
REPLACED_TABLES = tuple(
    model.__tablename__ for model in (PriceComparison, MarginScorecard, CoverageGap, PriceMover, AvailabilityAlert)
)


@dataclass
class Comparison:
    batch_id: int
    matched: pd.DataFrame  # the batch's matched events, with their names and tournaments
    prices: pd.DataFrame
    figures: list[dict[str, Any]]
    scorecard: pd.DataFrame
    coverage: pd.DataFrame
    movers: pd.DataFrame
    alerts: pd.DataFrame
    previous_batch_id: int | None
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


def prices_as_of(
    session: Session,
    batch: ScrapeBatch,
    shapes: MarketShapes,
    *,
    from_history: bool | None = None,
    lines: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(outcomes, line margins, price comparison) of a batch as of its capture (read from the
    batch's `lines_table` if given)."""
    outcomes = prepare(queries.lines_as_of(session, batch, from_history=from_history, table=lines))
    margins = line_margins(outcomes, shapes)
    prices = views.price_comparison(outcomes, margins, competitor_fair(outcomes, margins))
    return outcomes, margins, prices


def compare_batch(
    session: Session,
    batch: ScrapeBatch,
    shapes: MarketShapes,
    *,
    from_history: bool | None = None,
    lines: str | None = None,
) -> Comparison:
    """Every view of one batch, from what is stored; writes nothing."""
    clock = _Clock()
    outcomes, margins, prices = prices_as_of(session, batch, shapes, from_history=from_history, lines=lines)
    clock.lap("prices")
    names = views.market_names(outcomes)
    matched = queries.matched_events(session, batch)
    scorecard = views.margin_scorecard(margins, matched, names)
    coverage = views.coverage_gaps(
        outcomes, matched, queries.competitor_events(session, batch), queries.first_listings(session, batch), names
    )
    alerts = views.availability_alerts(outcomes, names)
    clock.lap("views")
    # Movers against the previous compared batch: its stored comparison while the table still holds
    # it (the usual case), else recomputed from the history.
    previous = queries.previous_compared_batch(session, batch)
    before = pd.DataFrame(columns=prices.columns)
    if previous is not None:
        before = queries.stored_comparison(session, previous)
        if before is None:
            before = prices_as_of(session, previous, shapes)[2]
        else:
            before["line_key"] = before["line"].fillna(NO_LINE)
    movers = views.price_movers(prices, before)
    clock.lap("movers")
    return Comparison(
        batch_id=batch.id,
        matched=matched,
        prices=prices,
        figures=views.headline(prices, outcomes, margins),
        scorecard=scorecard,
        coverage=coverage,
        movers=movers,
        alerts=alerts,
        previous_batch_id=previous.id if previous else None,
        timings=clock.timings,
    )


def _rows(model: Any, frame: pd.DataFrame, **values: Any) -> pd.DataFrame:
    """The frame's columns that the model's table has, in its order, with constant columns added."""
    columns = [c.name for c in model.__table__.columns if c.name != "id"]
    frame = frame.assign(**values)
    for name in columns:
        if name not in frame.columns:
            frame[name] = None
    return frame[columns]


def store_comparison(session: Session, batch: ScrapeBatch, comparison: Comparison) -> dict[str, int]:
    """Replace the comparison tables with this batch's, and keep its headline figures. Returns rows per table."""
    written = {
        "price_comparison": queries.replace_table(
            session, PriceComparison.__table__, _rows(PriceComparison, comparison.prices, batch_id=batch.id)
        ),
        "margin_scorecard": queries.replace_table(
            session, MarginScorecard.__table__, _rows(MarginScorecard, comparison.scorecard, batch_id=batch.id)
        ),
        "coverage_gaps": queries.replace_table(
            session, CoverageGap.__table__, _rows(CoverageGap, comparison.coverage, batch_id=batch.id)
        ),
        "price_movers": queries.replace_table(
            session,
            PriceMover.__table__,
            _rows(PriceMover, comparison.movers, batch_id=batch.id, previous_batch_id=comparison.previous_batch_id),
        ),
        "availability_alerts": queries.replace_table(
            session, AvailabilityAlert.__table__, _rows(AvailabilityAlert, comparison.alerts, batch_id=batch.id)
        ),
    }
    queries.store_figures(session, batch, comparison.figures)
    return written
