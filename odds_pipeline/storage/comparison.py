"""The SQL of the comparisons: the state of every line as of a batch, and the comparison tables.

"As of a batch" is the latest stored state of each (event, market, line) at or before the batch's
own observation of that event, on the events the batch observed. A batch nothing was stored after
reads the current-state tables; an older one reads the change-only history, and both give the same
rows (`odds_pipeline_tests/comparison`). Frames travel by COPY as CSV, which pandas parses in C.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from odds_pipeline.domain import Book
from odds_pipeline.storage.models import ComparisonFigures, PriceComparison, ScrapeBatch
from odds_pipeline.storage.writers import copy, copy_frame

NO_LINE = -1.0e9  # the line key of markets without a line: NULL never equals itself in a join
# One row per outcome of every line as of the batch; a gone line has one row and no outcome.
LINE_COLUMNS = ["event_id", "book", "market", "market_name", "line", "gone", "outcome", "odds", "active"]
LINE_DTYPES = {
    "event_id": "int64",
    "book": str,
    "market": str,  # read as text: market ids and outcome names may look like numbers
    "market_name": str,
    "line": "float64",
    "gone": "bool",
    "outcome": str,
    "odds": "float64",
    "active": "boolean",
}


@dataclass(frozen=True)
class _Side:
    """Where one side's lines live: BetPawa's tables, or the competitors' shared ones."""

    snapshot: str
    current: str
    history: str
    owner: str


BETPAWA = _Side("odds_snapshots", "market_odds_current", "market_odds", "event_id")
COMPETITORS = _Side(
    "competitor_odds_snapshots", "competitor_market_odds_current", "competitor_market_odds", "competitor_event_id"
)


def read_frame(session: Session, query: str, dtype: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a query and load its rows with COPY: several times faster than fetching tuples."""
    buffer = io.StringIO()
    copy(session, f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    buffer.seek(0)
    # Only an empty field is NULL: a team or outcome may well be called "None" or "NA".
    return pd.read_csv(
        buffer, dtype=dtype, true_values=["t"], false_values=["f"], keep_default_na=False, na_values=[""]
    )


def _stored_after(session: Session, side: _Side, batch_id: int) -> bool:
    """Whether any event the batch observed was observed again later: then the current state is not its."""
    query = (
        f"SELECT EXISTS (SELECT 1 FROM {side.snapshot} s JOIN {side.snapshot} later "
        f"ON later.{side.owner} = s.{side.owner} AND later.captured_at > s.captured_at WHERE s.batch_id = :batch)"
    )
    return bool(session.scalar(text(query), {"batch": batch_id}))


def _lines_relation(side: _Side, batch_id: int, from_history: bool) -> str:
    """Each line of the batch's observed events as of the batch: owner, market row columns, gone."""
    if not from_history:
        return (
            f"SELECT c.{side.owner}, c.betpawa_market_id, c.betpawa_market_name, c.line, c.outcomes, c.unavailable_at "
            f"FROM {side.snapshot} s JOIN {side.current} c ON c.{side.owner} = s.{side.owner} "
            f"WHERE s.batch_id = {batch_id}"
        )
    return (
        f"SELECT DISTINCT ON (h.{side.owner}, m.betpawa_market_id, m.line) h.{side.owner}, m.betpawa_market_id, "
        f"m.betpawa_market_name, m.line, m.outcomes, m.unavailable_at "
        f"FROM {side.snapshot} s JOIN {side.snapshot} h ON h.{side.owner} = s.{side.owner} "
        f"AND h.captured_at <= s.captured_at JOIN {side.history} m ON m.snapshot_id = h.id "
        f"WHERE s.batch_id = {batch_id} ORDER BY h.{side.owner}, m.betpawa_market_id, m.line, h.captured_at DESC"
    )


def _matched(batch_id: int) -> str:
    """BetPawa events the batch observed on BetPawa and on at least one competitor, with each
    competitor's event (the lowest id, should a book list one match twice)."""
    return (
        "SELECT DISTINCT ON (ce.betpawa_event_id, ce.source) ce.betpawa_event_id AS event_id, ce.source, "
        "ce.id AS competitor_event_id FROM competitor_odds_snapshots cs "
        "JOIN competitor_events ce ON ce.id = cs.competitor_event_id "
        f"JOIN odds_snapshots bs ON bs.event_id = ce.betpawa_event_id AND bs.batch_id = {batch_id} "
        f"WHERE cs.batch_id = {batch_id} ORDER BY ce.betpawa_event_id, ce.source, ce.id"
    )


def _outcomes(lines: str, owner: str, book: str) -> str:
    return (
        f"SELECT {owner} AS event_id, {book} AS book, l.betpawa_market_id AS market, "
        "l.betpawa_market_name AS market_name, l.line, l.unavailable_at IS NOT NULL AS gone, "
        "o.value->>'name' AS outcome, (o.value->>'odds')::float AS odds, (o.value->>'is_active')::boolean AS active "
        f"FROM ({lines}) l LEFT JOIN LATERAL jsonb_array_elements(l.outcomes) AS o(value) ON true"
    )


def lines_query(session: Session, batch: ScrapeBatch, *, from_history: bool | None = None) -> str:
    """The query of every book's lines, outcome by outcome, on the batch's matched events, as of the
    batch (``from_history`` forces a path; by default the current state is read where it is the batch's)."""
    batch_id = int(batch.id)
    history = {
        side: _stored_after(session, side, batch_id) if from_history is None else from_history
        for side in (BETPAWA, COMPETITORS)
    }
    matched = _matched(batch_id)
    betpawa = _lines_relation(BETPAWA, batch_id, history[BETPAWA])
    competitors = _lines_relation(COMPETITORS, batch_id, history[COMPETITORS])
    return (
        f"WITH matched AS ({matched}) "
        + _outcomes(f"{betpawa}", "l.event_id", "'betpawa'")
        + " WHERE l.event_id IN (SELECT event_id FROM matched) UNION ALL "
        + _outcomes(
            f"SELECT m.event_id AS betpawa_event_id, m.source, c.* FROM ({competitors}) c "
            "JOIN matched m ON m.competitor_event_id = c.competitor_event_id",
            "l.betpawa_event_id",
            "l.source",
        )
    )


@contextmanager
def lines_table(session: Session, batch: ScrapeBatch, *, from_history: bool | None = None) -> Iterator[str]:
    """The batch's lines as of the batch (`lines_query`) in an analysed temporary table, so the
    comparison reads them once and its checks join them by hash; yields its name, drops it after."""
    lines = lines_query(session, batch, from_history=from_history)
    session.execute(
        text(
            "CREATE TEMPORARY TABLE lines_as_of AS "
            f"SELECT q.*, coalesce(q.line, {NO_LINE}) AS line_key FROM ({lines}) q"
        )
    )
    session.execute(text("ANALYZE lines_as_of"))
    try:
        yield "lines_as_of"
    finally:
        session.execute(text("DROP TABLE lines_as_of"))


def lines_as_of(
    session: Session, batch: ScrapeBatch, *, from_history: bool | None = None, table: str | None = None
) -> pd.DataFrame:
    """Every book's lines on the batch's matched events as of the batch, from ``table`` if given."""
    query = (
        f"SELECT {', '.join(LINE_COLUMNS)} FROM {table}"
        if table
        else lines_query(session, batch, from_history=from_history)
    )
    return read_frame(session, query, LINE_DTYPES)[LINE_COLUMNS]


def matched_events(session: Session, batch: ScrapeBatch) -> pd.DataFrame:
    """The batch's matched events with their tournament, country and kick-off, and the books on them."""
    query = (
        f"WITH matched AS ({_matched(int(batch.id))}) SELECT e.id AS event_id, e.name AS event_name, e.kickoff, "
        "e.sportradar_id, t.id AS tournament_id, t.name AS tournament, t.country, "
        "string_agg(m.source, ',' ORDER BY m.source) AS books FROM matched m JOIN events e ON e.id = m.event_id "
        "JOIN tournaments t ON t.id = e.tournament_id GROUP BY e.id, t.id"
    )
    return read_frame(session, query, {"books": "string", "sportradar_id": "string", "event_name": "string"})


def competitor_events(session: Session, batch: ScrapeBatch) -> pd.DataFrame:
    """Every competitor event the batch observed, linked or not, with its tournament as the book names it."""
    query = (
        "SELECT ce.id AS competitor_event_id, ce.source AS book, ce.betpawa_event_id, ce.sportradar_id, "
        "ce.external_id, ce.name AS event_name, ce.kickoff, ct.id AS tournament_id, ct.name AS tournament, "
        "coalesce(ct.country_raw, '') AS country, ct.sportradar_id AS tournament_sportradar_id, "
        # BetPawa has the tournament when any of its events was ever matched, or it shares the SportRadar id.
        "(EXISTS (SELECT 1 FROM competitor_events x WHERE x.tournament_id = ct.id AND x.betpawa_event_id IS NOT NULL) "
        "OR EXISTS (SELECT 1 FROM tournaments t WHERE t.sportradar_id = ct.sportradar_id)) AS betpawa_has_tournament "
        "FROM competitor_odds_snapshots cs JOIN competitor_events ce ON ce.id = cs.competitor_event_id "
        f"JOIN competitor_tournaments ct ON ct.id = ce.tournament_id WHERE cs.batch_id = {int(batch.id)}"
    )
    return read_frame(
        session, query, {"sportradar_id": "string", "external_id": "string", "tournament_sportradar_id": "string"}
    )


def record_first_listings(session: Session, batch: ScrapeBatch) -> None:
    """Note, per event and book, the batch if it is the earliest in which the book listed the event."""
    session.execute(
        text(
            "INSERT INTO event_first_listed (event_key, book, first_batch_id, first_window_start) "
            "SELECT s.event_key, listed.book, b.id, b.window_start FROM event_scrape_status s "
            "JOIN scrape_batches b ON b.id = s.batch_id "
            "CROSS JOIN LATERAL jsonb_array_elements_text(s.platforms_scraped) AS listed(book) "
            "WHERE s.batch_id = :batch "
            "ON CONFLICT (event_key, book) DO UPDATE SET first_batch_id = excluded.first_batch_id, "
            "first_window_start = excluded.first_window_start "
            "WHERE excluded.first_window_start < event_first_listed.first_window_start"
        ),
        {"batch": batch.id},
    )


def first_listings(session: Session, batch: ScrapeBatch) -> pd.DataFrame:
    """(event_key, book, first_window_start) for every event the batch saw."""
    query = (
        "SELECT f.event_key, f.book, f.first_window_start FROM event_first_listed f "
        f"WHERE f.event_key IN (SELECT event_key FROM event_scrape_status WHERE batch_id = {int(batch.id)})"
    )
    return read_frame(session, query, {"event_key": "string", "book": "string"})


def previous_compared_batch(session: Session, batch: ScrapeBatch) -> ScrapeBatch | None:
    """The latest batch before this one (by window) whose comparison was made."""
    compared = select(ComparisonFigures.batch_id)
    return session.scalar(
        select(ScrapeBatch)
        .where(ScrapeBatch.window_start < batch.window_start, ScrapeBatch.id.in_(compared))
        .order_by(ScrapeBatch.window_start.desc())
        .limit(1)
    )


def stored_comparison(session: Session, batch: ScrapeBatch) -> pd.DataFrame | None:
    """The price comparison table as stored, if it holds this batch's comparison."""
    stored_batch = session.scalar(select(PriceComparison.batch_id).limit(1))
    if stored_batch != batch.id:
        return None
    texts = {name: str for name in ("betpawa_market_id", "market_name", "outcome", "best_competitor")}
    return read_frame(session, "SELECT * FROM price_comparison", texts)


def replace_table(session: Session, table: Table, frame: pd.DataFrame) -> int:
    """Empty a comparison table and write the frame's rows into it (columns by name)."""
    session.execute(text(f'TRUNCATE "{table.name}" RESTART IDENTITY'))
    return copy_frame(session, table, frame)


def store_figures(session: Session, batch: ScrapeBatch, rows: list[dict[str, Any]]) -> None:
    """The batch's headline figures per book, in place of any from an earlier run of the batch."""
    if not rows:
        return
    figures = [c.name for c in ComparisonFigures.__table__.columns if c.name not in ("id", "batch_id", "window_start")]
    values = [
        {"batch_id": batch.id, "window_start": batch.window_start, **{name: row.get(name) for name in figures}}
        for row in rows
    ]
    statement = insert(ComparisonFigures).values(values)
    updates = {name: statement.excluded[name] for name in values[0] if name not in ("batch_id", "book")}
    session.execute(statement.on_conflict_do_update(index_elements=["batch_id", "book"], set_=updates))


def figures_since(session: Session, since: datetime, until: datetime) -> pd.DataFrame:
    """Headline figures of the batches whose window starts in [since, until], oldest first."""
    rows = session.execute(
        select(
            ComparisonFigures.window_start,
            ComparisonFigures.book,
            ComparisonFigures.best_price_share,
            ComparisonFigures.median_margin,
            ComparisonFigures.median_gap,
        )
        .where(ComparisonFigures.window_start >= since, ComparisonFigures.window_start <= until)
        .order_by(ComparisonFigures.window_start)
    ).all()
    frame = pd.DataFrame(rows, columns=["window_start", "book", "best_price_share", "median_margin", "median_gap"])
    frame["book"] = frame["book"].map(lambda book: Book(book).value)
    return frame


# --- what the checks measure, in SQL: the stored tables against the lines as of the batch --------


_LIVE = "NOT q.gone AND q.active AND q.odds > 1"


def _live(lines: str) -> str:
    return f"(SELECT book, event_id, market, line_key, outcome, odds FROM {lines} q WHERE {_LIVE})"


def matched_events_with_lines(session: Session, batch: ScrapeBatch, lines: str) -> tuple[int, int]:
    """(matched events on which BetPawa offers a live price, of them those in price_comparison);
    ``lines`` is the batch's `lines_table`."""
    events = f"SELECT DISTINCT event_id FROM {_live(lines)} l WHERE book = 'betpawa'"
    expected = session.scalar(text(f"SELECT count(*) FROM ({events}) e"))
    found = session.scalar(
        text(f"SELECT count(*) FROM ({events}) e WHERE e.event_id IN (SELECT event_id FROM price_comparison "
             "WHERE batch_id = :batch)"),
        {"batch": batch.id},
    )  # fmt: skip
    return int(expected), int(found)


def compared_not_live(session: Session, batch: ScrapeBatch, lines: str) -> dict[str, int]:
    """Per book, the prices in price_comparison that are not live as of the batch (suspended, gone,
    or not there at all): a comparison must never use them."""
    prices = " UNION ALL ".join(
        f"SELECT event_id, betpawa_market_id, coalesce(line, {NO_LINE}) AS line_key, outcome, "
        f"'{book.value}' AS book, {book.value}_odds AS odds FROM price_comparison "
        f"WHERE batch_id = {int(batch.id)} AND {book.value}_odds IS NOT NULL"
        for book in Book
    )
    rows = session.execute(
        text(
            f"SELECT p.book, count(*) FROM ({prices}) p LEFT JOIN {_live(lines)} q ON q.book = p.book "
            "AND q.event_id = p.event_id AND q.market = p.betpawa_market_id AND q.line_key = p.line_key "
            "AND q.outcome = p.outcome AND q.odds = p.odds WHERE q.event_id IS NULL GROUP BY p.book"
        )
    ).all()
    return {book.value: 0 for book in Book} | {book: int(n) for book, n in rows}


def stored_best_price_share(session: Session, batch: ScrapeBatch, tolerance: float) -> float | None:
    """BetPawa's best-price share recomputed from the stored price_comparison rows."""
    share = session.scalar(
        text(
            "SELECT avg((betpawa_odds >= best_competitor_odds - :tolerance)::int) FROM price_comparison "
            "WHERE batch_id = :batch AND best_competitor_odds IS NOT NULL"
        ),
        {"batch": batch.id, "tolerance": tolerance},
    )
    return None if share is None else float(share)


def margins_outside(session: Session, batch: ScrapeBatch, low: float, high: float) -> dict[str, int]:
    """Per book, the stored lines whose margin lies outside [low, high]."""
    counts = {}
    for book in Book:
        column = f"{book.value}_margin"
        counts[book.value] = int(
            session.scalar(
                text(
                    f"SELECT count(DISTINCT (event_id, betpawa_market_id, line)) FROM price_comparison "
                    f"WHERE batch_id = :batch AND ({column} < :low OR {column} > :high)"
                ),
                {"batch": batch.id, "low": low, "high": high},
            )
        )
    return counts
