"""The sandbox's market inventory: which markets each book offers, with its own ids, keys and names.

Built from `reference_data` (what the books really send), never from the project's mapping
catalogue. Mapped markets come from the reference correspondences; the markets nobody maps yet
come from the phase-45 audit, with their measured occurrence counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from odds_pipeline.domain import Book
from odds_pipeline.sandbox import reference_data


class LineKind(StrEnum):
    NONE = "none"
    TOTAL = "total"  # over/under: SB total=2.5, B9 @2.5, BP price handicap "2.5"
    ASIAN = "asian"  # home handicap: SB hcp=-0.5, B9 @-0.5, BP row "-0.5"
    EUROPEAN = "european"  # 3-way head start: SB hcp=0:1, B9 @-1, BP row "-1"
    VARIANT = "variant"  # SB variant=sr:exact_goals:6+, no line elsewhere
    TIME = "time"  # SB from=1|to=10
    PLAYER = "player"  # SB player props: one object per player
    INDEX = "index"  # several unnamed lines of an unmapped market


class Family(StrEnum):
    """How the true probabilities of a market's outcomes are derived."""

    RESULT = "result"  # home/draw/away from the goal model
    DOUBLE_CHANCE = "double_chance"  # overlapping pairs of RESULT
    TOTAL_GOALS = "total_goals"
    BTTS = "btts"
    GENERIC = "generic"  # a fixed pseudo-random distribution per match, market and line


LINE_CANDIDATES: dict[LineKind, tuple[float, ...]] = {
    # First the main line, then the others in the order books usually add them.
    LineKind.TOTAL: (2.5, 1.5, 3.5, 0.5, 4.5, 5.5, 6.5, 7.5, 8.5),
    LineKind.ASIAN: (-0.5, 0.0, -1.0, 0.5, -1.5, 1.0, -0.25, -0.75, 0.25, 1.5),
    LineKind.EUROPEAN: (-1.0, 1.0, -2.0, 2.0, -3.0, 3.0),
    LineKind.INDEX: tuple(float(i) for i in range(1, 13)),
    LineKind.PLAYER: tuple(float(i) for i in range(1, 25)),
}
CORNER_TOTALS = (9.5, 8.5, 10.5, 7.5, 11.5, 12.5)
BOOKING_TOTALS = (4.5, 3.5, 5.5, 2.5, 6.5)

# Markets every book puts on every event; the rest come and go.
CORE_BETPAWA_IDS = {
    "3743",
    "4693",
    "3795",
    "5000",
    "4706",
    "4724",
    "3774",
    "4703",
    "4429",
    "4833",
    "3668",
    "4958",
}


@dataclass(frozen=True)
class Outcome:
    canonical: str
    label: str


@dataclass(frozen=True)
class MarketTemplate:
    """One market as one book offers it."""

    book: Book
    market_id: str  # BP marketType.id, SB market id, B9 key without the S_ prefix
    name: str
    shared_key: str  # equal across books for the same market, so they share true probabilities
    family: Family
    outcomes: tuple[Outcome, ...]
    line_kind: LineKind
    line_candidates: tuple[float, ...]
    lines_per_event: int
    presence: float  # share of events on which the market is offered
    near_kickoff_only: bool = False  # offered only in the last 24 h before kickoff
    variant: str | None = None
    tabs: tuple[str, ...] = ()


def _family(name: str, outcome_count: int) -> Family:
    lowered = name.lower()
    if lowered == "1x2 - full time":
        return Family.RESULT
    if lowered.startswith("double chance -") and outcome_count == 3:
        return Family.DOUBLE_CHANCE
    if lowered == "over/under - full time":
        return Family.TOTAL_GOALS
    if lowered == "both teams to score - full time":
        return Family.BTTS
    return Family.GENERIC


def _line_kind(entry: dict, book: Book) -> LineKind:
    if book is Book.SPORTYBET:
        param = entry["sportybet_param"]
    elif book is Book.BET9JA:
        param = entry["bet9ja_param"]
        if param == "haou_split":
            return LineKind.TOTAL
        if param == "none" and entry["sportybet_param"] == "total":
            return LineKind.TOTAL  # a combo with a total (S_OUGGNG): Bet9ja carries it in @param too
    else:
        param = entry["sportybet_param"] or entry["bet9ja_param"]
    if param in ("total", "line"):
        return LineKind.TOTAL
    if param in ("hcp", "handicap"):
        return LineKind.EUROPEAN if entry["handicap_style"] == "european_3way" else LineKind.ASIAN
    if param == "variant" and book is Book.SPORTYBET:
        return LineKind.VARIANT
    if param == "time_range_ignored" and book is Book.SPORTYBET:
        return LineKind.TIME
    return LineKind.NONE


def _candidates(kind: LineKind, name: str) -> tuple[float, ...]:
    lowered = name.lower()
    if kind is LineKind.TOTAL and "corner" in lowered:
        return CORNER_TOTALS
    if kind is LineKind.TOTAL and ("booking" in lowered or "card" in lowered):
        return BOOKING_TOTALS
    if kind is LineKind.TOTAL and ("half" in lowered or "home" in lowered or "away" in lowered):
        return (0.5, 1.5, 2.5, 3.5, 4.5, 5.5)
    return LINE_CANDIDATES.get(kind, ())


def _default_lines(kind: LineKind, book: Book, name: str) -> int:
    """Typical number of lines per event when the audit has no count for the market."""
    lowered = name.lower()
    if kind is LineKind.TOTAL:
        if "full time" in lowered and lowered == "over/under - full time":
            return {Book.BETPAWA: 9, Book.SPORTYBET: 7, Book.BET9JA: 6}[book]
        if "&" in name or " and " in lowered or "btts" in lowered or "double chance" in lowered or "1x2" in lowered:
            return {Book.BETPAWA: 4, Book.SPORTYBET: 3, Book.BET9JA: 2}[book]
        return {Book.BETPAWA: 6, Book.SPORTYBET: 3, Book.BET9JA: 2}[book]
    if kind is LineKind.ASIAN:
        return {Book.BETPAWA: 10, Book.SPORTYBET: 5, Book.BET9JA: 3}[book]
    if kind is LineKind.EUROPEAN:
        return {Book.BETPAWA: 6, Book.SPORTYBET: 4, Book.BET9JA: 3}[book]
    return 1


VARIANTS = {
    "21": "sr:exact_goals:6+",
    "23": "sr:exact_goals:3+",
    "24": "sr:exact_goals:3+",
    "71": "sr:exact_goals:2+",
    "93": "sr:exact_goals:2+",
    "15": "sr:winning_margin:3+",
    "548": "sr:goal_range:6+",
    "549": "sr:goal_range:3+",
    "550": "sr:goal_range:3+",
    "551": "sr:correct_score:after:6",
    "552": "sr:goal_range:4+",
    "553": "sr:goal_range:4+",
}

# SportyBet's early-payout 1X2 variants carry home/draw/away outcomes, not yes/no: the trap that
# must never be mapped onto the plain 1X2.
EARLY_PAYOUT = {"60200": "1X2 - 1UP", "60100": "1X2 - 2UP"}


def _labels(entry: dict, book: Book) -> tuple[Outcome, ...]:
    key = {Book.BETPAWA: "betpawa", Book.SPORTYBET: "sportybet", Book.BET9JA: "bet9ja"}[book]
    return tuple(Outcome(o["canonical"], o[key]) for o in entry["outcomes"] if o[key])


def _betpawa_tabs(name: str, core: bool) -> tuple[str, ...]:
    lowered = name.lower()
    tabs = ["all"]
    if core:
        tabs.append("popular")
    if "goal" in lowered or "over/under" in lowered or "score" in lowered:
        tabs.append("goals")
    if "half" in lowered:
        tabs.append("halves")
    if "corner" in lowered:
        tabs.append("corners")
    if "booking" in lowered or "card" in lowered or "sending" in lowered:
        tabs.append("bookings")
    if "handicap" in lowered:
        tabs.append("handicaps")
    if "&" in name or " and " in lowered:
        tabs.append("combos")
    return tuple(tabs)


def _audit_rates() -> dict[tuple[Book, str], float]:
    """Occurrences per event of each audited market (the audit's frequency counts every line)."""
    data = reference_data.load()
    rates = {}
    for row in data["unmapped"]:
        book = Book(row["book"])
        rates[(book, row["market_id"])] = row["frequency"] / data["audit_events"][book.value]
    return rates


def _mapped_templates(book: Book) -> list[MarketTemplate]:
    data = reference_data.load()
    rates = _audit_rates()
    templates: list[MarketTemplate] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["markets"]):
        market_id = {
            Book.BETPAWA: entry["betpawa_id"],
            Book.SPORTYBET: entry["sportybet_id"],
            Book.BET9JA: (entry["bet9ja_key"] or "").removeprefix("S_") or None,
        }[book]
        if not market_id:
            continue
        outcomes = _labels(entry, book)
        name = entry["name"]
        if book is Book.SPORTYBET and market_id in EARLY_PAYOUT:
            name = EARLY_PAYOUT[market_id]
            outcomes = (Outcome("home", "Home"), Outcome("draw", "Draw"), Outcome("away", "Away"))
        if not outcomes:
            continue  # the book has no names for this market's outcomes: it never shows it this way
        kind = _line_kind(entry, book)
        candidates = _candidates(kind, name)
        # Bet9ja's combined team totals share one key between two entries: one group, four suffixes.
        dedupe_key = f"{market_id}:{kind}"
        if book is Book.BET9JA and dedupe_key in seen:
            previous = next(t for t in templates if t.market_id == market_id)
            templates[templates.index(previous)] = _merge_outcomes(previous, outcomes)
            continue
        seen.add(dedupe_key)
        core = entry["betpawa_id"] in CORE_BETPAWA_IDS
        rate = rates.get((book, market_id))
        if rate is not None:
            presence, lines = min(1.0, rate), max(1, round(rate))
        else:
            presence = 1.0 if core else {Book.BETPAWA: 0.5, Book.SPORTYBET: 0.5, Book.BET9JA: 0.4}[book]
            lines = _default_lines(kind, book, name)
        templates.append(
            MarketTemplate(
                book=book,
                market_id=market_id,
                name=name,
                shared_key=f"m{index}",
                family=_family(entry["name"], len(entry["outcomes"])),
                outcomes=outcomes,
                line_kind=kind,
                line_candidates=candidates,
                lines_per_event=min(lines, len(candidates)) if candidates else 1,
                presence=presence,
                variant=VARIANTS.get(market_id) if kind is LineKind.VARIANT else None,
                tabs=_betpawa_tabs(name, core) if book is Book.BETPAWA else (),
            )
        )
    return templates


def _merge_outcomes(template: MarketTemplate, extra: tuple[Outcome, ...]) -> MarketTemplate:
    labels = {o.label for o in template.outcomes}
    merged = template.outcomes + tuple(o for o in extra if o.label not in labels)
    return MarketTemplate(**{**template.__dict__, "outcomes": merged})


def _guess_unmapped_shape(book: Book, market_id: str, desc: str | None, rate: float) -> tuple[LineKind, tuple]:
    """Outcome labels and line kind for a market the reference never mapped (no names on record)."""
    text = f"{market_id} {desc or ''}".lower()
    if book is Book.SPORTYBET:
        if "player" in text:
            return LineKind.PLAYER, (("yes", "Yes"), ("no", "No"))
        if "over/under" in text or "total" in text:
            return LineKind.TOTAL, (("over", "Over"), ("under", "Under"))
        if "1x2" in text or "winner" in text or "result" in text:
            kind = LineKind.INDEX if rate > 1.2 else LineKind.NONE
            return kind, (("home", "Home"), ("draw", "Draw"), ("away", "Away"))
        kind = LineKind.INDEX if rate > 1.2 else LineKind.NONE
        return kind, (("yes", "Yes"), ("no", "No"))
    if market_id.startswith("CAH"):  # corner Asian handicaps, written like S_AHCORNERS
        return LineKind.ASIAN, (("home", "1"), ("away", "2"))
    kind = LineKind.TOTAL if (re.search(r"OU", market_id) or rate > 1.2) else LineKind.NONE
    if "OU" in market_id:
        return kind, (("over", "O"), ("under", "U"))
    if market_id.startswith(("1X2", "DC")) or "1X2" in market_id:
        return kind, (("home", "1"), ("draw", "X"), ("away", "2"))
    return kind, (("yes", "Y"), ("no", "N"))


def _unmapped_templates(book: Book, mapped_ids: set[str]) -> list[MarketTemplate]:
    data = reference_data.load()
    templates = []
    for row in data["unmapped"]:
        if row["book"] != book.value or row["market_id"] in mapped_ids:
            continue
        rate = row["frequency"] / data["audit_events"][book.value]
        kind, labels = _guess_unmapped_shape(book, row["market_id"], row["desc"], rate)
        candidates = LINE_CANDIDATES[LineKind.TOTAL] if kind is LineKind.TOTAL else LINE_CANDIDATES.get(kind, ())
        lines = max(1, min(round(rate), len(candidates) or 1)) if kind is not LineKind.NONE else 1
        templates.append(
            MarketTemplate(
                book=book,
                market_id=row["market_id"],
                name=row["desc"] or row["market_id"],
                shared_key=f"{book.value}:{row['market_id']}",
                family=Family.GENERIC,
                outcomes=tuple(Outcome(c, label) for c, label in labels),
                line_kind=kind,
                line_candidates=candidates,
                lines_per_event=lines,
                presence=min(1.0, rate),
                near_kickoff_only=row["category"] == "Player Props",
            )
        )
    return templates


@cache
def templates_for(book: Book) -> tuple[MarketTemplate, ...]:
    mapped = _mapped_templates(book)
    if book is Book.BETPAWA:
        return tuple(mapped)
    return tuple(mapped + _unmapped_templates(book, {t.market_id for t in mapped}))


def expected_lines_per_event(book: Book) -> float:
    """Mean market lines per event the inventory produces (before kickoff-window effects)."""
    return sum(t.presence * t.lines_per_event for t in templates_for(book))


def expected_markets_per_event(book: Book) -> float:
    return sum(t.presence for t in templates_for(book))
