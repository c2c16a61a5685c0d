"""From stored outcomes to what can be compared: which prices are live, each line's margin, and
the fair probabilities behind the competitors' prices. Vectorised: a full batch holds about a
million outcomes.

A price is live when its line is offered and the outcome is active with odds above 1. A line has
a margin only over a complete, exclusive, unsuspended outcome set: every BetPawa outcome of the
market active and priced, none suspended, and a market whose outcomes partition the result space
(`MappedLine.priced_set`, applied here to the stored state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.catalogue import Catalogue, OutcomeSet
from odds_pipeline.markets.margins import SHIN_ITERATIONS
from odds_pipeline.storage.comparison import NO_LINE

LINE_KEY = ["event_id", "market", "line_key"]
OUTCOME_KEY = [*LINE_KEY, "outcome"]
LINE_TYPES = {"event_id": "int64", "line_key": "float64", "live_outcomes": "int64", "gone": bool, "suspended": bool}
FAIR_METHOD = "shin"


@dataclass(frozen=True)
class MarketShapes:
    """What the catalogue says of each BetPawa market: its outcomes, and whether they are exclusive."""

    outcomes: pd.DataFrame  # market, outcome: one row per BetPawa outcome of the market
    counts: pd.Series  # market → how many outcomes a complete set has
    exclusive: frozenset[str]

    @classmethod
    def of(cls, catalogue: Catalogue) -> MarketShapes:
        entries = [entry for entry in catalogue.entries.values() if entry.betpawa_id]
        rows = sorted({(entry.betpawa_id, name) for entry in entries for name in entry.betpawa_names()})
        outcomes = pd.DataFrame(rows, columns=["market", "outcome"])
        exclusive = frozenset(e.betpawa_id for e in entries if e.outcome_set is OutcomeSet.EXCLUSIVE)
        return cls(outcomes, outcomes.groupby("market").size(), exclusive)


def text_values(column: pd.Series) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A text column's values for a new frame: its Arrow strings as they are (converting a million
    of them to Python objects and back cost a second a batch), but as objects when there are none,
    since pandas cannot merge on an empty Arrow string array ("empty ChunkedArray")."""
    return column.array if len(column) else column.astype(object).to_numpy()


def prepare(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Add the line key and whether each price is live."""
    frame = outcomes.copy()
    frame["line_key"] = frame["line"].fillna(NO_LINE)
    odds = frame["odds"].to_numpy(dtype=float, na_value=np.nan)
    active = frame["active"].fillna(False).to_numpy(dtype=bool)
    frame["live"] = ~frame["gone"].to_numpy(dtype=bool) & active & np.isfinite(odds) & (odds > 1.0)
    return frame


BOOKS = [book.value for book in Book]
COMPETITOR_BOOKS = [book.value for book in COMPETITORS]


def line_states(outcomes: pd.DataFrame, shapes: MarketShapes) -> pd.DataFrame:
    """Per book and line (`comparison_lines`): gone, suspended, live outcomes, and its margin (NaN
    unless the set is complete and exclusive)."""
    priced = outcomes["outcome"].notna().to_numpy()
    gone = outcomes["gone"].to_numpy(dtype=bool)
    live = outcomes["live"].to_numpy()
    active = outcomes["active"].fillna(False).to_numpy(dtype=bool)
    wanted = outcomes[["market", "outcome"]].merge(
        shapes.outcomes.assign(wanted=True), on=["market", "outcome"], how="left"
    )["wanted"]
    parts = pd.DataFrame(
        {
            "book": text_values(outcomes["book"]),
            "event_id": outcomes["event_id"].to_numpy(),
            "market": text_values(outcomes["market"]),
            "line_key": outcomes["line_key"].to_numpy(),
            "market_name": text_values(outcomes["market_name"]),
            "gone": gone,
            "suspended": priced & ~active,
            "offered": priced & ~gone,
            "live": live,
            "wanted_live": live & wanted.fillna(False).to_numpy(dtype=bool),
            "inverse": np.where(live, 1.0 / outcomes["odds"].to_numpy(dtype=float, na_value=np.nan), 0.0),
        }
    )
    lines = parts.groupby(["book", *LINE_KEY], sort=False).agg(
        market_name=("market_name", "first"),
        gone=("gone", "any"),
        suspended=("suspended", "any"),
        outcomes=("offered", "sum"),
        live_outcomes=("live", "sum"),
        wanted=("wanted_live", "sum"),
        booksum=("inverse", "sum"),
    )
    markets = lines.index.get_level_values("market")
    need = markets.map(shapes.counts).to_numpy(dtype=float, na_value=np.nan)
    complete = (
        (lines["outcomes"] == lines["live_outcomes"]).to_numpy()
        & (lines["wanted"].to_numpy() == need)
        & (lines["outcomes"].to_numpy() >= 2)
        & markets.isin(list(shapes.exclusive))
    )
    lines["margin"] = np.where(complete, lines["booksum"] - 1.0, np.nan)
    # Typed even when empty (a batch that changed nothing): the keys are merged on later.
    frame = lines.drop(columns=["outcomes", "wanted", "booksum"]).reset_index().astype(LINE_TYPES)
    frame["line"] = frame["line_key"].where(frame["line_key"] != NO_LINE)
    return frame


# Per book side of a line in `comparison_lines`: the summary's column → (the table's suffix, dtype).
SIDES = {
    "live_outcomes": ("live", "Int64"),
    "gone": ("gone", "boolean"),
    "suspended": ("suspended", "boolean"),
    "margin": ("margin", "float64"),
}


def wide_lines(states: pd.DataFrame) -> pd.DataFrame:
    """The line summaries one row per line, every book's side in its own columns (`comparison_lines`):
    a book without the line has NULLs there."""
    sides = states.set_index([*LINE_KEY, "book"])[list(SIDES)].unstack("book")
    frame = states.drop_duplicates(LINE_KEY).set_index(LINE_KEY)[["market_name", "line"]].reindex(sides.index)
    for book in BOOKS:
        for field, (name, dtype) in SIDES.items():
            column = sides[(field, book)] if (field, book) in sides.columns else pd.Series(index=sides.index)
            frame[f"{book}_{name}"] = column.astype(dtype)
    return frame.reset_index().astype({"event_id": "int64", "line_key": "float64"})


def wide_margins(lines: pd.DataFrame) -> pd.DataFrame:
    """Each line's margin per book, wide by book, indexed by line key, from `wide_lines`."""
    return lines.set_index(LINE_KEY)[[f"{book}_margin" for book in BOOKS]].set_axis(BOOKS, axis=1)


def shin_fair(group: np.ndarray, implied: np.ndarray) -> np.ndarray:
    """Shin's fair probabilities of many lines at once (``group`` numbers each outcome's line).

    The same bisection on the insider share z as `margins.fair_shin`, run for every line together."""
    lines = int(group.max()) + 1 if len(group) else 0
    total = np.bincount(group, implied, minlength=lines)
    booksum = total[group]
    low, high = np.zeros(lines), np.full(lines, 0.999)

    def probabilities(z: np.ndarray) -> np.ndarray:
        share = z[group]
        return (np.sqrt(share * share + 4 * (1 - share) * implied * implied / booksum) - share) / (2 * (1 - share))

    for _ in range(SHIN_ITERATIONS):
        z = (low + high) / 2
        over = np.bincount(group, probabilities(z), minlength=lines) > 1.0
        low, high = np.where(over, z, low), np.where(over, high, z)
    fair = probabilities((low + high) / 2)
    # A set with no overround has nothing to remove: Shin's formula needs Σπ > 1.
    return np.where(total[group] <= 1.0, implied / booksum, fair)


def competitor_fair(outcomes: pd.DataFrame, margins: pd.DataFrame) -> pd.Series:
    """Per outcome: the mean over the competitors with a complete set of Shin's fair probability."""
    competitors = outcomes[(outcomes["book"] != "betpawa") & outcomes["live"]]
    keys = pd.MultiIndex.from_arrays(
        [competitors["event_id"], competitors["market"], competitors["line_key"]], names=LINE_KEY
    )
    margin = np.full(len(competitors), np.nan)
    for book in COMPETITOR_BOOKS:
        mine = (competitors["book"] == book).to_numpy()
        margin[mine] = margins[book].reindex(keys[mine]).to_numpy()
    priced = competitors[~np.isnan(margin)]
    if priced.empty:
        keys = [np.array([], dtype="int64"), np.array([], dtype=object), np.array([], dtype=float), []]
        return pd.Series(dtype=float, index=pd.MultiIndex.from_arrays(keys, names=OUTCOME_KEY))
    group = priced.groupby(["book", *LINE_KEY], sort=False, observed=True).ngroup().to_numpy()
    fair = shin_fair(group, 1.0 / priced["odds"].to_numpy(dtype=float))
    frame = pd.DataFrame(
        {
            "event_id": priced["event_id"].to_numpy(),
            "market": text_values(priced["market"]),
            "line_key": priced["line_key"].to_numpy(),
            "outcome": text_values(priced["outcome"]),
            "fair": fair,
        }
    )
    return frame.groupby(OUTCOME_KEY, sort=False)["fair"].mean()
