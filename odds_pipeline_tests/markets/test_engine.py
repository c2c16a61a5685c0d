"""The mapping engine on hand-written lines: conventions, traps and reasons."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from odds_pipeline.bookmakers import values
from odds_pipeline.bookmakers.records import MarketLineRecord, OutcomeRecord
from odds_pipeline.bookmakers.sportybet import parse_specifier
from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import LineKind, file_catalogue
from odds_pipeline.markets.engine import MappingReason, MarketMapper

MAPPER = MarketMapper(file_catalogue())


def sportybet(market: str, outcomes: dict[str, float], specifier: str | None = None) -> MarketLineRecord:
    params, line, hcp = parse_specifier(specifier, "test", None) if specifier else ((), None, None)
    return MarketLineRecord(
        book=Book.SPORTYBET,
        market_id=market,
        market_name=None,
        outcomes=tuple(OutcomeRecord(name, odds) for name, odds in outcomes.items()),
        specifier=specifier,
        line=line,
        handicap=hcp,
        params=params,
    )


def bet9ja(market: str, outcomes: dict[str, float], param: str | None = None) -> MarketLineRecord:
    return MarketLineRecord(
        book=Book.BET9JA,
        market_id=market,
        market_name=None,
        outcomes=tuple(OutcomeRecord(name, odds) for name, odds in outcomes.items()),
        specifier=param,
        line=float(param) if param is not None else None,
        handicap=param,
    )


def only(record: MarketLineRecord):
    mapping = MAPPER.map(record)
    assert mapping.unmapped is None, mapping.unmapped
    assert len(mapping.mapped) == 1
    return mapping.mapped[0]


def reason(record: MarketLineRecord) -> MappingReason:
    mapping = MAPPER.map(record)
    assert not mapping.mapped
    return mapping.unmapped.reason


@pytest.mark.parametrize(
    ("head_start", "home_line"),
    [("0:1", -1.0), ("1:0", 1.0), ("0:2", -2.0), ("2:0", 2.0), ("0:0", 0.0), ("0:3", -3.0)],
)
def test_european_head_start_converts_both_ways(head_start, home_line):
    assert values.head_start_to_home_line(Book.SPORTYBET, head_start, "hcp") == home_line
    assert values.home_line_to_head_start(home_line) == head_start


@pytest.mark.parametrize(
    ("record", "market", "line", "home", "away"),
    [
        # European 3-way: SportyBet's 0:1 head start for away is home -1, Bet9ja writes home's -1.
        (sportybet("14", {"Home": 4.0, "Draw": 3.8, "Away": 1.7}, "hcp=0:1"), "4724", -1.0, -1.0, 1.0),
        (sportybet("14", {"Home": 1.3, "Draw": 5.0, "Away": 8.0}, "hcp=1:0"), "4724", 1.0, 1.0, -1.0),
        (bet9ja("1X2HND", {"1H": 4.0, "XH": 3.8, "2H": 1.7}, "-1"), "4724", -1.0, -1.0, 1.0),
        # Asian 2-way: the number is home's handicap on both books.
        (sportybet("16", {"Home": 1.9, "Away": 1.9}, "hcp=-0.5"), "3774", -0.5, -0.5, 0.5),
        (bet9ja("AH", {"1": 2.1, "2": 1.7}, "0.25"), "3774", 0.25, 0.25, -0.25),
        (bet9ja("AH1T", {"1": 2.1, "2": 1.7}, "0"), "3747", 0.0, 0.0, 0.0),
    ],
)
def test_handicaps_are_stored_as_the_home_side(record, market, line, home, away):
    mapped = only(record)
    assert (mapped.betpawa_market_id, mapped.line, mapped.handicap_home, mapped.handicap_away) == (
        market,
        line,
        home,
        away,
    )
    assert mapped.handicap_type in (LineKind.ASIAN, LineKind.EUROPEAN)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (sportybet("16", {"Home": 1.9, "Away": 1.9}, "hcp=0:1"), MappingReason.BAD_LINE),  # 3-way on 2-way
        (sportybet("14", {"Home": 1.9, "Draw": 3, "Away": 1.9}, "hcp=-0.5"), MappingReason.BAD_LINE),
        (sportybet("18", {"Over": 1.9, "Under": 1.9}), MappingReason.BAD_LINE),  # O/U without its total
        (sportybet("18", {"Over": 1.9, "Under": 1.9}, "total=2.3"), MappingReason.BAD_LINE),
        (bet9ja("OU", {"O": 1.9, "U": 1.9}), MappingReason.BAD_LINE),
        (bet9ja("AH", {"1": 1.9, "2": 1.9}, "0.3"), MappingReason.BAD_LINE),
        (bet9ja("1X2HND", {"1H": 4.0, "XH": 3.8, "2H": 1.7}, "-0.5"), MappingReason.BAD_LINE),
        (sportybet("1", {"Home": 2, "Draw": 3, "Away": 4}, "total=2.5"), MappingReason.UNKNOWN_PARAM),
        (bet9ja("1X2", {"1": 2, "X": 3, "2": 4}, "1"), MappingReason.UNKNOWN_PARAM),
        (sportybet("105", {"Home": 2, "Draw": 3, "Away": 4}, "from=1|to=5"), MappingReason.UNKNOWN_PARAM),
        (sportybet("424242", {"Home": 2}), MappingReason.UNKNOWN_MARKET),
        (bet9ja("NOSUCHKEY", {"1": 2}), MappingReason.UNKNOWN_MARKET),
        (sportybet("1", {"Team A": 2, "Team B": 4}), MappingReason.UNKNOWN_OUTCOME),
        (sportybet("900069", {"Home": 2, "Draw": 3, "Away": 4}), MappingReason.NO_BETPAWA_EQUIVALENT),
        (bet9ja("OUGGNG", {"OY": 3.1, "ON": 3.4, "UY": 4.0, "UN": 2.9}), MappingReason.BAD_LINE),
    ],
)
def test_reasons(record, expected):
    assert reason(record) is expected


@pytest.mark.parametrize("market", ["60100", "60200"])
def test_early_payout_1x2_is_never_the_plain_1x2(market):
    mapping = MAPPER.map(sportybet(market, {"Home": 1.8, "Draw": 3.9, "Away": 4.4}))
    assert "3743" not in {line.betpawa_market_id for line in mapping.mapped}


def test_1up_maps_to_betpawas_1up_and_2up_to_nothing():
    one_up = only(sportybet("60200", {"Home": 1.66, "Draw": 3.3, "Away": 1.88}))
    assert (one_up.betpawa_market_id, one_up.margin) == ("28000810", None)  # home and away can both win
    assert reason(sportybet("60100", {"Home": 2.21, "Draw": 3.3, "Away": 2.71})) is MappingReason.NO_BETPAWA_EQUIVALENT


def test_outcomes_match_by_sportradar_id_before_the_label():
    """SportyBet's outcome id says which outcome it is, whatever its desc says."""
    record = MarketLineRecord(
        book=Book.SPORTYBET,
        market_id="18",
        market_name=None,
        outcomes=(
            OutcomeRecord("Plus de 2.5", 1.9, outcome_id="12"),
            OutcomeRecord("Moins de 2.5", 1.9, outcome_id="13"),
        ),
        specifier="total=2.5",
        line=2.5,
        params=(("total", "2.5"),),
    )
    assert [(o.name, o.source_name) for o in only(record).outcomes] == [
        ("Over", "Plus de 2.5"),
        ("Under", "Moins de 2.5"),
    ]


def test_a_market_whose_prices_disagree_is_left_unmapped_with_its_reason():
    mapping = MAPPER.map(bet9ja("CS1T", {"0:0": 2.76, "1:0": 4.4, "OTH": 12.25}))
    assert mapping.unmapped.reason is MappingReason.UNCONFIRMED
    assert "0-0" in mapping.unmapped.detail


def test_next_goal_line_is_the_goal_number():
    mapped = only(sportybet("8", {"Home": 1.94, "None": 11.0, "Away": 2.2}, "goalnr=1"))
    assert (mapped.betpawa_market_id, mapped.line) == ("28000224", 1.0)
    assert reason(sportybet("8", {"Home": 1.94, "None": 11.0, "Away": 2.2}, "goalnr=x")) is MappingReason.BAD_LINE
    first = only(bet9ja("1STGOAL", {"1": 1.88, "X": 9.7, "2": 2.1}))
    assert (first.betpawa_market_id, first.line, [o.name for o in first.outcomes]) == (
        "28000224",
        1.0,
        ["1", "None", "2"],
    )


def test_outcomes_match_by_name_whatever_the_order():
    mapped = only(sportybet("1", {"Away": 4.4, "Home": 1.8, "draw": 3.9}))
    assert [(o.name, o.odds) for o in mapped.outcomes] == [("2", 4.4), ("1", 1.8), ("X", 3.9)]


def test_an_unknown_outcome_is_reported_and_spoils_the_margin():
    mapping = MAPPER.map(sportybet("1", {"Home": 1.8, "Draw": 3.9, "Away": 4.4, "Abandoned": 50.0}))
    assert mapping.unknown_outcomes == ("Abandoned",)
    assert mapping.mapped[0].margin is None


@pytest.mark.parametrize(
    "record",
    [
        sportybet("36", {"Over & Yes": 3.1, "Over & No": 3.4, "Under & Yes": 4.0, "Under & No": 2.9}, "total=2.5"),
        bet9ja("OUGGNG", {"OY": 3.1, "ON": 3.4, "UY": 4.0, "UN": 2.9}, "2.5"),
    ],
)
def test_combos_keep_their_line_on_every_book(record):
    mapped = only(record)
    assert (mapped.betpawa_market_id, mapped.line) == ("4613062", 2.5)
    assert {o.name for o in mapped.outcomes} == {"Over & Yes", "Over & No", "Under & Yes", "Under & No"}


def test_bet9ja_combined_team_totals_split_into_home_and_away():
    mapping = MAPPER.map(bet9ja("HAOU", {"OH": 1.5, "UH": 2.5, "OA": 1.9, "UA": 1.9}, "0.5"))
    by_market = {m.betpawa_market_id: m for m in mapping.mapped}
    assert set(by_market) == {"5006", "5003"}
    assert {o.name: o.odds for o in by_market["5006"].outcomes} == {"Over": 1.5, "Under": 2.5}
    assert {o.name: o.odds for o in by_market["5003"].outcomes} == {"Over": 1.9, "Under": 1.9}
    assert all(m.line == 0.5 and m.complete for m in mapping.mapped)


def test_team_to_score_is_over_half_a_goal():
    mapped = only(sportybet("900015", {"Yes": 1.3, "No": 3.4}))
    assert (mapped.betpawa_market_id, mapped.line) == ("5006", 0.5)
    assert {o.name: o.odds for o in mapped.outcomes} == {"Over": 1.3, "Under": 3.4}


def test_time_range_market_maps_only_its_own_range():
    mapped = only(sportybet("105", {"Home": 5.0, "Draw": 1.3, "Away": 6.0}, "from=1|to=10"))
    assert mapped.betpawa_market_id == "28000173"


def test_double_chance_has_no_margin_but_1x2_does():
    dc = only(sportybet("10", {"Home or Draw": 1.25, "Draw or Away": 1.6, "Home or Away": 1.3}))
    assert dc.complete and dc.margin is None
    result = only(sportybet("1", {"Home": 2.0, "Draw": 3.4, "Away": 3.9}))
    assert result.margin == pytest.approx(1 / 2.0 + 1 / 3.4 + 1 / 3.9 - 1)


def test_a_suspended_outcome_never_enters_a_margin():
    record = MarketLineRecord(
        book=Book.SPORTYBET,
        market_id="1",
        market_name=None,
        outcomes=(OutcomeRecord("Home", 2.0), OutcomeRecord("Draw", 3.4, suspended=True), OutcomeRecord("Away", 3.9)),
    )
    mapped = only(record)
    assert not mapped.complete and mapped.margin is None and mapped.fair() is None


def test_betpawa_lines_map_onto_themselves():
    record = MarketLineRecord(
        book=Book.BETPAWA,
        market_id="5000",
        market_name="Over/Under",
        outcomes=(OutcomeRecord("Over", 1.9), OutcomeRecord("Under", 1.9)),
        specifier="2.5",
        line=2.5,
    )
    mapped = only(record)
    assert (mapped.betpawa_market_id, mapped.line, mapped.entry_id) == ("5000", 2.5, "over_under_ft")
    assert mapped.margin == pytest.approx(2 / 1.9 - 1)


catalogue_markets = sorted({(s.book, s.market) for e in file_catalogue().entries.values() for s in e.sources})
labels = st.sampled_from(["Home", "Draw", "Away", "Over", "Under", "Yes", "No", "1", "X", "2", "O", "U", "OH", "UA"])


@st.composite
def line_records(draw) -> MarketLineRecord:
    book, market = draw(
        st.one_of(st.sampled_from(catalogue_markets), st.tuples(st.sampled_from(list(Book)), st.text()))
    )
    specifier = draw(
        st.one_of(st.none(), st.sampled_from(["total=2.5", "hcp=0:1", "hcp=-0.75", "2.5", "-1"]), st.text())
    )
    params = draw(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=3))
    line = draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
    outcomes = draw(
        st.lists(
            st.builds(OutcomeRecord, st.one_of(labels, st.text()), st.floats(1.01, 1000), st.booleans()), max_size=8
        )
    )
    return MarketLineRecord(
        book=book,
        market_id=market,
        market_name=None,
        outcomes=tuple(outcomes),
        specifier=specifier,
        line=line,
        params=tuple(params),
    )


@settings(max_examples=400, deadline=None)
@given(line_records())
# Found by hypothesis: a finite line whose quotient by the step overflows to infinity.
@example(
    MarketLineRecord(
        book=Book.BET9JA, market_id="HA1HOU", market_name=None, outcomes=(), specifier="total=2.5",
        line=4.49423283715579e307,
    )
)  # fmt: skip
def test_any_line_gives_a_mapping_or_a_reason(record):
    mapping = MAPPER.map(record)
    assert bool(mapping.mapped) != (mapping.unmapped is not None)
    json.dumps(mapping.to_json(), allow_nan=True)
    for line in mapping.mapped:
        assert line.betpawa_market_id
        if line.margin is not None:
            assert line.margin > -1
