"""The comparisons on hand-built batches with known prices: exact gaps, margins and shares; what is
left out (a suspended outcome, a vanished line, a one-sided pair); movers; the past recomputed from
the history; re-runs; and checks that fail when the stored rows are wrong."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from odds_pipeline import comparison
from odds_pipeline.bookmakers.records import EventRecord, TournamentRecord
from odds_pipeline.comparison.lines import shin_fair
from odds_pipeline.defs.comparison import comparison_checks
from odds_pipeline.domain import COMPETITORS, Book, EventScrapeOutcome
from odds_pipeline.markets import margins
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.storage import batches, writers
from odds_pipeline.storage import comparison as queries
from odds_pipeline.storage.models import Base, EventScrapeStatus, ScrapeBatch

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RESULT, TOTALS = "3743", "5000"  # 1X2 and Over/Under
NAMES = {RESULT: "1X2 - Full Time", TOTALS: "Over/Under - Full Time"}
LEAGUE = ("Premier League", "England", "sr:tournament:17")
FOREIGN = ("Serie Z", "Italy", "sr:tournament:999")
# sportradar id → (tournament, the books listing it)
MATCHES = {
    "1001": (LEAGUE, (Book.BETPAWA, Book.SPORTYBET, Book.BET9JA)),
    "1002": (LEAGUE, (Book.BETPAWA, Book.SPORTYBET)),
    "1003": (FOREIGN, (Book.SPORTYBET, Book.BET9JA)),
}
Lines = dict[tuple[str, float | None], writers.LineState]


def line(market: str, prices: dict[str, float], suspended: tuple[str, ...] = ()) -> writers.LineState:
    return writers.LineState(
        name=NAMES[market],
        outcomes=tuple((name, odds, name not in suspended) for name, odds in prices.items()),
        handicap_type=None,
        handicap_home=None,
        handicap_away=None,
        groups=("main",),
    )


def first_batch() -> dict[Book, dict[str, Lines]]:
    return {
        Book.BETPAWA: {
            "1001": {
                (RESULT, None): line(RESULT, {"1": 2.00, "X": 3.40, "2": 4.10}),
                (TOTALS, 2.5): line(TOTALS, {"Over": 1.90, "Under": 1.90}, suspended=("Under",)),
            },
            "1002": {(RESULT, None): line(RESULT, {"1": 1.50, "X": 4.00, "2": 6.00})},
        },
        Book.SPORTYBET: {
            "1001": {
                (RESULT, None): line(RESULT, {"1": 2.10, "X": 3.30, "2": 3.70}),
                (TOTALS, 2.5): line(TOTALS, {"Over": 1.85, "Under": 1.95}),
                (TOTALS, 3.5): line(TOTALS, {"Over": 2.80, "Under": 1.40}),
            },
            "1002": {(RESULT, None): line(RESULT, {"1": 1.55, "X": 4.00, "2": 5.50})},
            "1003": {(RESULT, None): line(RESULT, {"1": 2.50, "X": 3.10, "2": 2.90})},
        },
        Book.BET9JA: {
            "1001": {
                (RESULT, None): line(RESULT, {"1": 1.95, "X": 3.50, "2": 4.00}),
                (TOTALS, 2.5): line(TOTALS, {"Over": 1.88, "Under": 1.92}),
            },
            "1003": {(RESULT, None): line(RESULT, {"1": 2.45, "X": 3.20, "2": 2.95})},
        },
    }


def second_batch() -> dict[Book, dict[str, Lines]]:
    """SportyBet shortens the home win of 1001; Bet9ja takes its Over/Under 2.5 of 1001 down."""
    books = first_batch()
    books[Book.SPORTYBET]["1001"][(RESULT, None)] = line(RESULT, {"1": 1.90, "X": 3.30, "2": 3.70})
    del books[Book.BET9JA]["1001"][(TOTALS, 2.5)]
    return books


@dataclass
class World:
    session: Session
    ids: dict[Book, dict[str, int]]  # book → sportradar id → event row id
    shapes: comparison.MarketShapes

    def observe(self, index: int, books: dict[Book, dict[str, Lines]], listed_only: bool = False) -> ScrapeBatch:
        """One batch: the books' lines stored as the pipeline stores them, with each event's status row."""
        window = START + timedelta(minutes=15 * index)
        batch = batches.ensure_batch(self.session, f"b{index}", window, window + timedelta(minutes=15))
        bookmakers = batches.bookmaker_ids(self.session)
        for sportradar_id in sorted({sr for events in books.values() for sr in events}):
            listed = [book.value for book in Book if sportradar_id in books.get(book, {})]
            self.session.add(
                EventScrapeStatus(
                    batch_id=batch.id, event_key=sportradar_id, sportradar_id=sportradar_id,
                    status=EventScrapeOutcome.COMPLETED, platforms_requested=listed, platforms_scraped=listed,
                    platforms_failed=[],
                )
            )  # fmt: skip
        self.session.flush()
        if listed_only:
            queries.record_first_listings(self.session, batch)
            return batch
        writers.link_competitor_events(self.session, batch)
        at = window + timedelta(minutes=16)
        for book, events in books.items():
            observed = {self.ids[book][sr]: lines for sr, lines in events.items()}
            writers.store_snapshots(self.session, book, batch, None, bookmakers[book], observed, at)
        self.session.flush()
        queries.record_first_listings(self.session, batch)
        return batch

    def compare(self, batch: ScrapeBatch, **options: bool) -> comparison.Comparison:
        return comparison.compare_batch(self.session, batch, self.shapes, **options)

    def prices(self) -> pd.DataFrame:
        return queries.stored_prices(self.session)

    def audit_session(self) -> AbstractContextManager[Session]:
        """The checks' audits read in the test's one open transaction, one after another."""
        return nullcontext(self.session)


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            bookmakers = batches.bookmaker_ids(session)
            ids: dict[Book, dict[str, int]] = {}
            for book in Book:
                records = []
                for sportradar_id, ((name, country, tournament_sr), books) in MATCHES.items():
                    if book in books:
                        tournament = TournamentRecord(book, f"{book.value}-{name}", name, country, tournament_sr)
                        records.append(
                            EventRecord(
                                book, f"{book.value}-{sportradar_id}", sportradar_id, START + timedelta(days=1),
                                f"Home {sportradar_id}", f"Away {sportradar_id}", tournament,
                            )
                        )  # fmt: skip
                stored = writers.store_events(session, book, records, bookmakers[book])
                ids[book] = {external.split("-", 1)[1]: row_id for external, row_id in stored.items()}
            yield World(session, ids, comparison.MarketShapes.of(file_catalogue()))
        outer.rollback()


def _row(frame: pd.DataFrame, event: int, market: str, line_: float | None, outcome: str) -> pd.Series:
    rows = frame[
        (frame["event_id"] == event)
        & (frame["betpawa_market_id"] == market)
        & (frame["line"].isna() if line_ is None else frame["line"] == line_)
        & (frame["outcome"] == outcome)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_exact_gaps_margins_shares_and_fair_probabilities(world: World):
    result = world.compare(world.observe(0, first_batch()))
    prices, e1, e2 = world.prices(), world.ids[Book.BETPAWA]["1001"], world.ids[Book.BETPAWA]["1002"]
    # Every live BetPawa outcome of a matched event, and nothing else: Under 2.5 is suspended.
    assert len(prices) == 7
    home = _row(prices, e1, RESULT, None, "1")
    assert (home.betpawa_odds, home.sportybet_odds, home.bet9ja_odds) == (2.00, 2.10, 1.95)
    assert (home.best_competitor_odds, home.best_competitor) == (2.10, "sportybet")
    assert home.gap == pytest.approx(2.00 / 2.10 - 1)
    assert home.betpawa_margin == pytest.approx(1 / 2.00 + 1 / 3.40 + 1 / 4.10 - 1)
    assert home.sportybet_margin == pytest.approx(1 / 2.10 + 1 / 3.30 + 1 / 3.70 - 1)
    assert home.bet9ja_margin == pytest.approx(1 / 1.95 + 1 / 3.50 + 1 / 4.00 - 1)
    fair = statistics.mean([margins.fair_shin([2.10, 3.30, 3.70])[0], margins.fair_shin([1.95, 3.50, 4.00])[0]])
    assert home.fair_probability == pytest.approx(fair, abs=1e-9)
    over = _row(prices, e1, TOTALS, 2.5, "Over")
    assert (over.best_competitor_odds, over.best_competitor) == (1.88, "bet9ja")
    assert pd.isna(over.betpawa_margin)  # its Under is suspended: no complete set
    assert over.sportybet_margin == pytest.approx(1 / 1.85 + 1 / 1.95 - 1)
    draw = _row(prices, e2, RESULT, None, "X")
    assert draw.gap == 0 and pd.isna(draw.bet9ja_odds) and draw.best_competitor == "sportybet"
    gaps = [2.00 / 2.10, 3.40 / 3.50, 4.10 / 4.00, 1.90 / 1.88, 1.50 / 1.55, 1.0, 6.00 / 5.50]
    assert result.figure("betpawa", "best_price_share") == pytest.approx(4 / 7)
    assert result.figure("betpawa", "median_gap") == pytest.approx(statistics.median(g - 1 for g in gaps))
    # The books' medians are taken on the one line all three price with a complete set: 1X2 of 1001.
    assert result.figure("betpawa", "margin_lines") == 1
    assert result.figure("bet9ja", "median_margin") == pytest.approx(home.bet9ja_margin)


def test_a_suspended_outcome_and_a_vanished_line_are_never_compared(world: World):
    world.observe(0, first_batch())
    result = world.compare(world.observe(1, second_batch()))
    e1, prices = world.ids[Book.BETPAWA]["1001"], world.prices()
    over = _row(prices, e1, TOTALS, 2.5, "Over")
    assert pd.isna(over.bet9ja_odds) and over.best_competitor == "sportybet" and over.best_competitor_odds == 1.85
    assert prices[(prices["event_id"] == e1) & (prices["outcome"] == "Under")].empty
    # BetPawa's suspended Under is an alert while SportyBet prices it; Bet9ja no longer does.
    alerts = result.alerts[result.alerts["kind"] == "line_suspended"]
    assert alerts[["event_id", "betpawa_market_id", "line"]].values.tolist() == [[e1, TOTALS, 2.5]]
    assert alerts["books"].tolist() == [["sportybet"]]


def test_margins_are_paired_only_where_both_sides_have_a_complete_set(world: World):
    result = world.compare(world.observe(0, first_batch()))
    card = result.scorecard
    # Over/Under 2.5 of 1001 is complete on both competitors but not on BetPawa: it is left out.
    assert card["betpawa_market_id"].tolist() == [RESULT]
    row = card.iloc[0]
    assert (row.tournament, row.country, row.events, row.lines) == ("Premier League", "England", 2, 2)
    e1 = (1 / 2.00 + 1 / 3.40 + 1 / 4.10 - 1) - min(
        1 / 2.10 + 1 / 3.30 + 1 / 3.70 - 1, 1 / 1.95 + 1 / 3.50 + 1 / 4.00 - 1
    )
    e2 = (1 / 1.50 + 1 / 4.00 + 1 / 6.00 - 1) - (1 / 1.55 + 1 / 4.00 + 1 / 5.50 - 1)
    assert row.mean_difference == pytest.approx((e1 + e2) / 2)
    assert row.median_difference == pytest.approx(statistics.median([e1, e2]))


def test_coverage_gaps_name_what_betpawa_lacks_and_what_it_listed_later(world: World):
    # SportyBet listed 1002 a batch before BetPawa did.
    world.observe(-1, {Book.SPORTYBET: {"1002": {}}}, listed_only=True)
    world.compare(world.observe(0, first_batch()))
    gaps = queries.stored_view(world.session, "coverage_gaps").set_index("kind")
    only = gaps.loc[["competitor_only_event"]]
    assert only["sportradar_id"].tolist() == ["1003"] and only["books"].tolist() == [["bet9ja", "sportybet"]]
    assert (only.iloc[0].tournament, only.iloc[0].country) == ("Serie Z", "Italy")
    lacking = gaps.loc[["missing_tournament"]]
    assert lacking["tournament"].tolist() == ["Serie Z"] and lacking["events"].tolist() == [2]
    missing = gaps.loc[["missing_line"]]
    assert missing[["betpawa_market_id", "line"]].values.tolist() == [[TOTALS, 3.5]]
    assert missing["books"].tolist() == [["sportybet"]]
    later = gaps.loc[["listed_later"]]
    assert later["sportradar_id"].tolist() == ["1002"] and later["books"].tolist() == [["sportybet"]]
    assert later.iloc[0].first_listed == {
        "sportybet": (START - timedelta(minutes=15)).isoformat(),
        "betpawa": START.isoformat(),
    }


def test_movers_flag_betpawa_left_behind(world: World):
    first = world.observe(0, first_batch())
    world.compare(first)
    result = world.compare(world.observe(1, second_batch()))
    assert result.previous_batch_id == first.id and result.mode == comparison.INCREMENTAL
    movers = result.movers
    assert len(movers) == 1
    mover = movers.iloc[0]
    assert (mover.outcome, mover.sportybet_before, mover.sportybet_after, mover.moved_by) == (
        "1",
        2.10,
        1.90,
        "sportybet",
    )
    assert mover.competitor_move == pytest.approx(2.10 / 1.90 - 1)  # 1/odds went up by 10.5%
    assert mover.betpawa_move == 0 and bool(mover.left_behind)


def _tables(session: Session) -> dict[str, list[tuple]]:
    """What the comparison leaves for users, row by row, without the surrogate ids (a batch that
    rewrites some lines gives them new ids)."""
    names = [*comparison.COUNTED_TABLES, "comparison_figures"]
    found = {}
    for name in names:
        columns = [c.name for c in Base.metadata.tables[name].columns if c.name != "id"]
        order = ", ".join(f"{c}::text" for c in columns)
        found[name] = session.execute(text(f"SELECT {', '.join(columns)} FROM {name} ORDER BY {order}")).all()
    return found


def test_a_past_batch_is_recomputed_from_the_history(world: World):
    first = world.observe(0, first_batch())
    world.compare(first)
    then = _tables(world.session)
    second = world.observe(1, second_batch())
    # Batch b1 has been stored over b0's current state: b0 now comes from the history.
    again = world.compare(first)
    assert again.paths.history == {"betpawa": True, "competitors": True} and again.mode == comparison.FULL
    assert _tables(world.session) == then
    now = world.compare(second)
    stored = _tables(world.session)
    replayed = world.compare(second, from_history=True)
    assert replayed.mode == comparison.FULL and _tables(world.session) == stored
    assert replayed.figures == now.figures


def third_batch() -> dict[Book, dict[str, Lines]]:
    """Bet9ja no longer lists 1001 (its matching changes); BetPawa lengthens the away win of 1002
    and adds Over/Under 3.5 to 1001; SportyBet suspends the Over 3.5 it had."""
    books = second_batch()
    del books[Book.BET9JA]["1001"]
    books[Book.BETPAWA]["1002"][(RESULT, None)] = line(RESULT, {"1": 1.50, "X": 4.00, "2": 6.50})
    books[Book.BETPAWA]["1001"][(TOTALS, 3.5)] = line(TOTALS, {"Over": 2.75, "Under": 1.42})
    books[Book.SPORTYBET]["1001"][(TOTALS, 3.5)] = line(TOTALS, {"Over": 2.80, "Under": 1.40}, suspended=("Over",))
    return books


def test_recomputing_only_the_changed_lines_gives_the_rows_of_a_full_recomputation(world: World):
    world.compare(world.observe(0, first_batch()))
    for index, books in ((1, second_batch()), (2, third_batch()), (3, third_batch())):
        batch = world.observe(index, books)
        result = world.compare(batch)
        assert result.mode == comparison.INCREMENTAL, index
        stepwise = _tables(world.session)
        full = world.compare(batch, incremental=False)
        assert full.mode == comparison.FULL and _tables(world.session) == stepwise, index
        assert full.figures == result.figures
    # The forced full recomputation left the tables as of its batch: the next one stepped from it.
    assert result.recomputed_lines == 0  # the last batch changed nothing


def test_a_full_recomputation_in_parts_gives_the_rows_of_one_pass(world: World, monkeypatch: pytest.MonkeyPatch):
    world.compare(world.observe(0, first_batch()))
    batch = world.observe(1, second_batch())
    monkeypatch.setattr(comparison, "PARTS", 1)
    world.compare(batch, incremental=False)
    whole = _tables(world.session)
    events = {row[0] for row in whole["price_comparison"]}
    parts = 3
    assert len({event % parts for event in events}) > 1  # the events do fall in several parts
    monkeypatch.setattr(comparison, "PARTS", parts)
    world.compare(batch, incremental=False)
    assert _tables(world.session) == whole


def test_a_rerun_of_a_batch_gives_identical_rows(world: World):
    first = world.observe(0, first_batch())
    world.compare(first)
    second = world.observe(1, second_batch())
    world.compare(second)
    stored = _tables(world.session)
    assert world.compare(second).mode == comparison.FULL  # the tables are its own, not the previous batch's
    figures = world.session.execute(text("SELECT batch_id, book FROM comparison_figures ORDER BY 1, 2")).all()
    assert _tables(world.session) == stored and len(figures) == 6
    assert len(stored["price_comparison"]) == 7 and len(stored["price_movers"]) == 1


def _checks(world: World, batch: ScrapeBatch, result: comparison.Comparison) -> dict[str, bool]:
    return {r.check_name: r.passed for r in comparison_checks(world.audit_session, result)}


def test_each_check_passes_on_true_rows_and_fails_on_false_ones(world: World):
    batch = world.observe(0, first_batch())
    result = world.compare(batch)
    assert all(_checks(world, batch, result).values()), _checks(world, batch, result)
    e1, e2 = world.ids[Book.BETPAWA]["1001"], world.ids[Book.BETPAWA]["1002"]
    tampering = {
        "every_matched_event_compared": f"DELETE FROM price_comparison WHERE event_id = {e2}",
        "shares_in_unit_interval": "UPDATE price_comparison SET betpawa_odds = 1.01",
        "no_suspended_or_vanished_line_compared": "INSERT INTO price_comparison (event_id, "
        "betpawa_market_id, market_name, line, outcome, betpawa_odds) "
        f"VALUES ({e1}, '{TOTALS}', 'Over/Under', 2.5, 'Under', 1.90)",
        "margins_in_band": "UPDATE price_comparison SET sportybet_margin = 1.5 WHERE sportybet_margin IS NOT NULL",
    }
    for check, statement in tampering.items():
        with world.session.begin_nested() as savepoint:
            world.session.execute(text(statement))
            found = _checks(world, batch, result)
            savepoint.rollback()
        assert found[check] is False, (check, found)
    # A competitor price that is not the book's live one, and rows left of an event no longer matched.
    for statement in (
        f"UPDATE price_comparison SET bet9ja_odds = bet9ja_odds + 0.01 WHERE event_id = {e1}",
        f"UPDATE price_comparison SET event_id = {world.ids[Book.BETPAWA]['1001'] + 1000} WHERE event_id = {e2}",
    ):
        with world.session.begin_nested() as savepoint:
            world.session.execute(text(statement))
            found = _checks(world, batch, result)
            savepoint.rollback()
        assert not all(found.values()), (statement, found)
    # Each competitor's prices are audited against that book's own live outcomes.
    for book in COMPETITORS:
        with world.session.begin_nested() as savepoint:
            world.session.execute(
                text(f"UPDATE price_comparison SET {book.value}_odds = {book.value}_odds + 0.01 WHERE event_id = {e1}")
            )
            audit = next(
                r for r in list(comparison_checks(world.audit_session, result))
                if r.check_name == "no_suspended_or_vanished_line_compared"
            )  # fmt: skip
            savepoint.rollback()
        counts = {name: value.value for name, value in audit.metadata.items()}
        assert audit.passed is False and counts[book.value] > 0, (book, counts)
        assert all(n == 0 for name, n in counts.items() if name != book.value), (book, counts)
    assert all(_checks(world, batch, result).values())


def test_a_match_a_book_lists_twice_is_compared_and_audited_on_its_first_listing(world: World):
    # Bet9ja lists 1001 a second time (a later, higher row id) at other prices: the comparison and
    # its audit both take the first listing, so the checks hold.
    name, country, tournament_sr = LEAGUE
    again = EventRecord(
        Book.BET9JA, "bet9ja-1001-again", "1001", START + timedelta(days=1), "Home 1001", "Away 1001",
        TournamentRecord(Book.BET9JA, f"bet9ja-{name}", name, country, tournament_sr),
    )  # fmt: skip
    bookmaker = batches.bookmaker_ids(world.session)[Book.BET9JA]
    stored = writers.store_events(world.session, Book.BET9JA, [again], bookmaker)
    assert stored["bet9ja-1001-again"] > world.ids[Book.BET9JA]["1001"]
    world.ids[Book.BET9JA]["1001-again"] = stored["bet9ja-1001-again"]
    books = first_batch()
    books[Book.BET9JA]["1001-again"] = {(RESULT, None): line(RESULT, {"1": 1.70, "X": 3.90, "2": 4.80})}
    batch = world.observe(0, books)
    result = world.compare(batch)
    home = _row(world.prices(), world.ids[Book.BETPAWA]["1001"], RESULT, None, "1")
    assert home["bet9ja_odds"] == pytest.approx(1.95)  # the first listing's price, not 1.70
    assert all(_checks(world, batch, result).values()), _checks(world, batch, result)
    # The second listing's price is live there, not on the first listing: the audit flags it.
    with world.session.begin_nested() as savepoint:
        world.session.execute(
            text(
                "UPDATE price_comparison SET bet9ja_odds = 1.70 WHERE event_id = :event "
                "AND betpawa_market_id = :market AND line IS NULL AND outcome = '1'"
            ),
            {"event": world.ids[Book.BETPAWA]["1001"], "market": RESULT},
        )
        found = _checks(world, batch, result)
        savepoint.rollback()
    assert found["no_suspended_or_vanished_line_compared"] is False, found


def test_shin_for_many_lines_at_once_equals_the_one_line_formula():
    lines = [[2.10, 3.30, 3.70], [1.85, 1.95], [1.20, 6.50, 13.0], [2.05, 2.05]]
    group = [i for i, odds in enumerate(lines) for _ in odds]
    implied = [1 / o for odds in lines for o in odds]
    import numpy as np

    found = shin_fair(np.array(group), np.array(implied))
    expected = [p for odds in lines for p in margins.fair_shin(odds)]
    assert found.tolist() == pytest.approx(expected, abs=1e-12)


def test_a_price_all_three_books_move_is_one_mover_named_by_all_three(world: World):
    first = world.observe(0, first_batch())
    world.compare(first)
    books = first_batch()
    for book, draw in ((Book.BETPAWA, 3.30), (Book.SPORTYBET, 3.20), (Book.BET9JA, 3.40)):
        prices = dict((name, odds) for name, odds, _ in books[book]["1001"][(RESULT, None)].outcomes)
        books[book]["1001"][(RESULT, None)] = line(RESULT, prices | {"X": draw})
    second = world.observe(1, books)
    result = world.compare(second)  # stored: the names of all three fit the table
    assert result.movers["moved_by"].tolist() == ["betpawa,sportybet,bet9ja"]
    assert not result.movers["left_behind"].any()  # BetPawa moved too


def test_one_comparison_at_a_time(world: World, engine: Engine):
    """A backfill compared beside the schedule waits for the other comparison's transaction: each
    rewrites part of the same tables."""
    batch = world.observe(0, first_batch())
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": queries.COMPARISON_LOCK})
        with world.session.begin_nested() as savepoint:
            world.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                world.compare(batch)
            savepoint.rollback()
        other.rollback()
    assert world.compare(batch).mode == comparison.FULL


def test_the_audits_read_only_tables_as_of_their_batch(world: World):
    """The step's audits read the committed tables on connections of their own: a comparison that
    rewrote them in between is named, not audited as if it were this batch's."""
    first = world.observe(0, first_batch())
    world.compare(first)
    second = world.observe(1, second_batch())
    with world.session.begin_nested() as savepoint:
        queries.begin_audit(world.session, first.id)
        savepoint.rollback()
    world.compare(second)
    with pytest.raises(queries.ComparisonMovedOnError, match=f"as of batch {second.id}, not {first.id}"):
        queries.begin_audit(world.session, first.id)


def test_the_latest_batch_tables_are_unlogged_and_a_crash_that_empties_them_costs_one_full_batch(world: World):
    """PostgreSQL empties unlogged tables when it recovers from a crash: all of the latest batch's
    tables at once, `comparison_state` included, so the next batch recomputes every line, and the
    rows are those of an uninterrupted run. The history and the per-batch figures stay logged."""
    persistence = dict(
        world.session.execute(
            text("SELECT relname, relpersistence FROM pg_class WHERE relkind = 'r' AND relname = ANY(:names)"),
            {"names": [*comparison.LATEST_ONLY_TABLES, "comparison_figures", "market_odds", "market_odds_current"]},
        ).all()
    )
    assert {name: persistence[name] for name in comparison.LATEST_ONLY_TABLES} == dict.fromkeys(
        comparison.LATEST_ONLY_TABLES, "u"
    )
    assert persistence["comparison_figures"] == persistence["market_odds"] == persistence["market_odds_current"] == "p"

    first = world.observe(0, first_batch())
    world.compare(first)
    second = world.observe(1, second_batch())
    with world.session.begin_nested() as savepoint:
        assert world.compare(second).mode == comparison.INCREMENTAL
        uninterrupted = _tables(world.session)
        savepoint.rollback()
    world.session.execute(text(f"TRUNCATE {', '.join(comparison.LATEST_ONLY_TABLES)}"))  # as recovery does
    assert world.compare(second).mode == comparison.FULL
    assert _tables(world.session) == uninterrupted
