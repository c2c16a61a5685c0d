"""The catalogue against the sandbox: every entry's sources map, and map to the right outcomes."""

from __future__ import annotations

from collections import defaultdict

from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets import margins
from odds_pipeline.markets.build import AUDIT_ADDITIONS
from odds_pipeline.markets.catalogue import CatalogueEntry, file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.sandbox.inventory import templates_for


def test_catalogue_has_the_reference_entries_and_the_additions():
    catalogue = file_catalogue()
    assert len(catalogue) >= 120
    assert sum(1 for e in catalogue.entries.values() if e.betpawa_id) >= 106
    for entry in catalogue.entries.values():
        assert CatalogueEntry.from_json(entry.to_json()) == entry
        for source in entry.sources:
            assert set(source.outcomes.values()) <= {o.id for o in entry.outcomes}, (entry.id, source.market)


def test_every_catalogue_source_round_trips_on_sandbox_payloads(sandbox_events, mapper: MarketMapper):
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
            if not (entry.betpawa_id and entry.betpawa_names()) or key not in offered:
                continue
            checked += 1
            if entry.id not in mapped_to[key]:
                missing.append((entry.id, *key))
    assert checked >= 150
    assert missing == []


def test_every_betpawa_entry_is_known_for_betpawa_lines(sandbox_events, mapper: MarketMapper):
    seen = {m.mapped[0].entry_id for p in sandbox_events[Book.BETPAWA] for m in mapper.map_many(p.lines)}
    assert "uncatalogued" not in seen
    betpawa_entries = {e.id for e in file_catalogue().entries.values() if e.betpawa_id and e.betpawa_names()}
    offered = {t.market_id for t in templates_for(Book.BETPAWA)}
    expected = {e for e in betpawa_entries if file_catalogue().entries[e].betpawa_id in offered}
    assert expected <= seen


# The sandbox prices these as markets of their own: it does not know "home to score" is "home over 0.5".
PRICED_APART = {(book, market) for _, book, market, *_ in AUDIT_ADDITIONS}


def _fair_by_key(mapper: MarketMapper, parsed: ParsedEvent) -> dict[tuple[str, float | None], dict[str, float]]:
    fair = {}
    for mapping in mapper.map_many(parsed.lines):
        if (mapping.record.book, mapping.record.market_id) in PRICED_APART:
            continue
        for line in mapping.mapped:
            if line.priced_set:
                probabilities = margins.fair_multiplicative([o.odds for o in line.outcomes])
                fair[(line.betpawa_market_id, line.line)] = {
                    o.name: p for o, p in zip(line.outcomes, probabilities, strict=True)
                }
    return fair


def test_mapped_outcomes_mean_what_betpawa_means(sandbox_events, mapper: MarketMapper):
    """Books price one truth with their own margins: de-margined, a mapped line agrees with BetPawa's.

    A swapped outcome (home read as away, over as under, a handicap sign flipped) shows up as a
    probability far from BetPawa's for the same market and line.
    """
    betpawa = {p.event.sportradar_id: p for p in sandbox_events[Book.BETPAWA] if p.event.sportradar_id}
    for book in COMPETITORS:
        compared, far = 0, []
        for parsed in sandbox_events[book]:
            reference = betpawa.get(parsed.event.sportradar_id)
            if reference is None:
                continue
            ours, theirs = _fair_by_key(mapper, parsed), _fair_by_key(mapper, reference)
            for key in ours.keys() & theirs.keys():
                for name, probability in ours[key].items():
                    compared += 1
                    if abs(probability - theirs[key].get(name, -1)) > 0.06:
                        far.append((key, name, round(probability, 3), theirs[key].get(name)))
        assert compared > 5000, book
        assert len(far) <= compared * 0.02, (book, far[:10])
