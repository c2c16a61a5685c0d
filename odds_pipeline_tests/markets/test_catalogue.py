"""The catalogue as data, and against the sandbox: every source offered maps, and means what BetPawa means."""

from __future__ import annotations

from collections import defaultdict

from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.agreement import compare_event
from odds_pipeline.markets.catalogue import CatalogueEntry, Evidence, file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.sandbox.templates import real_answer, templates_for


def test_catalogue_entries_are_whole_and_round_trip() -> None:
    catalogue = file_catalogue()
    assert len(catalogue) >= 120
    assert sum(1 for e in catalogue.entries.values() if e.betpawa_id) >= 100
    for entry in catalogue.entries.values():
        assert CatalogueEntry.from_json(entry.to_json()) == entry
        outcome_ids = {o.id for o in entry.outcomes}
        for source in entry.sources:
            assert set(source.outcomes.values()) <= outcome_ids, (entry.id, source.market)
            assert set(source.outcome_ids.values()) <= outcome_ids, (entry.id, source.market)
            assert source.outcome_ids == {} or source.book is Book.SPORTYBET


def test_every_betpawa_market_of_the_real_answer_has_an_entry_with_its_real_names() -> None:
    catalogue = file_catalogue()
    for market in real_answer("betpawa_prematch.json")["markets"]:
        entry = catalogue.by_betpawa_id(str(market["marketType"]["id"]))
        assert entry is not None, market["marketType"]["name"]
        names = {p["name"] for row in market["row"] for p in row["prices"]}
        assert set(entry.betpawa_names()) in (names, set()), entry.id  # empty: players, named per event


def test_every_catalogue_source_round_trips_on_sandbox_payloads(sandbox_events, mapper: MarketMapper) -> None:
    """A source the sandbox offers must map, on some line of some event, onto its own entry."""
    mapped_to: dict[tuple[Book, str], set[str]] = defaultdict(set)
    for book in COMPETITORS:
        for parsed in sandbox_events[book]:
            for mapping in mapper.map_many(parsed.lines):
                for line in mapping.mapped:
                    mapped_to[(book, mapping.record.market_id)].add(line.entry_id)
    offered = {(t.book, t.market_id) for book in COMPETITORS for t in templates_for(book)}
    checked, missing = 0, []
    for entry in file_catalogue().entries.values():
        for source in entry.sources:
            key = (source.book, source.market)
            if not entry.betpawa_id or not entry.betpawa_names() or key not in offered:
                continue
            if source.evidence is Evidence.DISAGREES:
                continue
            checked += 1
            if entry.id not in mapped_to[key]:
                missing.append((entry.id, *key))
    assert checked >= 150
    assert missing == []


def test_every_betpawa_line_finds_its_entry(sandbox_events, mapper: MarketMapper) -> None:
    seen = {m.mapped[0].entry_id for p in sandbox_events[Book.BETPAWA] for m in mapper.map_many(p.lines)}
    assert "uncatalogued" not in seen
    offered = {t.market_id for t in templates_for(Book.BETPAWA)}
    expected = {e.id for e in file_catalogue().entries.values() if e.betpawa_id in offered}
    assert expected <= seen


def test_mapped_outcomes_mean_what_betpawa_means_on_the_sandbox(sandbox_events, mapper: MarketMapper) -> None:
    """The sandbox prices each book from its real prices, moved a few percent per match: de-margined,
    mapped lines still agree with BetPawa's. A swapped outcome shows as 0.1 or more."""
    betpawa: dict[str, ParsedEvent] = {p.event.sportradar_id: p for p in sandbox_events[Book.BETPAWA]}
    for book in COMPETITORS:
        compared, far = 0, []
        for parsed in sandbox_events[book]:
            reference = betpawa.get(parsed.event.sportradar_id)
            if reference is None or parsed.event.sportradar_id is None:
                continue
            for agreement in compare_event(reference, parsed, mapper):
                if agreement.compared:
                    compared += 1
                    if agreement.max_difference > 0.08:
                        far.append(agreement.to_json())
        assert compared > 2000, book
        assert len(far) <= compared * 0.01, (book, far[:10])
