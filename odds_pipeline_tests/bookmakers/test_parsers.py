"""Parsers against sandbox payloads, hand-written edge cases, and random or mutated JSON."""

from __future__ import annotations

import contextlib
import copy
import math
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from odds_pipeline.bookmakers import bet9ja, betpawa, sportybet, values
from odds_pipeline.bookmakers.errors import (
    BookmakerError,
    InvalidKickoffError,
    InvalidOddsError,
    MissingFieldError,
)
from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.bookmakers.registry import parsers
from odds_pipeline.domain import Book
from odds_pipeline.sandbox import payloads
from odds_pipeline.sandbox.world import Scale, World, WorldConfig
from odds_pipeline.settings import Settings

WORLD = World(WorldConfig(seed=5, scale=Scale.DEMO, follow_wall_clock=False))
UTC_ZONE = ZoneInfo("UTC")


def _match(book: Book):
    return next(m for m in WORLD.listed_matches(book) if len(m.books) == 3)


def _as_sent(payload):
    """The answer as it crosses the wire: a copy the test may change (answers share the templates' parts)."""
    return orjson.loads(orjson.dumps(payload))


def betpawa_payload():
    return _as_sent(payloads.betpawa_event(WORLD, _match(Book.BETPAWA)))


def sportybet_payload():
    return _as_sent(payloads.sportybet_event(WORLD, _match(Book.SPORTYBET)))["data"]


def bet9ja_payload():
    return _as_sent(payloads.bet9ja_event(WORLD, _match(Book.BET9JA), UTC_ZONE))["D"]


def test_the_three_books_agree_on_the_same_match() -> None:
    match = _match(Book.BETPAWA)
    bp = betpawa.parse_event(betpawa_payload())
    sb = sportybet.parse_event(sportybet_payload())
    b9 = bet9ja.parse_event(bet9ja_payload(), UTC_ZONE)
    assert bp.event.sportradar_id == sb.event.sportradar_id == b9.event.sportradar_id == match.sportradar_id
    assert bp.event.kickoff == sb.event.kickoff == b9.event.kickoff == match.kickoff
    assert bp.event.kickoff.tzinfo is not None
    assert (bp.problems, sb.problems, b9.problems) == ((), (), ())
    assert len(bp.lines) > 60 and len(sb.lines) > 100 and len(b9.lines) > 100
    assert bp.event.tournament.country == match.tournament.country


def test_betpawa_lines_come_from_rows_and_prices() -> None:
    parsed = betpawa.parse_event(betpawa_payload())
    totals = {line.line for line in parsed.lines if line.market_id == "5000"}
    assert 2.5 in totals and None not in totals
    one_x_two = next(line for line in parsed.lines if line.market_id == "3743")
    assert [o.name for o in one_x_two.outcomes] == ["1", "X", "2"]
    assert one_x_two.line is None and "popular" in one_x_two.groups


@pytest.mark.parametrize(
    ("specifier", "line", "hcp"),
    [
        ("total=2.5", 2.5, None),
        ("hcp=-0.5", -0.5, "-0.5"),
        ("hcp=0:1", -1.0, "0:1"),
        ("hcp=2:0", 2.0, "2:0"),
        ("variant=sr:exact_goals:6+", None, None),
        ("minsnr=10|total=1.5", 1.5, None),
        ("from=1|to=10", None, None),
        ("TOTAL=3.5", 3.5, None),
    ],
)
def test_sportybet_specifiers(specifier: str, line: float | None, hcp: str | None) -> None:
    params, parsed_line, parsed_hcp = sportybet.parse_specifier(specifier, "specifier", None)
    assert parsed_line == line and parsed_hcp == hcp
    assert all(key == key.lower() for key, _ in params)


@pytest.mark.parametrize(
    ("key", "market", "param", "suffix"),
    [
        ("S_OU@2.5_O", "OU", "2.5", "O"),
        ("S_AH@-0.5_1", "AH", "-0.5", "1"),
        ("S_1X2HND@-1_1H", "1X2HND", "-1", "1H"),
        ("S_HTFTOU@1.5_X/XU", "HTFTOU", "1.5", "X/XU"),
        ("S_1X2MULTI1-2_1", "1X2MULTI1-2", None, "1"),
        ("S_HTFTCS_0-0/1-0", "HTFTCS", None, "0-0/1-0"),
    ],
)
def test_bet9ja_keys(key: str, market: str, param: str | None, suffix: str) -> None:
    found = bet9ja.ODDS_KEY.match(key)
    assert (found["market"], found["param"], found["suffix"]) == (market, param, suffix)
    assert bet9ja.EventParser(UTC_ZONE)._key(key) == ((market, param), suffix)


def _label_as_first_written(desc: str, total: str | None) -> tuple[str, str]:
    """The label rule in its plainest form: what the parser's faster version must always agree with."""
    label = sportybet.HANDICAP_IN_DESC.sub("", desc)
    if total:
        label = re.sub(rf"\s*(?<![\w.]){re.escape(total)}(?![\w.])", "", label)
    return label, " ".join(label.split())


# Pieces of descs as SportyBet writes them, and the odd ones: tabs, no-break spaces, an Arabic digit.
DESC_PARTS = st.sampled_from(
    [
        *("Over", "Home", "Pumas", "&", "0", "1", "2.5", "12", "\u0663", "+", "-", ".", ":", "(", ")"),
        *(" ", "  ", "\t", "\xa0"),
        *("(+1)", "(-0.5)", " (0:1)", "(1.25)", "(Pumas)", "(+)", "(\u0663)", "(2.5)"),
    ]
)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(DESC_PARTS, min_size=1, max_size=8), total=st.sampled_from([None, "1", "2.5", "0.75"]))
def test_sportybet_labels_agree_with_the_plain_rule(parts: list[str], total: str | None) -> None:
    desc = "".join(parts)
    assert sportybet._without_line(desc, total) == _label_as_first_written(desc, total)


@pytest.mark.parametrize("book", list(Book))
@settings(max_examples=300, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5) | st.booleans() | st.none())
def test_the_price_reader_reads_as_odds_does(book: Book, value) -> None:
    """Whatever shortcut the reader takes for a number, its verdict is ``values.odds``'s."""
    off = {Book.BETPAWA: betpawa.BETPAWA_OFF, Book.SPORTYBET: sportybet.SPORTYBET_OFF, Book.BET9JA: bet9ja.BET9JA_OFF}
    reader = values.PriceReader(book, off[book])
    for may_be_off in (False, True):
        markers = off[book] if may_be_off else ()
        try:
            expected = values.odds(book, value, "price", off_markers=markers)
        except InvalidOddsError:
            with pytest.raises(InvalidOddsError):
                reader(value, "price", may_be_off=may_be_off)
        else:
            assert reader(value, "price", may_be_off=may_be_off) == expected


@pytest.mark.parametrize("bad", [1.0, 0.5, "abc", float("nan"), float("inf"), None, True, "-2"])
def test_impossible_odds_name_the_field_and_keep_the_rest(bad) -> None:
    payload = betpawa_payload()
    payload["markets"][0]["row"][0]["prices"][1]["price"] = bad
    parsed = betpawa.parse_event(payload)
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert isinstance(problem, InvalidOddsError)
    assert problem.field == "markets[0].row[0].prices[1].price"
    assert len(parsed.lines) == len(betpawa.parse_event(betpawa_payload()).lines) - 1


def test_bet9ja_bad_price_drops_its_line_only() -> None:
    payload = bet9ja_payload()
    payload["O"]["S_1X2_X"] = "n/a"
    parsed = bet9ja.parse_event(payload, UTC_ZONE)
    assert [type(p) for p in parsed.problems] == [InvalidOddsError]
    assert "1X2" not in {line.market_id for line in parsed.lines}
    assert "OU" in {line.market_id for line in parsed.lines}


def test_sportybet_tolerates_the_optional_fields_the_reference_found_missing() -> None:
    payload = sportybet_payload()
    for market in payload["markets"]:
        for key in ("lastOddsChangeTime", "group", "groupId", "title", "name", "sourceType", "farNearOdds"):
            market.pop(key, None)
        market["marketExtendVOS"] = [{"name": "1UP", "notSupport": False}]
    parsed = sportybet.parse_event(payload)
    assert parsed.problems == () and len(parsed.lines) == len(payload["markets"])


def test_suspension_flags() -> None:
    payload = sportybet_payload()
    payload["markets"][0]["outcomes"][0]["isActive"] = 0
    assert sportybet.parse_event(payload).lines[0].outcomes[0].suspended


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda p: p.pop("id"), MissingFieldError),
        (lambda p: p.update(startTime="tomorrow"), InvalidKickoffError),
        (lambda p: p.update(startTime="2026-01-19T20:00:00"), InvalidKickoffError),  # no zone: refused
    ],
)
def test_betpawa_header_errors_are_typed(mutate, error) -> None:
    payload = betpawa_payload()
    mutate(payload)
    with pytest.raises(error):
        betpawa.parse_event(payload)


def test_bet9ja_startdate_zone_is_a_setting_not_a_guess() -> None:
    payload = bet9ja_payload()
    payload["STARTDATE"] = "2026-01-19 20:00:00"
    assert bet9ja.parse_event(payload, ZoneInfo("UTC")).event.kickoff == datetime(2026, 1, 19, 20, tzinfo=UTC)
    lagos = bet9ja.parse_event(payload, ZoneInfo("Africa/Lagos")).event.kickoff
    assert lagos == datetime(2026, 1, 19, 19, tzinfo=UTC)


def test_bet9ja_event_without_sportradar_id_is_kept() -> None:
    payload = bet9ja_payload()
    payload["EXTID"] = ""
    assert bet9ja.parse_event(payload, UTC_ZONE).event.sportradar_id is None


PARSERS = {
    "betpawa": (betpawa_payload, betpawa.parse_event),
    "sportybet": (sportybet_payload, sportybet.parse_event),
    "bet9ja": (bet9ja_payload, lambda p: bet9ja.parse_event(p, UTC_ZONE)),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _assert_only_typed_errors(parse, payload) -> None:
    with contextlib.suppress(BookmakerError):
        parse(payload)


def _mutated(payload, data):
    """The payload with one to four values replaced by random JSON or removed."""
    paths = list(_paths(payload))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        target = payload
        for step in path[:-1]:
            target = target[step]
        if data.draw(st.booleans()) and isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            with contextlib.suppress(IndexError, KeyError, TypeError):
                target[path[-1]] = data.draw(json_values)
        paths = list(_paths(payload))
        if not paths:
            break
    return payload


@pytest.mark.parametrize("book", list(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_payloads_raise_only_typed_errors(book: str, data) -> None:
    make, parse = PARSERS[book]
    _assert_only_typed_errors(parse, _mutated(make(), data))


ANSWER = {
    "betpawa": lambda event: event,
    "sportybet": lambda event: {"bizCode": 10000, "message": "0#0", "data": event},
    "bet9ja": lambda event: {"R": "OK", "D": event},
}


def _outcome_of(parse, given):
    try:
        parsed = parse(given)
    except BookmakerError as error:
        return type(error)
    return parsed.event, parsed.lines, [(type(p), p.field) for p in parsed.problems]


@pytest.mark.parametrize("book", list(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_reading_the_bytes_gives_what_reading_the_objects_gives(book: str, data) -> None:
    """The registry's parser decodes an answer's bytes straight into typed parts and falls back to
    the objects when a part has another shape: the two ways must never disagree."""
    make, parse = PARSERS[book]
    try:
        body = orjson.dumps(ANSWER[book](_mutated(make(), data)))
    except TypeError:  # an integer JSON cannot carry
        assume(False)
    payload = orjson.loads(body)  # as a book would send it (NaN becomes null)
    if book != "betpawa":
        payload = payload["data" if book == "sportybet" else "D"]
    raw = RawResponse(Book(book), "event", "ref", "http://127.0.0.1/", 200, body, datetime.now(UTC), 0.0)
    assert _outcome_of(parsers(Book(book), Settings().books[Book(book)]).event, raw) == _outcome_of(parse, payload)


@pytest.mark.parametrize("book", list(PARSERS))
@settings(max_examples=100, deadline=None)
@given(payload=json_values)
def test_random_json_raises_only_typed_errors(book: str, payload) -> None:
    _assert_only_typed_errors(PARSERS[book][1], payload)


def test_parsed_odds_are_finite_and_above_one_or_off() -> None:
    for make, parse in PARSERS.values():
        for line in parse(copy.deepcopy(make())).lines:
            for outcome in line.outcomes:
                off = outcome.odds is None and outcome.suspended
                assert off or (math.isfinite(outcome.odds) and outcome.odds > 1)
