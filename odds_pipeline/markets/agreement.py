"""Do mapped competitor prices mean what BetPawa's mean? Their agreement on one match, de-margined.

Books price one truth with their own margins, so on the same match a competitor's line and
BetPawa's line for the same market and line, each freed of its margin, give nearly the same
probabilities when the mapping is right. A swapped outcome, a flipped handicap or a first half
read as a full time shows as a difference of 0.1 or more. How a line is freed of its margin
follows from its catalogue entry's outcome set:

- exclusive: pᵢ = (1/oᵢ) / Σ 1/oⱼ over the book's own line as sent, including the outcomes the
  catalogue does not map (a correct score's "Other" covers different scores on each book);
- double (Double Chance and its combos, where every result wins two outcomes): twice that;
- overlapping (goal ranges, early payouts): each outcome's 1/oᵢ divided by the book's overround
  on its own 1X2 of the match.

A line with an outcome that is off has no de-margined prices, and is not compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import OutcomeSet
from odds_pipeline.markets.engine import LineMapping, MappedLine, MarketMapper

RESULT_MARKET = "3743"  # BetPawa's 1X2 - FT: the overround that de-margins overlapping outcomes
TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)
class LineAgreement:
    """One competitor line against BetPawa's line for the same market and line."""

    book: Book
    market: str  # the competitor's market id or key
    specifier: str | None
    entry_id: str
    betpawa_market_id: str
    line: float | None
    method: str  # exclusive | double | overlapping
    differences: dict[str, float]  # BetPawa outcome name → |competitor - BetPawa|, de-margined
    reason: str | None = None  # why nothing could be compared

    @property
    def compared(self) -> bool:
        return bool(self.differences)

    @property
    def max_difference(self) -> float | None:
        return max(self.differences.values()) if self.differences else None

    @property
    def agrees(self) -> bool:
        return self.compared and self.max_difference <= TOLERANCE

    def to_json(self) -> dict[str, Any]:
        worst = max(self.differences, key=self.differences.__getitem__) if self.differences else None
        return {
            "book": self.book.value,
            "market": self.market,
            "specifier": self.specifier,
            "betpawa_market_id": self.betpawa_market_id,
            "line": self.line,
            "method": self.method,
            "max_difference": None if worst is None else round(self.differences[worst], 4),
            "worst_outcome": worst,
            **({"reason": self.reason} if self.reason else {}),
        }


def _result_overround(mappings: Iterable[LineMapping]) -> float | None:
    for mapping in mappings:
        for line in mapping.mapped:
            if line.betpawa_market_id == RESULT_MARKET and line.line is None and line.priced_set:
                return sum(1 / o.odds for o in line.outcomes)
    return None


def fair_probabilities(
    line: MappedLine,
    unmapped_odds: list[float | None],
    outcome_set: OutcomeSet,
    overround: float | None,
    expected: set[str],
) -> dict[str, float] | None:
    """BetPawa outcome name → the book's de-margined probability.

    None when an outcome of the set is off, or when the book sent only part of the set: outcomes of
    the entry are missing and nothing else stands in for them (a correct score's "Other" does).
    """
    if outcome_set is OutcomeSet.OVERLAPPING:
        divisor = overround or 1.0
        return {o.name: 1 / o.odds / divisor for o in line.outcomes if o.odds is not None and not o.suspended}
    if not unmapped_odds and not expected <= {o.name for o in line.outcomes}:
        return None
    odds = [o.odds for o in line.outcomes if not o.suspended] + list(unmapped_odds)
    if len(odds) != len(line.outcomes) + len(unmapped_odds) or any(o is None for o in odds):
        return None
    booksum = sum(1 / o for o in odds)
    share = 2.0 if outcome_set is OutcomeSet.DOUBLE else 1.0
    return {o.name: share / o.odds / booksum for o in line.outcomes}


def _unmapped_odds(mapping: LineMapping) -> list[float | None]:
    """The prices of the outcomes no catalogue entry names: part of the book's own outcome set."""
    unknown = set(mapping.unknown_outcomes)
    return [None if o.suspended else o.odds for o in mapping.record.outcomes if o.name in unknown]


def compare_event(betpawa: ParsedEvent, competitor: ParsedEvent, mapper: MarketMapper) -> list[LineAgreement]:
    """Every mapped line of ``competitor`` against BetPawa's line for the same market and line."""
    betpawa_mappings = mapper.map_many(betpawa.lines)
    betpawa_lines = {(m.betpawa_market_id, m.line): m for mapping in betpawa_mappings for m in mapping.mapped}
    betpawa_overround = _result_overround(betpawa_mappings)
    mappings = mapper.map_many(competitor.lines)
    overround = _result_overround(mappings)
    results = []
    for mapping in mappings:
        for line in mapping.mapped:
            entry = mapper.catalogue.entries[line.entry_id]
            method = entry.outcome_set
            found = LineAgreement(
                book=competitor.event.book,
                market=mapping.record.market_id,
                specifier=mapping.record.specifier,
                entry_id=line.entry_id,
                betpawa_market_id=line.betpawa_market_id,
                line=line.line,
                method=method.value,
                differences={},
            )
            reference = betpawa_lines.get((line.betpawa_market_id, line.line))
            if reference is None:
                results.append(_without(found, "BetPawa does not offer this line on the match"))
                continue
            expected = set(entry.betpawa_names())
            theirs = fair_probabilities(line, _unmapped_odds(mapping), method, overround, expected)
            ours = fair_probabilities(reference, [], method, betpawa_overround, expected)
            if theirs is None or ours is None:
                book = competitor.event.book.display_name if theirs is None else "BetPawa"
                results.append(_without(found, f"{book}'s line has an outcome off or missing"))
                continue
            differences = {name: abs(p - ours[name]) for name, p in theirs.items() if name in ours}
            if not differences:
                results.append(_without(found, "no outcome in common"))
                continue
            results.append(LineAgreement(**{**_fields(found), "differences": differences}))
    return results


def _fields(agreement: LineAgreement) -> dict[str, Any]:
    return {name: getattr(agreement, name) for name in LineAgreement.__slots__}


def _without(agreement: LineAgreement, reason: str) -> LineAgreement:
    return LineAgreement(**{**_fields(agreement), "reason": reason})


def betpawa_lines_priced(betpawa: ParsedEvent, competitors: Iterable[ParsedEvent], mapper: MarketMapper) -> float:
    """Share of BetPawa's lines on the match that at least one competitor prices, mapped."""
    ours = {(m.betpawa_market_id, m.line) for mapping in mapper.map_many(betpawa.lines) for m in mapping.mapped}
    priced = {
        (m.betpawa_market_id, m.line)
        for event in competitors
        for mapping in mapper.map_many(event.lines)
        for m in mapping.mapped
        if any(o.odds is not None for o in m.outcomes)
    }
    return len(ours & priced) / len(ours) if ours else 0.0
