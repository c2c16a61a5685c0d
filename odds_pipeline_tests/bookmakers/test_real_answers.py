"""The parsers on the books' real answers (odds_pipeline/sandbox/data/real): the truth they must read."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from odds_pipeline.bookmakers import bet9ja, betpawa, sportybet
from odds_pipeline.bookmakers.errors import InvalidOddsError
from odds_pipeline.bookmakers.records import ParsedEvent
from odds_pipeline.bookmakers.registry import event_parser
from odds_pipeline.domain import Book
from odds_pipeline.markets.explain import raw_from_file
from odds_pipeline.sandbox.templates import REAL_ANSWERS, REAL_DIR, real_answer
from odds_pipeline.settings import Settings

UTC_ZONE = ZoneInfo("UTC")
ALL_FILES = [(book, name) for book, names in REAL_ANSWERS.items() for name in names]


def parsed(book: Book, name: str) -> ParsedEvent:
    return event_parser(book, Settings().books[book])(raw_from_file(book, REAL_DIR / name))


@pytest.mark.parametrize(("book", "name"), ALL_FILES)
def test_every_real_answer_parses_without_a_problem(book: Book, name: str) -> None:
    event = parsed(book, name)
    assert event.problems == ()
    assert event.lines and all(line.outcomes for line in event.lines)
    for line in event.lines:
        for outcome in line.outcomes:
            assert (outcome.odds is None and outcome.suspended) or outcome.odds > 1.0


def test_the_three_books_agree_on_the_match() -> None:
    bp = parsed(Book.BETPAWA, "betpawa_prematch.json").event
    sb = parsed(Book.SPORTYBET, "sportybet_prematch.json").event
    b9 = parsed(Book.BET9JA, "bet9ja_prematch.json").event
    assert (bp.external_id, sb.external_id, b9.external_id) == ("33289995", "sr:match:68995116", "769895636")
    assert bp.sportradar_id == sb.sportradar_id == b9.sportradar_id == "68995116"
    # Bet9ja's STARTDATE "2026-05-06 11:00:00" is UTC: the three books agree on 11:00 UTC.
    assert bp.kickoff == sb.kickoff == b9.kickoff == datetime(2026, 5, 6, 11, tzinfo=UTC)
    assert (bp.home_team, bp.away_team) == ("Wuhan Three Towns FC", "Qingdao Hainiu FC")
    assert (sb.home_team, sb.away_team) == ("Wuhan Three Towns FC", "Qingdao Hainiu FC")
    assert (b9.home_team, b9.away_team) == ("Wuhan Three Towns", "Qingdao Hainiu FC")
    for event in (bp, sb, b9):
        assert (event.tournament.name, event.tournament.country) == ("Chinese Super League", "China")
    assert (bp.tournament.external_id, sb.tournament.external_id, b9.tournament.external_id) == (
        "13344",
        "sr:tournament:649",
        "1414963",
    )
    assert sb.tournament.sportradar_id == "649"


def test_line_counts() -> None:
    """SportyBet: one line per market object; Bet9ja: per (key, @param); BetPawa: per (market, line), not per row."""
    payload = real_answer("betpawa_prematch.json")
    assert sum(len(m["row"]) for m in payload["markets"]) == 251
    assert len(parsed(Book.BETPAWA, "betpawa_prematch.json").lines) == 118
    assert len(parsed(Book.SPORTYBET, "sportybet_prematch.json").lines) == 360
    assert len(parsed(Book.SPORTYBET, "sportybet_2way_handicap_ft.json").lines) == 617
    assert len(parsed(Book.BET9JA, "bet9ja_prematch.json").lines) == 221
    assert len(parsed(Book.BET9JA, "bet9ja_next_goal_and_team_ou.json").lines) == 194


def test_betpawa_rows_of_one_line_form_one_outcome_set() -> None:
    lines = {(line.market_id, line.line): line for line in parsed(Book.BETPAWA, "betpawa_prematch.json").lines}
    correct_score = lines[("4429", None)]
    assert len(correct_score.outcomes) == sum(
        len(r["prices"])
        for m in real_answer("betpawa_prematch.json")["markets"]
        if m["marketType"]["id"] == "4429"
        for r in m["row"]
    )
    assert {"0-0", "1-0", "Other"} <= {o.name for o in correct_score.outcomes}
    combo = lines[("1096755", 2.5)]
    assert sorted(o.name for o in combo.outcomes) == [f"{r} - {t}" for r in "12X" for t in ("Over", "Under")]
    # Asian handicap rows carry the line on the home price: "-1.5" for 1, "+1.5" for 2.
    assert {line for market, line in lines if market == "3774"} == {-1.5, -0.5, 0.5, 1.5}
    assert [o.name for o in lines[("3774", -1.5)].outcomes] == ["1", "2"]
    assert lines[("3774", -1.5)].outcomes[0].odds == 4.65
    # 3-way handicap: the row's formattedHandicap, home's side.
    assert {line for market, line in lines if market == "4724"} == {-2.0, -1.0, 1.0, 2.0}
    assert {line for market, line in lines if market == "5000"} == {0.5, 1.5, 2.5, 3.5, 4.5, 5.5}


@pytest.mark.parametrize(
    ("book", "name", "off_outcomes"),
    [
        # BetPawa: price 0.0 with suspended true (Multigoals 1-5 and 1-6).
        (Book.BETPAWA, "betpawa_prematch.json", 2),
        # SportyBet: isActive 0, with "0.00" (goalscorers) or "1.00" (900313), or a last price.
        (Book.SPORTYBET, "sportybet_prematch.json", 21),
        # Bet9ja: a bare "1".
        (Book.BET9JA, "bet9ja_prematch.json", 14),
    ],
)
def test_outcomes_that_are_off_stay_on_their_line_as_suspended(book: Book, name: str, off_outcomes: int) -> None:
    outcomes = [o for line in parsed(book, name).lines for o in line.outcomes]
    assert sum(o.suspended for o in outcomes) == off_outcomes
    assert all(o.odds is None for o in outcomes if o.suspended) == (book is not Book.SPORTYBET)


def test_sportybet_inactive_outcomes_keep_a_real_last_price() -> None:
    outcomes = [o for line in parsed(Book.SPORTYBET, "sportybet_prematch.json").lines for o in line.outcomes]
    suspended = [o for o in outcomes if o.suspended]
    # "0.00" (three goalscorers) and "1.00" (thirteen on 900313) are no price; "1.01" and 60180's
    # three are last prices of inactive outcomes.
    assert Counter(o.odds is None for o in suspended) == {True: 16, False: 5}


def test_sportybet_outcomes_carry_their_sportradar_id_and_a_label_without_the_line() -> None:
    lines = parsed(Book.SPORTYBET, "sportybet_prematch.json").lines
    over_under = next(line for line in lines if line.market_id == "18" and line.specifier == "total=2.5")
    assert [(o.outcome_id, o.name, o.label) for o in over_under.outcomes] == [
        ("12", "Over 2.5", "Over"),
        ("13", "Under 2.5", "Under"),
    ]
    asian = next(line for line in lines if line.market_id == "16" and line.specifier == "hcp=-1.5")
    assert [(o.outcome_id, o.label) for o in asian.outcomes] == [("1714", "Home"), ("1715", "Away")]
    european = next(line for line in lines if line.market_id == "14" and line.specifier == "hcp=0:1")
    assert [o.label for o in european.outcomes] == ["Home", "Draw", "Away"]
    combo = next(line for line in lines if line.market_id == "37" and line.specifier == "total=1.5")
    assert "Home & Under" in {o.label for o in combo.outcomes}
    named = next(line for line in lines if line.market_id == "818" and line.specifier == "total=1.5")
    assert "Home/Home & under" in {o.label for o in named.outcomes}


def _one_bad(book: Book, name: str, mutate) -> ParsedEvent:
    payload = copy.deepcopy(real_answer(name))
    mutate(payload)
    body = json.dumps(payload).encode()
    raw = raw_from_file(book, REAL_DIR / name)
    return event_parser(book, Settings().books[book])(raw.__class__(**{**raw.__dict__, "body": body, "_decoded": []}))


def _set_sportybet(payload, value, active=1) -> None:
    outcome = payload["data"]["markets"][0]["outcomes"][0]
    outcome.update(odds=value, isActive=active)


@pytest.mark.parametrize(
    ("book", "name", "mutate"),
    [
        (Book.SPORTYBET, "sportybet_prematch.json", lambda p: _set_sportybet(p, "0.00")),  # active, yet 0
        (Book.SPORTYBET, "sportybet_prematch.json", lambda p: _set_sportybet(p, "0.50", active=0)),
        (Book.SPORTYBET, "sportybet_prematch.json", lambda p: _set_sportybet(p, "NaN")),
        (Book.SPORTYBET, "sportybet_prematch.json", lambda p: _set_sportybet(p, "-2.10")),
        (Book.SPORTYBET, "sportybet_prematch.json", lambda p: _set_sportybet(p, "two")),
        (Book.BETPAWA, "betpawa_prematch.json", lambda p: p["markets"][0]["row"][0]["prices"][0].update(price=0.0)),
        (Book.BETPAWA, "betpawa_prematch.json", lambda p: p["markets"][0]["row"][0]["prices"][0].update(price=0.5)),
        (Book.BET9JA, "bet9ja_prematch.json", lambda p: p["D"]["O"].update({"S_1X2_1": "0.5"})),
        (Book.BET9JA, "bet9ja_prematch.json", lambda p: p["D"]["O"].update({"S_1X2_1": "n/a"})),
    ],
)
def test_impossible_prices_are_errors_that_drop_only_their_line(book: Book, name: str, mutate) -> None:
    clean = parsed(book, name)
    broken = _one_bad(book, name, mutate)
    assert [type(p) for p in broken.problems] == [InvalidOddsError]
    assert len(broken.lines) == len(clean.lines) - 1


def test_parsers_read_the_same_answers_the_module_functions_read() -> None:
    """The registry's parsers are the modules' own: no second reading of a book anywhere."""
    assert (
        betpawa.parse_event(real_answer("betpawa_prematch.json")).lines
        == parsed(Book.BETPAWA, "betpawa_prematch.json").lines
    )
    assert (
        sportybet.parse_event(real_answer("sportybet_prematch.json")["data"]).lines
        == parsed(Book.SPORTYBET, "sportybet_prematch.json").lines
    )
    assert (
        bet9ja.parse_event(real_answer("bet9ja_prematch.json")["D"], UTC_ZONE).lines
        == parsed(Book.BET9JA, "bet9ja_prematch.json").lines
    )
