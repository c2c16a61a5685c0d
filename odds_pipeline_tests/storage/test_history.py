"""Change-only history in capture order: whatever order batches are stored in, and however often one
is stored again, the history holds exactly the rows that in-order storage gives, the state of every
line at every time is what was observed then, and the current-state table holds the latest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.records import EventRecord
from odds_pipeline.domain import Book
from odds_pipeline.storage import batches, writers
from odds_pipeline.storage.models import MarketOdds, MarketOddsCurrent, OddsSnapshot

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LINES = [("5000", 1.5), ("5000", 2.5), ("3743", None), ("4000", -0.5)]
EVENTS = ["1001", "1002"]

Observation = dict[str, dict[tuple[str, float | None], writers.LineState]]  # event → its lines


def state(market: str, price: float, active: bool = True) -> writers.LineState:
    return writers.LineState(
        name=f"market {market}",
        outcomes=(("home", price, active), ("away", round(4.1 - price, 2), True)),
        handicap_type=None,
        handicap_home=None,
        handicap_away=None,
        groups=("main",),
    )


line_states = st.builds(state, st.sampled_from(["5000"]), st.sampled_from([1.5, 2.0]), st.booleans())
event_lines = st.dictionaries(st.sampled_from(LINES), line_states, max_size=len(LINES))
observations = st.lists(
    st.dictionaries(st.sampled_from(EVENTS), event_lines, min_size=1, max_size=len(EVENTS)), min_size=1, max_size=5
)


@pytest.fixture
def store(engine: Engine) -> Iterator[Any]:
    """Store observations in a transaction rolled back afterwards; yields a function that does it."""

    def run(sequence: list[tuple[int, Observation]]) -> tuple[set[tuple], set[tuple]]:
        with engine.connect() as conn:
            outer = conn.begin()
            with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
                events = _events(session)
                ids = batches.bookmaker_ids(session)
                for index, observation in sequence:
                    window = START + timedelta(minutes=15 * index)
                    batch = batches.ensure_batch(session, f"b{index}", window, window + timedelta(minutes=15))
                    observed = {events[e]: lines for e, lines in observation.items()}
                    at = window + timedelta(minutes=16)
                    writers.store_snapshots(session, Book.BETPAWA, batch, None, ids[Book.BETPAWA], observed, at)
                    session.flush()
                names = {event_id: name for name, event_id in events.items()}
                found = _history(session, names), _current(session, names)
            outer.rollback()
        return found

    return run


def _events(session: Session) -> dict[str, int]:
    records = [
        EventRecord(Book.BETPAWA, external_id, None, START + timedelta(days=1), f"Home {external_id}", "Away")
        for external_id in EVENTS
    ]
    return writers.store_events(session, Book.BETPAWA, records, batches.bookmaker_ids(session)[Book.BETPAWA])


def _history(session: Session, names: dict[int, str]) -> set[tuple]:
    """Rows and observations by event name: row ids differ from one transaction to the next."""
    rows = session.execute(
        select(
            OddsSnapshot.event_id,
            OddsSnapshot.captured_at,
            MarketOdds.betpawa_market_id,
            MarketOdds.line,
            MarketOdds.outcomes,
            MarketOdds.unavailable_at,
        ).join(OddsSnapshot, OddsSnapshot.id == MarketOdds.snapshot_id)
    ).all()
    snapshots = session.execute(select(OddsSnapshot.event_id, OddsSnapshot.captured_at)).all()
    return {("row", names[e], at, m, line, _canonical(o), gone) for e, at, m, line, o, gone in rows} | {
        ("observed", names[e], at) for e, at in snapshots
    }


def _current(session: Session, names: dict[int, str]) -> set[tuple]:
    rows = session.execute(
        select(
            MarketOddsCurrent.event_id,
            MarketOddsCurrent.betpawa_market_id,
            MarketOddsCurrent.line,
            MarketOddsCurrent.outcomes,
            MarketOddsCurrent.unavailable_at,
            MarketOddsCurrent.captured_at,
        )
    ).all()
    return {(names[e], m, line, _canonical(o), gone, at) for e, m, line, o, gone, at in rows}


def _canonical(outcomes: Any) -> str:
    return json.dumps(outcomes, sort_keys=True)


def _state_at(history: set[tuple], event: str, at: datetime) -> dict[tuple[str, float | None], str]:
    """A line's state at a time: its latest row at or before it, leaving out lines that are gone."""
    latest: dict[tuple[str, float | None], tuple[datetime, str, Any]] = {}
    for kind, *row in history:
        if kind != "row" or row[0] != event or row[1] > at:
            continue
        _, captured_at, market, line, outcomes, gone = row
        if (market, line) not in latest or latest[(market, line)][0] < captured_at:
            latest[(market, line)] = (captured_at, outcomes, gone)
    return {key: outcomes for key, (_, outcomes, gone) in latest.items() if gone is None}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(observations, st.randoms(use_true_random=False), st.data())
def test_history_is_the_same_whatever_the_order_of_storing(store, sequence, rng, data) -> None:
    in_order = list(enumerate(sequence))
    shuffled = in_order[:]
    rng.shuffle(shuffled)
    # A batch stored again (a re-run, or a re-derivation after a mapping changed), possibly with
    # other lines: the history must end as if only its last version had ever been stored.
    replacement = st.none() | observations.map(lambda found: found[0])
    again = data.draw(st.lists(st.tuples(st.sampled_from(range(len(sequence))), replacement), max_size=2))
    final = dict(in_order)
    for index, replaced in again:
        observation = final[index] if replaced is None else replaced
        shuffled.append((index, observation))
        final[index] = observation
    expected_history, expected_current = store(sorted(final.items()))
    history, current = store(shuffled)
    assert history == expected_history
    assert current == expected_current
    # And the history says what was seen: at each observation, each event's lines and prices.
    for index, observation in final.items():
        at = START + timedelta(minutes=15 * index + 16)
        for name, lines in observation.items():
            assert ("observed", name, at) in history
            seen = _state_at(history, name, at)
            assert seen == {key: _canonical(line.outcomes_json()) for key, line in lines.items()}


def test_storing_the_newest_batch_again_with_other_prices_moves_the_current_state(store) -> None:
    first = {"1001": {LINES[0]: state("5000", 1.5)}}
    second = {"1001": {LINES[0]: state("5000", 2.0), LINES[1]: state("5000", 1.5)}}
    history, current = store([(0, first), (0, second)])
    assert (history, current) == store([(0, second)])
    assert {(market, line) for _, market, line, _, gone, _ in current if gone is None} == {LINES[0], LINES[1]}


def test_a_late_batch_is_diffed_against_what_came_before_it_not_after(store) -> None:
    # 12:00 sees 1.5, 12:30 sees 1.5 (no row: unchanged), then 12:15, stored last, saw 2.0.
    seen = [{"1001": {LINES[0]: state("5000", price)}} for price in (1.5, 2.0, 1.5)]
    history, _ = store([(0, seen[0]), (2, seen[2]), (1, seen[1])])
    rows = sorted((row[2].minute, row[5]) for row in history if row[0] == "row")
    # 12:30 now states its price again: without it, the state at 12:30 would read 2.0.
    assert [minute for minute, _ in rows] == [16, 31, 46]
    assert rows[0][1] == rows[2][1] != rows[1][1]
