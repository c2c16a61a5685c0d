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
    """Add the line key, whether each price is live, and integer codes of the keys (`_codes`)."""
    frame = outcomes.copy()
    frame["line_key"] = frame["line"].fillna(NO_LINE)
    odds = frame["odds"].to_numpy(dtype=float, na_value=np.nan)
    active = frame["active"].fillna(False).to_numpy(dtype=bool)
    frame["live"] = ~frame["gone"].to_numpy(dtype=bool) & active & np.isfinite(odds) & (odds > 1.0)
    return _codes(frame)


BOOKS = [book.value for book in Book]
COMPETITOR_BOOKS = [book.value for book in COMPETITORS]
BETPAWA_CODE = BOOKS.index(Book.BETPAWA.value)


def _codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer codes of the keys, so that grouping and joining a million outcomes is on integers,
    not text (on text it took most of the computation):

    - ``book_code``: the book's place in BOOKS;
    - ``market_code``, ``outcome_code``: the text's rank among the frame's values (-1: no outcome);
    - ``line_id``: one per (event, market, line key), numbered in order of first appearance;
    - ``outcome_id``: one per line and outcome, likewise."""
    book, books = pd.factorize(frame["book"])
    frame["book_code"] = np.array([BOOKS.index(name) for name in books], dtype=np.int64)[book]
    market, markets = pd.factorize(frame["market"], sort=True)
    outcome, outcomes = pd.factorize(frame["outcome"], sort=True)
    line_key, line_keys = pd.factorize(frame["line_key"])
    event = frame["event_id"].to_numpy(dtype=np.int64)
    line_id = pd.factorize((event * len(markets) + market) * len(line_keys) + line_key)[0]
    frame["market_code"], frame["outcome_code"], frame["line_id"] = market, outcome, line_id
    frame["outcome_id"] = pd.factorize(line_id.astype(np.int64) * (len(outcomes) + 1) + outcome + 1)[0]
    return frame


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for codes numbered in order of first appearance."""
    if not len(codes):
        return np.array([], dtype=np.intp)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(new)


def _wanted(outcomes: pd.DataFrame, shapes: MarketShapes) -> np.ndarray:
    """Per outcome row, whether the catalogue lists its outcome for its market: looked up once per
    distinct (market, outcome) pair."""
    # No more outcome codes than rows: the row count + 1 keeps each (market, outcome) pair apart.
    pair, _ = pd.factorize(outcomes["market_code"].to_numpy() * (len(outcomes) + 1) + outcomes["outcome_code"] + 1)
    first = _first_rows(pair)
    markets = outcomes["market"].array.take(first)
    names = outcomes["outcome"].array.take(first)
    listed = set(shapes.outcomes[["market", "outcome"]].itertuples(index=False, name=None))
    known = np.array([(m, o) in listed for m, o in zip(markets, names, strict=True)], dtype=bool)
    return known[pair] if len(pair) else np.zeros(0, dtype=bool)


def line_states(outcomes: pd.DataFrame, shapes: MarketShapes) -> pd.DataFrame:
    """Per book and line (`comparison_lines`): gone, suspended, live outcomes, and its margin (NaN
    unless the set is complete and exclusive), in order of first appearance; from `prepare`d outcomes."""
    book = outcomes["book_code"].to_numpy()
    group = pd.factorize(outcomes["line_id"].to_numpy(dtype=np.int64) * len(BOOKS) + book)[0]
    size = int(group.max()) + 1 if len(group) else 0
    first = _first_rows(group)
    priced = outcomes["outcome_code"].to_numpy() >= 0
    gone = outcomes["gone"].to_numpy(dtype=bool)
    live = outcomes["live"].to_numpy()
    active = outcomes["active"].fillna(False).to_numpy(dtype=bool)

    def count(flags: np.ndarray) -> np.ndarray:
        return np.bincount(group, flags, minlength=size).astype(np.int64)

    offered, live_outcomes = count(priced & ~gone), count(live)
    wanted = count(live & _wanted(outcomes, shapes))
    inverse = np.where(live, 1.0 / outcomes["odds"].to_numpy(dtype=float, na_value=np.nan), 0.0)
    # Summed as pandas sums (compensated), so a margin does not depend on how the lines were grouped.
    booksum = pd.Series(inverse).groupby(group, sort=False).sum().to_numpy()
    frame = pd.DataFrame(
        {
            "book": text_values(outcomes["book"].iloc[first]),
            "event_id": outcomes["event_id"].to_numpy(dtype=np.int64)[first],
            "market": text_values(outcomes["market"].iloc[first]),
            "line_key": outcomes["line_key"].to_numpy(dtype=float)[first],
            "market_name": text_values(outcomes["market_name"].iloc[first]),
            "gone": count(gone) > 0,
            "suspended": count(priced & ~active) > 0,
            "live_outcomes": live_outcomes,
        }
    )
    market, markets = pd.factorize(frame["market"])
    need = shapes.counts.reindex(markets).to_numpy(dtype=float, na_value=np.nan)[market]
    exclusive = np.isin(np.asarray(markets, dtype=object), list(shapes.exclusive))[market]
    complete = (offered == live_outcomes) & (wanted == need) & (offered >= 2) & exclusive
    frame["margin"] = np.where(complete, booksum - 1.0, np.nan)
    frame["line"] = frame["line_key"].where(frame["line_key"] != NO_LINE)
    frame["book_code"] = book[first]
    frame["market_code"] = outcomes["market_code"].to_numpy()[first]
    frame["line_id"] = outcomes["line_id"].to_numpy()[first]
    return frame


# Per book side of a line in `comparison_lines`: the summary's column → (the table's suffix, dtype).
SIDES = {
    "live_outcomes": ("live", "Int64"),
    "gone": ("gone", "boolean"),
    "suspended": ("suspended", "boolean"),
    "margin": ("margin", "float64"),
}


def wide_lines(states: pd.DataFrame) -> pd.DataFrame:
    """The line summaries one row per line in key order, every book's side in its own columns
    (`comparison_lines`): a book without the line has NULLs there."""
    line_id = states["line_id"].to_numpy()
    first = _first_rows(line_id)  # a line's first summary: the book that listed it first
    order = first[
        np.lexsort(
            (
                states["line_key"].to_numpy()[first],
                states["market_code"].to_numpy()[first],
                states["event_id"].to_numpy()[first],
            )
        )
    ]
    frame = pd.DataFrame(
        {
            "event_id": states["event_id"].to_numpy()[order],
            "market": text_values(states["market"].iloc[order]),
            "line_key": states["line_key"].to_numpy()[order],
            "market_name": text_values(states["market_name"].iloc[order]),
            "line": states["line"].to_numpy()[order],
        }
    )
    place = np.empty(len(first), dtype=np.intp)  # line id → its row
    place[line_id[order]] = np.arange(len(order))
    book = states["book_code"].to_numpy()
    for code, name in enumerate(BOOKS):
        mine = book == code
        rows = place[line_id[mine]]
        for field, (suffix, dtype) in SIDES.items():
            values = pd.array(np.full(len(frame), np.nan), dtype="float64").astype(dtype)
            if len(rows):
                values[rows] = states[field].to_numpy()[mine]
            frame[f"{name}_{suffix}"] = values
    frame["line_id"] = line_id[order]  # for `wide_margins`: it means something within these outcomes only
    return frame


def wide_margins(lines: pd.DataFrame) -> np.ndarray:
    """Each line's margin per book (NaN: none), a row per line id and a column per book in BOOKS order,
    from `wide_lines`."""
    margins = np.full((len(lines), len(BOOKS)), np.nan)
    margins[lines["line_id"].to_numpy()] = lines[[f"{book}_margin" for book in BOOKS]].to_numpy(dtype=float)
    return margins


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


def competitor_fair(outcomes: pd.DataFrame, margins: np.ndarray) -> pd.Series:
    """Per outcome id: the mean over the competitors with a complete set of Shin's fair probability."""
    book = outcomes["book_code"].to_numpy()
    line_id = outcomes["line_id"].to_numpy()
    rows = np.flatnonzero(outcomes["live"].to_numpy() & (book != BETPAWA_CODE))
    rows = rows[~np.isnan(margins[line_id[rows], book[rows]])]
    if not len(rows):
        return pd.Series(dtype=float, index=pd.Index([], dtype=np.int64))
    group = pd.factorize(line_id[rows].astype(np.int64) * len(BOOKS) + book[rows])[0]
    fair = shin_fair(group, 1.0 / outcomes["odds"].to_numpy(dtype=float)[rows])
    return pd.Series(fair).groupby(outcomes["outcome_id"].to_numpy()[rows], sort=False).mean()
