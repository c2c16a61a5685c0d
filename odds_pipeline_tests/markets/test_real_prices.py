"""The catalogue on the recorded three-book match: every mapping means what BetPawa means.

SportRadar 68995116 is on all three books' real answers. De-margined, each mapped competitor line
must agree with BetPawa's own line for the same market and line within 0.05. A swapped outcome,
a flipped handicap or a half read as a full time is off by 0.1 to 0.9 (see the last tests).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import msgspec
import pytest

from odds_pipeline.bookmakers.records import MarketLineRecord, OutcomeRecord, ParsedEvent
from odds_pipeline.bookmakers.registry import event_parser
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.agreement import TOLERANCE, betpawa_lines_priced, compare_event
from odds_pipeline.markets.catalogue import Catalogue, Evidence, file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.markets.explain import raw_from_file
from odds_pipeline.sandbox.templates import REAL_ANSWERS, REAL_DIR
from odds_pipeline.settings import Settings

MAPPER = MarketMapper(file_catalogue())


def on_the_match(book: Book) -> ParsedEvent:
    return event_parser(book, Settings().books[book])(raw_from_file(book, REAL_DIR / REAL_ANSWERS[book][0]))


BETPAWA = on_the_match(Book.BETPAWA)


@pytest.mark.parametrize("book", COMPETITORS)
def test_every_mapped_line_agrees_with_betpawas_own_price(book: Book) -> None:
    agreements = compare_event(BETPAWA, on_the_match(book), MAPPER)
    compared = [a for a in agreements if a.compared]
    assert len(compared) >= {Book.SPORTYBET: 110, Book.BET9JA: 90}[book]
    far = [a.to_json() for a in compared if a.max_difference > TOLERANCE]
    assert far == []


@pytest.mark.parametrize("book", COMPETITORS)
def test_every_source_marked_checked_was_compared_on_the_match(book: Book) -> None:
    """ "checked" is a claim about the recorded match: each such source has a line compared there."""
    competitor = on_the_match(book)
    sent = {line.market_id for line in competitor.lines}
    compared = {(a.market, a.entry_id) for a in compare_event(BETPAWA, competitor, MAPPER) if a.compared}
    claimed = {
        (source.market, entry.id)
        for entry in MAPPER.catalogue.entries.values()
        if entry.betpawa_id
        for source in entry.sources
        if source.book is book and source.evidence is Evidence.CHECKED
    }
    assert claimed, book
    assert claimed - compared == set(), f"sent on the match but never compared: {sorted(claimed - compared)}"
    assert {market for market, _ in claimed} <= sent


def _promoted(catalogue: Catalogue) -> Catalogue:
    """The catalogue with every disagreeing source mapped, to measure how far it is."""
    return Catalogue(
        dataclasses.replace(
            entry,
            sources=tuple(
                dataclasses.replace(s, evidence=Evidence.CHECKED) if s.evidence is Evidence.DISAGREES else s
                for s in entry.sources
            ),
        )
        for entry in catalogue.entries.values()
    )


@pytest.mark.parametrize("book", COMPETITORS)
def test_sources_left_unmapped_really_disagree(book: Book) -> None:
    """An UNCONFIRMED source must earn it: mapped, it would be off by more than the tolerance."""
    disagreeing = {
        (s.market, e.id)
        for e in file_catalogue().entries.values()
        for s in e.sources
        if s.book is book and s.evidence is Evidence.DISAGREES
    }
    worst: dict[tuple[str, str], float] = defaultdict(float)
    for agreement in compare_event(BETPAWA, on_the_match(book), MarketMapper(_promoted(file_catalogue()))):
        if (agreement.market, agreement.entry_id) in disagreeing and agreement.compared:
            worst[(agreement.market, agreement.entry_id)] = max(worst[(agreement.market, agreement.entry_id)],
                                                               agreement.max_difference)  # fmt: skip
    assert disagreeing, book
    assert set(worst) == disagreeing
    assert all(difference > TOLERANCE for difference in worst.values()), dict(worst)


@pytest.mark.parametrize(("book", "at_least"), [(Book.SPORTYBET, 173), (Book.BET9JA, 105)])
def test_coverage_on_the_match(book: Book, at_least: int) -> None:
    """The goals: SportyBet maps at least the 173 lines the reference maps, Bet9ja at least 105."""
    mappings = MAPPER.map_many(on_the_match(book).lines)
    assert sum(m.ok for m in mappings) >= at_least


def test_most_betpawa_lines_get_a_competitor_price() -> None:
    assert betpawa_lines_priced(BETPAWA, [on_the_match(b) for b in COMPETITORS], MAPPER) >= 0.9


def _flipped(event: ParsedEvent, market: str, swap: dict[str, str]) -> ParsedEvent:
    """The event with two outcomes of one market exchanged: the mapping errors this test must catch."""

    def swapped(line: MarketLineRecord) -> MarketLineRecord:
        if line.market_id != market:
            return line
        outcomes = tuple(msgspec.structs.replace(o, **_renamed(o, swap)) for o in line.outcomes)
        return msgspec.structs.replace(line, outcomes=outcomes)

    return msgspec.structs.replace(event, lines=tuple(swapped(line) for line in event.lines))


def _renamed(outcome: OutcomeRecord, swap: dict[str, str]) -> dict[str, str | None]:
    key = outcome.outcome_id or outcome.name
    if key not in swap:
        return {}
    if outcome.outcome_id:
        return {"outcome_id": swap[key]}
    return {"name": swap[key]}


@pytest.mark.parametrize(
    ("book", "market", "swap"),
    [
        (Book.SPORTYBET, "1", {"1": "3", "3": "1"}),  # home read as away
        (Book.SPORTYBET, "18", {"12": "13", "13": "12"}),  # over read as under
        (Book.SPORTYBET, "37", {"794": "796", "796": "794"}),  # the registry's swap of 1X2 & O/U
        (Book.BET9JA, "1X2HND", {"1H": "2H", "2H": "1H"}),  # a 3-way handicap's sides
        (Book.BET9JA, "HAOU", {"OH": "OA", "OA": "OH", "UH": "UA", "UA": "UH"}),  # home totals read as away
    ],
)
def test_a_wrong_mapping_is_caught(book: Book, market: str, swap: dict[str, str]) -> None:
    agreements = compare_event(BETPAWA, _flipped(on_the_match(book), market, swap), MAPPER)
    wrong = [a for a in agreements if a.market == market and a.compared]
    assert wrong and max(a.max_difference for a in wrong) > TOLERANCE
