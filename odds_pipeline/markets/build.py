"""Build `data/catalogue.json` from the reference registry plus the additions this project made.

Run: ``python -m odds_pipeline.markets.build ../shared/reference``. The JSON is committed; the
pipeline only reads it. Changes the reference got wrong are made here, each with its reason:

- outcomes are matched by label only, so rows without a label on a book are simply absent there;
- SportyBet 60100/60200 are the early-payout 1X2 ("2UP"/"1UP"), not "win by N+" and never the 1X2;
- Bet9ja's S_OUGGNG is a combo with a total, so its line is carried like SportyBet 36's;
- Bet9ja's combined team totals (HAOU, HA1HOU, HA2HOU) are sources of the home and away entries;
- markets the phase-45 audit found unmapped, whose BetPawa equivalent exists, are added
  (`AUDIT_ADDITIONS`).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import (
    CATALOGUE_FILE,
    Carrier,
    CatalogueEntry,
    CatalogueOutcome,
    LineKind,
    OutcomeSet,
    Source,
)

SPORTYBET_CARRIERS = {"none": Carrier.NONE, "total": Carrier.TOTAL, "variant": Carrier.VARIANT}
BET9JA_CARRIERS = {"none": Carrier.NONE, "line": Carrier.TOTAL, "haou_split": Carrier.TOTAL}
TIME_RANGE_PARAMS = {"105": {"from": "1", "to": "10"}}

# Reference entries this project replaces: their sources move into the entries of AUDIT_ADDITIONS,
# or (the early-payout ids) into EARLY_PAYOUT.
DROPPED = {
    "haou_combined",
    "home_to_score_ft",
    "away_to_score_ft",
    "last_score_ft",
    "home_win_1plus_ft",
    "home_win_2plus_ft",
}

YES_NO_AS_OVER_UNDER = {"Yes": "over", "No": "under"}
B9_YES_NO_AS_OVER_UNDER = {"Y": "over", "N": "under"}

# (entry, book, market, carrier, labels → outcome ids, fixed line, verified, why)
AUDIT_ADDITIONS: list[tuple[str, Book, str, Carrier, dict[str, str], float | None, bool, str]] = [
    ("home_over_under_ft", Book.SPORTYBET, "900015", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "Home Team To Score Yes/No is home over/under 0.5"),
    ("away_over_under_ft", Book.SPORTYBET, "900014", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "Away Team To Score Yes/No is away over/under 0.5"),
    ("home_over_under_1h", Book.SPORTYBET, "900022", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "Half-time Home Team To Score Yes/No"),
    ("away_over_under_1h", Book.SPORTYBET, "900021", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "Half-time Away Team to Score Yes/No"),
    ("home_over_under_2h", Book.SPORTYBET, "900020", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "2nd Half Home Team to Score Yes/No"),
    ("away_over_under_2h", Book.SPORTYBET, "900019", Carrier.FIXED, YES_NO_AS_OVER_UNDER, 0.5, True,
     "2nd Half Away Team to Score Yes/No"),
    ("home_over_under_ft", Book.BET9JA, "HAOU", Carrier.TOTAL, {"OH": "over", "UH": "under"}, None, True,
     "home half of the combined team totals"),
    ("away_over_under_ft", Book.BET9JA, "HAOU", Carrier.TOTAL, {"OA": "over", "UA": "under"}, None, True,
     "away half of the combined team totals"),
    ("last_goal_ft", Book.BET9JA, "LASTSCORE", Carrier.NONE, {"H": "home", "N": "none", "A": "away"}, None, True,
     "the reference's own 'Bet9ja alternate' of the last goal, with the same suffixes"),
    ("away_over_under_ft", Book.BET9JA, "AWAYSCORE", Carrier.FIXED, B9_YES_NO_AS_OVER_UNDER, 0.5, False,
     "away team to score, by Bet9ja's key naming"),
    ("home_over_under_1h", Book.BET9JA, "1SCOREHT", Carrier.FIXED, B9_YES_NO_AS_OVER_UNDER, 0.5, False,
     "home (1) to score in the first half (HT), by key naming"),
    ("away_over_under_1h", Book.BET9JA, "2SCOREHT", Carrier.FIXED, B9_YES_NO_AS_OVER_UNDER, 0.5, False,
     "away (2) to score in the first half (HT), by key naming"),
    ("home_over_under_2h", Book.BET9JA, "1SCORE2T", Carrier.FIXED, B9_YES_NO_AS_OVER_UNDER, 0.5, False,
     "home (1) to score in the second half (2T), by key naming"),
    ("away_over_under_2h", Book.BET9JA, "2SCORE2T", Carrier.FIXED, B9_YES_NO_AS_OVER_UNDER, 0.5, False,
     "away (2) to score in the second half (2T), by key naming"),
    ("corner_handicap_ft", Book.BET9JA, "CAH", Carrier.ASIAN, {"1": "home", "2": "away"}, None, False,
     "corner Asian handicap; BetPawa equivalent named in the reference's phase-46 research"),
    ("corner_handicap_1h", Book.BET9JA, "CAHH", Carrier.ASIAN, {"1": "home", "2": "away"}, None, False,
     "first-half corner Asian handicap; phase-46 research"),
]  # fmt: skip

EARLY_PAYOUT = [
    ("early_payout_1x2_2up", "1X2 - 2UP (early payout)", "60100", 2),
    ("early_payout_1x2_1up", "1X2 - 1UP (early payout)", "60200", 1),
]


def betpawa_tabs(name: str) -> tuple[str, ...]:
    """BetPawa's tab groups for a market, by its name (BetPawa sends the live tabs with each market)."""
    lowered = name.lower()
    tabs = []
    if "first half" in lowered or "1st half" in lowered:
        tabs.append("1st half")
    elif "second half" in lowered or "2nd half" in lowered:
        tabs.append("2nd half")
    for word, tab in (
        ("corner", "corners"),
        ("booking", "bookings"),
        ("sent off", "bookings"),
        ("sending", "bookings"),
    ):
        if word in lowered and tab not in tabs:
            tabs.append(tab)
    if "handicap" in lowered:
        tabs.append("handicaps")
    if " and " in lowered or "&" in lowered:
        tabs.append("combos")
    if re.search(r"goal|over/under|score", lowered) and not {"corners", "bookings"} & set(tabs):
        tabs.append("goals")
    return tuple(tabs) or ("main",)


def _line_kind(entry: dict[str, Any]) -> LineKind:
    flags = entry["flags"]
    params = {flags["sportybet_param"], flags["bet9ja_param"]}
    if params & {"total", "line", "haou_split"}:
        return LineKind.TOTAL
    if params & {"hcp", "handicap"}:
        return LineKind.EUROPEAN if flags["handicap_style"] == "european_3way" else LineKind.ASIAN
    return LineKind.NONE


def _sources(entry: dict[str, Any], kind: LineKind) -> list[Source]:
    flags = entry["flags"]
    handicap = Carrier.EUROPEAN if kind is LineKind.EUROPEAN else Carrier.ASIAN
    sources = []
    if entry["sportybet_id"] and entry["sportybet_id"] not in {market for _, _, market, _ in EARLY_PAYOUT}:
        market = entry["sportybet_id"]
        param = flags["sportybet_param"]
        carrier = handicap if param == "hcp" else SPORTYBET_CARRIERS.get(param, Carrier.PARAMS)
        labels = {o["sportybet_desc"]: o["canonical_id"] for o in entry["outcomes"] if o["sportybet_desc"]}
        sources.append(Source(Book.SPORTYBET, market, carrier, labels, params=TIME_RANGE_PARAMS.get(market, {})))
    if entry["bet9ja_key"]:
        param = flags["bet9ja_param"]
        carrier = handicap if param == "handicap" else BET9JA_CARRIERS[param]
        if entry["canonical_id"] == "over_under_btts_ft":
            carrier = Carrier.TOTAL  # a combo keeps its total on every book
        labels = {o["bet9ja_suffix"]: o["canonical_id"] for o in entry["outcomes"] if o["bet9ja_suffix"]}
        sources.append(Source(Book.BET9JA, entry["bet9ja_key"].removeprefix("S_"), carrier, labels))
    return [s for s in sources if s.outcomes]


def _outcome_set(entry: dict[str, Any]) -> OutcomeSet:
    names = {o["betpawa_name"] for o in entry["outcomes"]}
    return OutcomeSet.OVERLAPPING if {"1X", "X2", "12"} <= names else OutcomeSet.EXCLUSIVE


def build(reference_dir: Path) -> list[CatalogueEntry]:
    registry = json.loads((reference_dir / "market_mappings.json").read_text())
    entries: dict[str, CatalogueEntry] = {}
    for raw in registry:
        if raw["canonical_id"] in DROPPED:
            continue
        kind = _line_kind(raw)
        entries[raw["canonical_id"]] = CatalogueEntry(
            id=raw["canonical_id"],
            name=raw["name"],
            betpawa_id=raw["betpawa_id"],
            line_kind=kind,
            outcomes=tuple(CatalogueOutcome(o["canonical_id"], o["betpawa_name"]) for o in raw["outcomes"]),
            sources=tuple(_sources(raw, kind)),
            outcome_set=_outcome_set(raw),
            tabs=betpawa_tabs(raw["name"]) if raw["betpawa_id"] else (),
        )
    for entry_id, book, market, carrier, labels, fixed_line, verified, why in AUDIT_ADDITIONS:
        entry = entries[entry_id]
        source = Source(book, market, carrier, labels, fixed_line=fixed_line, verified=verified)
        note = "; ".join(filter(None, [entry.note, f"{book.value} {market}: {why}"]))
        entries[entry_id] = replace(entry, sources=(*entry.sources, source), origin="reference+audit", note=note)
    for entry_id, name, market, lead in EARLY_PAYOUT:
        entries[entry_id] = CatalogueEntry(
            id=entry_id,
            name=name,
            betpawa_id=None,
            line_kind=LineKind.NONE,
            outcomes=(CatalogueOutcome("home", None), CatalogueOutcome("draw", None), CatalogueOutcome("away", None)),
            sources=(Source(Book.SPORTYBET, market, Carrier.NONE, {"Home": "home", "Draw": "draw", "Away": "away"}),),
            origin="audit",
            note=f"pays a team out as soon as it leads by {lead} goal(s): not the plain 1X2, which BetPawa prices",
        )
    return list(entries.values())


def write(entries: list[CatalogueEntry], path: Path = CATALOGUE_FILE) -> None:
    document = {
        "about": "odds_pipeline market catalogue; generated by odds_pipeline.markets.build, do not edit by hand",
        "entries": [e.to_json() for e in entries],
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write(build(Path(sys.argv[1])))
