"""The views of where BetPawa stands that are computed in pandas, each a DataFrame shaped like its
table in `storage.models`.

`price_comparison` and `price_movers` read outcomes (`lines.prepare`) line by line, so a batch
recomputes only the lines that changed; `coverage_gaps` reads the batch's events. The line-level
views (the scorecard, the lines BetPawa lacks, the alerts) are SQL over the stored line summaries
(`storage.comparison`). Only live prices are compared, and an outcome no competitor prices is
nobody's win.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from odds_pipeline.comparison.lines import BETPAWA_CODE, BOOKS, COMPETITOR_BOOKS, NO_LINE, text_values

PRICE_TOLERANCE = 1e-9  # BetPawa "has the best price" when it is at least the best competitor's
MOVE_THRESHOLD = 0.05  # a competitor's implied probability moved by 5% of itself: BetPawa should follow
FEW_MARKETS_SHARE = 0.5  # BetPawa offers fewer than half the markets of a competitor on the event...
FEW_MARKETS_MIN = 10  # ...that offers at least this many


def _books(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per key: the sorted list of the books among the frame's rows (a "book" column), without
    a Python call per group: each book is a bit, and a key's distinct bits add up to its set."""
    names = sorted(set(frame["book"].astype(str)))
    bits = {name: 1 << i for i, name in enumerate(names)}
    unique = frame[[*keys, "book"]].astype({"book": str}).drop_duplicates()
    codes = unique.assign(bit=unique["book"].map(bits)).groupby(keys, sort=True)["bit"].sum()
    sets = {code: [n for n in names if code & bits[n]] for code in range(1, 1 << len(names))}
    return codes.map(sets).rename("books")


def _line(frame: pd.DataFrame) -> pd.Series:
    return frame["line_key"].where(frame["line_key"] != NO_LINE)


def price_comparison(outcomes: pd.DataFrame, margins: np.ndarray, fair: pd.Series) -> pd.DataFrame:
    """Every live BetPawa outcome on a matched event, beside each competitor's live price of it, in
    key order; from `lines.prepare`d outcomes, `lines.wide_margins` and `lines.competitor_fair`."""
    live = outcomes["live"].to_numpy()
    book = outcomes["book_code"].to_numpy()
    outcome_id = outcomes["outcome_id"].to_numpy()
    odds = outcomes["odds"].to_numpy(dtype=float, na_value=np.nan)
    rows = np.flatnonzero(live & (book == BETPAWA_CODE))
    rows = rows[
        np.lexsort(
            (
                outcomes["outcome_code"].to_numpy()[rows],
                outcomes["line_key"].to_numpy()[rows],
                outcomes["market_code"].to_numpy()[rows],
                outcomes["event_id"].to_numpy()[rows],
            )
        )
    ]
    frame = pd.DataFrame(
        {
            "event_id": outcomes["event_id"].to_numpy(dtype=np.int64)[rows],
            "betpawa_market_id": text_values(outcomes["market"].iloc[rows]),
            "line_key": outcomes["line_key"].to_numpy(dtype=float)[rows],
            "outcome": text_values(outcomes["outcome"].iloc[rows]),
            "market_name": text_values(outcomes["market_name"].iloc[rows]),
            "betpawa_odds": odds[rows],
        }
    )
    ids = outcome_id[rows]
    known = int(outcome_id.max()) + 1 if len(outcome_id) else 0
    for name in COMPETITOR_BOOKS:
        mine = live & (book == BOOKS.index(name))
        best = np.full(known, np.nan)  # a book listing an outcome twice on a line: its best price
        np.fmax.at(best, outcome_id[mine], odds[mine])
        frame[f"{name}_odds"] = best[ids]
    offered = frame[[f"{book}_odds" for book in COMPETITOR_BOOKS]].to_numpy(dtype=float)
    priced = ~np.isnan(offered)
    best_at = np.argmax(np.where(priced, offered, -np.inf), axis=1)
    any_priced = priced.any(axis=1)
    frame["best_competitor_odds"] = np.where(any_priced, offered[np.arange(len(frame)), best_at], np.nan)
    frame["best_competitor"] = np.where(any_priced, np.array(COMPETITOR_BOOKS, dtype=object)[best_at], None)
    frame["gap"] = frame["betpawa_odds"] / frame["best_competitor_odds"] - 1.0
    line_margins = margins[outcomes["line_id"].to_numpy()[rows]]
    for i, name in enumerate(BOOKS):
        frame[f"{name}_margin"] = line_margins[:, i]
    frame["fair_probability"] = fair.reindex(ids).to_numpy(dtype=float)
    frame["line"] = _line(frame)
    return frame


def _first_listed(listings: pd.DataFrame) -> dict[str, dict[str, str]]:
    """event key → {book: the window of the first batch that listed it}."""
    found: dict[str, dict[str, str]] = {}
    for key, book, at in listings[["event_key", "book", "first_window_start"]].itertuples(index=False):
        found.setdefault(key, {})[book] = pd.Timestamp(at).isoformat()
    return found


def coverage_gaps(matched: pd.DataFrame, competitor_events: pd.DataFrame, listings: pd.DataFrame) -> pd.DataFrame:
    """Events and tournaments the competitors list and BetPawa does not, and events BetPawa listed
    later (the lines BetPawa lacks are written in SQL: `storage.comparison.write_missing_lines`)."""
    first = _first_listed(listings)
    parts = []
    # Competitor-only events: not matched to a BetPawa event observed in the batch.
    only = competitor_events[~competitor_events["betpawa_event_id"].isin(matched["event_id"])].copy()
    only["event_key"] = only["sportradar_id"].fillna(only["book"] + ":" + only["external_id"])
    if len(only):
        events = (
            only.groupby("event_key", sort=True)
            .agg(
                sportradar_id=("sportradar_id", "first"),
                event_name=("event_name", "first"),
                kickoff=("kickoff", "first"),
                tournament=("tournament", "first"),
                country=("country", "first"),
            )
            .join(_books(only, ["event_key"]))
            .reset_index()
        )
        events["first_listed"] = events["event_key"].map(lambda key: first.get(key))
        parts.append(events.drop(columns="event_key").assign(kind="competitor_only_event"))
        # Tournaments BetPawa lacks: none of their events is matched, and BetPawa has no tournament of
        # the same SportRadar id. Keyed by that id where the book gives one, else by the book's name.
        with_events = competitor_events.assign(
            matched=competitor_events["betpawa_event_id"].isin(matched["event_id"]),
            tournament_key=competitor_events["tournament_sportradar_id"].fillna(
                competitor_events["book"] + ":" + competitor_events["tournament"] + "|" + competitor_events["country"]
            ),
        )
        tournaments = (
            with_events.groupby("tournament_key", sort=True)
            .agg(
                any_matched=("matched", "any"),
                betpawa_has=("betpawa_has_tournament", "any"),
                tournament=("tournament", "first"),
                country=("country", "first"),
                events=("competitor_event_id", "size"),
                sportradar_id=("tournament_sportradar_id", "first"),
            )
            .join(_books(with_events, ["tournament_key"]))
        )
        lacking = tournaments[~tournaments["any_matched"] & ~tournaments["betpawa_has"]]
        parts.append(
            lacking.drop(columns=["any_matched", "betpawa_has"])
            .reset_index(drop=True)
            .assign(kind="missing_tournament")
        )
    # Matched events BetPawa listed in a later batch than some competitor.
    later = []
    for row in matched.itertuples(index=False):
        seen = first.get(row.sportradar_id) if isinstance(row.sportradar_id, str) else None
        if not seen or "betpawa" not in seen:
            continue
        rivals = {book: at for book, at in seen.items() if book != "betpawa"}
        if rivals and min(rivals.values()) < seen["betpawa"]:
            later.append(
                {
                    "event_id": row.event_id,
                    "sportradar_id": row.sportradar_id,
                    "event_name": row.event_name,
                    "kickoff": row.kickoff,
                    "tournament": row.tournament,
                    "country": row.country,
                    "books": sorted(book for book, at in rivals.items() if at < seen["betpawa"]),
                    "first_listed": seen,
                    "kind": "listed_later",
                }
            )
    parts.append(pd.DataFrame(later))
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=["kind", "books"])
    return pd.concat(parts, ignore_index=True)


def price_movers(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Compared outcomes whose price moved on some book between two batches' comparisons.

    A move is the relative change of the implied probability 1/odds; BetPawa is left behind where a
    competitor moved by at least `MOVE_THRESHOLD` and BetPawa's price stood still."""
    keys = ["event_id", "betpawa_market_id", "line_key", "outcome"]
    odds = [f"{book}_odds" for book in BOOKS]
    both = now[[*keys, "market_name", "line", *odds]].merge(
        before[[*keys, *odds]], on=keys, suffixes=("_after", "_before")
    )
    moves = {}
    for book in BOOKS:
        after, earlier = both[f"{book}_odds_after"], both[f"{book}_odds_before"]
        moves[book] = (earlier / after - 1.0).where(after.notna() & earlier.notna())
    moved = pd.DataFrame({book: move.abs() > PRICE_TOLERANCE for book, move in moves.items()})
    keep = moved.any(axis=1).to_numpy()
    competitor = pd.DataFrame({book: moves[book] for book in COMPETITOR_BOOKS})
    largest = competitor.abs().fillna(-1.0).to_numpy().argmax(axis=1)
    competitor_move = competitor.to_numpy()[np.arange(len(both)), largest]
    frame = both[[*keys, "market_name", "line"]].copy()
    for book in BOOKS:
        frame[f"{book}_before"] = both[f"{book}_odds_before"]
        frame[f"{book}_after"] = both[f"{book}_odds_after"]
    frame["betpawa_move"] = moves["betpawa"]
    frame["competitor_move"] = competitor_move
    frame["left_behind"] = (np.abs(competitor_move) >= MOVE_THRESHOLD) & (moves["betpawa"].abs() <= PRICE_TOLERANCE)
    frame, moved = frame[keep].reset_index(drop=True), moved[keep]
    # Each book a bit: the books that moved, named once per combination rather than once per row.
    codes = (moved.to_numpy() * (1 << np.arange(len(BOOKS)))).sum(axis=1)
    names = {code: ",".join(b for i, b in enumerate(BOOKS) if code & (1 << i)) for code in np.unique(codes)}
    frame["moved_by"] = pd.Series(codes).map(names).to_numpy()
    return frame
