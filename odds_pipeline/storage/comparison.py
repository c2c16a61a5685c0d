"""The SQL of the comparisons: the state of every line as of a batch, what changed since the
batch the comparison tables are as of, the line-level views, and the checks.

"As of a batch" is the latest stored state of each (event, market, line) at or before the batch's
own observation of that event, on the events the batch observed. A batch nothing was stored after
reads the current-state tables; an older one reads the change-only history, and both give the same
rows (`odds_pipeline_tests/comparison`). Frames come out by COPY as CSV, parsed in C by pandas or
Arrow, and go in by COPY in its binary format (`writers.copy_frame`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Table, UniqueConstraint, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from odds_pipeline.domain import Book
from odds_pipeline.storage.models import (
    ComparisonFigures,
    ComparisonLine,
    ComparisonState,
    PriceComparison,
    ScrapeBatch,
)
from odds_pipeline.storage.writers import CopyRows, copy, copy_encoded, copy_frame, encode_frame

NO_LINE = -1.0e9  # the line key of markets without a line: NULL never equals itself in a join
# One row per outcome of every line as of the batch; a gone line has one row and no outcome.
LINE_COLUMNS = ["event_id", "book", "market", "market_name", "line", "gone", "outcome", "odds", "active"]
# Read with these types: market ids and outcome names may look like numbers, and are text.
LINE_TYPES = {
    "event_id": pa.int64(),
    "book": pa.string(),
    "market": pa.string(),
    "market_name": pa.string(),
    "line": pa.float64(),
    "gone": pa.bool_(),
    "outcome": pa.string(),
    "odds": pa.float64(),
    "active": pa.bool_(),
}
PRICE_TYPES = {
    "event_id": pa.int64(),
    "betpawa_market_id": pa.string(),
    "market_name": pa.string(),
    "line": pa.float64(),
    "outcome": pa.string(),
    "best_competitor": pa.string(),
} | {
    name: pa.float64()
    for name in (
        "betpawa_odds", "sportybet_odds", "bet9ja_odds", "best_competitor_odds", "gap", "betpawa_margin",
        "sportybet_margin", "bet9ja_margin", "fair_probability",
    )
}  # fmt: skip


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


def _copy_out(session: Session, query: str) -> io.BytesIO:
    buffer = io.BytesIO()
    copy(session, f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    buffer.seek(0)
    return buffer


def read_frame(session: Session, query: str, dtype: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a query and load its rows with COPY: several times faster than fetching tuples."""
    buffer = io.TextIOWrapper(_copy_out(session, query), encoding="utf-8")
    # Only an empty field is NULL: a team or outcome may well be called "None" or "NA".
    return pd.read_csv(
        buffer, dtype=dtype, true_values=["t"], false_values=["f"], keep_default_na=False, na_values=[""]
    )


def read_typed(session: Session, query: str, types: dict[str, pa.DataType]) -> pd.DataFrame:
    """`read_frame` for the big reads, every column typed: Arrow's CSV reader, about 3x pandas' on a
    million outcomes (`parse_typed`)."""
    return parse_typed(_copy_out(session, query), types)


def parse_typed(csv: IO[bytes], types: dict[str, pa.DataType]) -> pd.DataFrame:
    """A query's rows as COPY wrote them, with a header, typed. An unquoted empty field is NULL, a
    quoted one the empty string."""
    options = pacsv.ConvertOptions(
        column_types=types,
        true_values=["t"],
        false_values=["f"],
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    table = pacsv.read_csv(csv, convert_options=options)
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)


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


@dataclass(frozen=True)
class AsOf:
    """Where a batch's lines come from: per side, the change-only history or the current state."""

    batch_id: int
    history: dict[str, bool]  # side ("betpawa", "competitors") → read from the history

    @property
    def current(self) -> bool:
        return not any(self.history.values())

    def relation(self, side: _Side) -> str:
        return _lines_relation(side, self.batch_id, self.history[_side_name(side)])


def _side_name(side: _Side) -> str:
    return "betpawa" if side is BETPAWA else "competitors"


COMPARISON_LOCK = 0x0DD5C0  # pg_advisory_xact_lock key: one comparison at a time


def begin_comparison(session: Session) -> None:
    """Take the comparison tables for this transaction: two batches compared at once (a backfill
    beside the schedule) would otherwise each rewrite part of the other's rows. Then set the
    planner up for this batch's queries."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMPARISON_LOCK})
    # Every query starts from the batch's snapshots. Statistics that predate the batch (autovacuum
    # comes every 10% of growth) expect one snapshot of it, not a thousand, and the plans expand
    # every line's JSON in each worker: on a full-scale copy with such statistics the checks took
    # 2.0 s instead of 1.4 s. The ANALYZE costs 10 ms on a young install; on a week of competitor
    # snapshots (1.7 M rows) it took 0.1 s.
    session.execute(text("ANALYZE odds_snapshots, competitor_odds_snapshots"))
    # Sorts and hashes of a few hundred thousand rows in memory (the default 4 MB spills to disk),
    # and scans of a batch's few snapshots split across workers, with the JSON hanging off them.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL min_parallel_table_scan_size = 0"))
    session.execute(text("SET LOCAL min_parallel_index_scan_size = 0"))


class ComparisonMovedOnError(RuntimeError):
    """The comparison tables are no longer as of the batch whose audits were about to read them."""


def begin_audit(session: Session, batch_id: int) -> None:
    """Start one of a batch's audits of the committed comparison tables, in a transaction of its own
    beside the others: one core each (the audits run side by side, and parallel workers would only
    contend with one another), and first the proof that the tables are still as of ``batch_id``.
    In a REPEATABLE READ transaction the audit then reads the very rows this proof saw."""
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    # Each audit hashes every live outcome of a book, up to 46 MB: in one batch, not two on disk.
    session.execute(text("SET LOCAL work_mem = '128MB'"))
    # With statistics that know the batch, the planner caches each line's expanded outcomes by
    # their JSON (Memoize): few lines repeat, and on a later batch's copy the three audits took
    # 1.47-1.57 s with it against 1.15-1.17 s without (a first batch's plans have none: 0.96-1.06 s).
    session.execute(text("SET LOCAL enable_memoize = off"))
    found = session.scalar(text("SELECT batch_id FROM comparison_state WHERE id = 1"))
    if found != batch_id:
        raise ComparisonMovedOnError(
            f"the comparison tables are as of batch {found}, not {batch_id}: another comparison rewrote them "
            "before this batch's audits read them; run the batch again"
        )


def as_of(session: Session, batch: ScrapeBatch, *, from_history: bool | None = None) -> AsOf:
    """How to read the batch's lines as of the batch (``from_history`` forces a path; by default the
    current state is read where it is the batch's)."""
    batch_id = int(batch.id)
    return AsOf(
        batch_id,
        {
            _side_name(side): _stored_after(session, side, batch_id) if from_history is None else from_history
            for side in (BETPAWA, COMPETITORS)
        },
    )


# The lines a batch recomputes when it compares incrementally (`staged_changes`): every line of
# the events in RECOMPUTE_EVENTS, and the line keys in RECOMPUTE_LINES.
OBSERVED = "observed_now"
RECOMPUTE_EVENTS = "recompute_events"
RECOMPUTE_LINES = "recompute_lines"


def _in_recomputed(alias: str, event: str = "event_id") -> str:
    """Whether row ``alias`` (its BetPawa event in column ``event``) is on a staged line."""
    return (
        f"{alias}.{event} IN (SELECT event_id FROM {RECOMPUTE_EVENTS}) OR ({alias}.{event}, "
        f"{alias}.betpawa_market_id, coalesce({alias}.line, {NO_LINE})) IN "
        f"(SELECT event_id, market, line_key FROM {RECOMPUTE_LINES})"
    )


Part = tuple[int, int]  # (k, n): the matched events whose id is k modulo n


def lines_query(paths: AsOf, *, recomputed_only: bool = False, part: Part | None = None) -> str:
    """The query of every book's lines, outcome by outcome, on the batch's matched events, as of the
    batch; with ``recomputed_only``, of the staged lines only (`staged_changes`); with ``part``, on
    that part of the events only."""
    matched = _matched(paths.batch_id)
    if part is not None:
        matched = f"SELECT * FROM ({matched}) p WHERE p.event_id % {int(part[1])} = {int(part[0])}"
    betpawa = f"SELECT * FROM ({paths.relation(BETPAWA)}) b WHERE b.event_id IN (SELECT event_id FROM matched)"
    competitors = (
        f"SELECT m.event_id AS betpawa_event_id, m.source, c.* FROM ({paths.relation(COMPETITORS)}) c "
        "JOIN matched m ON m.competitor_event_id = c.competitor_event_id"
    )
    if recomputed_only:
        betpawa = f"SELECT * FROM ({betpawa}) r WHERE {_in_recomputed('r')}"
        competitors = f"SELECT * FROM ({competitors}) r WHERE {_in_recomputed('r', 'betpawa_event_id')}"
    return (
        f"WITH matched AS ({matched}) "
        + _outcomes(betpawa, "l.event_id", "'betpawa'")
        + " UNION ALL "
        + _outcomes(competitors, "l.betpawa_event_id", "l.source")
    )


def lines_as_of(
    session: Session, paths: AsOf, *, recomputed_only: bool = False, part: Part | None = None
) -> pd.DataFrame:
    """Every book's lines on the batch's matched events as of the batch (or the staged ones only, or
    those of a part of the events)."""
    return parse_lines(fetch_lines(session, paths, recomputed_only=recomputed_only, part=part))


def fetch_lines(
    session: Session, paths: AsOf, *, recomputed_only: bool = False, part: Part | None = None
) -> io.BytesIO:
    """`lines_as_of` as PostgreSQL wrote it, for `parse_lines`: the parsing may then be done by a
    thread other than the one on the connection."""
    return _copy_out(session, lines_query(paths, recomputed_only=recomputed_only, part=part))


def parse_lines(csv: IO[bytes]) -> pd.DataFrame:
    return parse_typed(csv, LINE_TYPES)[LINE_COLUMNS]


@contextmanager
def staged_changes(session: Session, batch: ScrapeBatch, *, incremental: bool) -> Iterator[None]:
    """Stage the batch's observations of its matched events, and, when ``incremental``, what changed
    since the observations the comparison tables are as of (`comparison_observations`):

    - RECOMPUTE_EVENTS: events whose observations differ (matched or unmatched since, another
      competitor event, a snapshot rewritten since): all their lines are recomputed or removed;
    - RECOMPUTE_LINES: on the other events, the lines a book has stored a new state of since.

    A line whose current state was captured at or before the stored observation has not changed
    since, so its stored rows are still true. The staged tables are dropped afterwards."""
    batch_id = int(batch.id)
    matched = _matched(batch_id)
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE {OBSERVED} AS WITH matched AS ({matched}) "
            "SELECT e.event_id, 'betpawa' AS book, e.event_id AS owner_id, s.id AS snapshot_id, s.captured_at "
            "FROM (SELECT DISTINCT event_id FROM matched) e "
            f"JOIN odds_snapshots s ON s.event_id = e.event_id AND s.batch_id = {batch_id} "
            "UNION ALL SELECT m.event_id, m.source, m.competitor_event_id, s.id, s.captured_at FROM matched m "
            f"JOIN competitor_odds_snapshots s ON s.competitor_event_id = m.competitor_event_id "
            f"AND s.batch_id = {batch_id}"
        )
    )
    session.execute(text(f"CREATE TEMPORARY TABLE {RECOMPUTE_EVENTS} (event_id integer PRIMARY KEY)"))
    session.execute(text(f"CREATE TEMPORARY TABLE {RECOMPUTE_LINES} (event_id integer, market text, line_key float8)"))
    try:
        if incremental:
            # The stored observations whose snapshot still exists: a rewritten snapshot has a new id.
            kept = (
                "SELECT o.event_id, o.book, o.owner_id FROM comparison_observations o WHERE "
                "(o.book = 'betpawa' AND EXISTS (SELECT 1 FROM odds_snapshots s WHERE s.id = o.snapshot_id)) OR "
                "(o.book <> 'betpawa' AND EXISTS (SELECT 1 FROM competitor_odds_snapshots s "
                "WHERE s.id = o.snapshot_id))"
            )
            now = f"SELECT event_id, book, owner_id FROM {OBSERVED}"
            session.execute(
                text(
                    f"INSERT INTO {RECOMPUTE_EVENTS} SELECT event_id FROM (({now}) EXCEPT ({kept})) a "
                    f"UNION SELECT event_id FROM (({kept}) EXCEPT ({now})) b "
                    "UNION SELECT event_id FROM comparison_observations"
                    f" WHERE event_id NOT IN (SELECT event_id FROM {OBSERVED})"
                )
            )
            session.execute(
                text(
                    f"INSERT INTO {RECOMPUTE_LINES} SELECT o.event_id, c.betpawa_market_id, "
                    f"coalesce(c.line, {NO_LINE}) FROM comparison_observations o "
                    "JOIN market_odds_current c ON c.event_id = o.owner_id "
                    f"WHERE o.book = 'betpawa' AND c.captured_at > o.captured_at "
                    f"AND o.event_id NOT IN (SELECT event_id FROM {RECOMPUTE_EVENTS}) "
                    f"UNION SELECT o.event_id, c.betpawa_market_id, coalesce(c.line, {NO_LINE}) "
                    "FROM comparison_observations o JOIN competitor_market_odds_current c "
                    "ON c.competitor_event_id = o.owner_id "
                    f"WHERE o.book <> 'betpawa' AND c.captured_at > o.captured_at "
                    f"AND o.event_id NOT IN (SELECT event_id FROM {RECOMPUTE_EVENTS})"
                )
            )
        session.execute(text(f"ANALYZE {RECOMPUTE_EVENTS}"))
        session.execute(text(f"ANALYZE {RECOMPUTE_LINES}"))
        yield
    finally:
        for name in (OBSERVED, RECOMPUTE_EVENTS, RECOMPUTE_LINES):
            session.execute(text(f"DROP TABLE IF EXISTS {name}"))


def stored_prices(session: Session, *, recomputed_only: bool = False) -> pd.DataFrame:
    """The price comparison as stored (the staged lines only, with ``recomputed_only``), in key order."""
    where = f"WHERE {_in_recomputed('p')}" if recomputed_only else ""
    columns = ", ".join(c.name for c in PriceComparison.__table__.columns if c.name != "id")
    query = (
        f"SELECT {columns} FROM price_comparison p {where} "
        "ORDER BY event_id, betpawa_market_id, line NULLS FIRST, outcome"
    )
    return read_typed(session, query, PRICE_TYPES)


def write_lines(session: Session, prices: pd.DataFrame, lines: pd.DataFrame, *, incremental: bool) -> None:
    """Put the recomputed rows in place: in place of the staged lines' rows, or of every row."""
    clear_lines(session, incremental=incremental)
    copy_lines(session, prices, lines, incremental=incremental)
    finish_lines(session, incremental=incremental)


# An index built once over all the rows costs less than one kept up row by row: on a first batch
# at full scale, 0.3 s less in all. The unique constraints go too, and come back checked by their build.
_REBUILT_INDEXES = tuple(PriceComparison.__table__.indexes)
_REBUILT_CONSTRAINTS = tuple(
    constraint
    for table in (PriceComparison.__table__, ComparisonLine.__table__)
    for constraint in table.constraints
    if isinstance(constraint, UniqueConstraint)
)


def clear_lines(session: Session, *, incremental: bool) -> None:
    """Remove the staged lines' rows, or every row, before `copy_lines` writes the recomputed ones."""
    for table in (PriceComparison.__table__, ComparisonLine.__table__):
        if incremental:
            session.execute(text(f'DELETE FROM "{table.name}" t WHERE {_in_recomputed("t")}'))
        else:
            session.execute(text(f'TRUNCATE "{table.name}" RESTART IDENTITY'))
    if not incremental:
        for index in _REBUILT_INDEXES:
            index.drop(session.connection())
        for constraint in _REBUILT_CONSTRAINTS:
            session.execute(DropConstraint(constraint))


def copy_lines(session: Session, prices: pd.DataFrame, lines: pd.DataFrame, *, incremental: bool) -> None:
    """Write recomputed rows after `clear_lines`; a full rewrite may come in several parts."""
    copy_encoded_lines(session, encode_lines(prices, lines), incremental=incremental)


def encode_lines(prices: pd.DataFrame, lines: pd.DataFrame) -> tuple[CopyRows, CopyRows]:
    """Recomputed rows ready for `copy_encoded_lines`, encoded by any thread."""
    return encode_frame(PriceComparison.__table__, prices), encode_frame(ComparisonLine.__table__, lines)


def copy_encoded_lines(session: Session, rows: tuple[CopyRows, CopyRows], *, incremental: bool) -> None:
    for part in rows:
        copy_encoded(session, part, freeze=not incremental)


def finish_lines(session: Session, *, incremental: bool) -> None:
    """After the last `copy_lines`: rebuild what `clear_lines` dropped."""
    if incremental:
        return
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))  # each index sorted in memory
    for constraint in _REBUILT_CONSTRAINTS:
        session.execute(AddConstraint(constraint))
    for index in _REBUILT_INDEXES:
        index.create(session.connection())
    # Rewritten whole: the views and checks that follow plan on these statistics now, not on
    # those of the table before (empty, on a first batch) until autovacuum comes round. A sample
    # of 6,000 rows, not the default 30,000, takes 0.05 s, not 0.22 s, on a first full-scale
    # batch, and the views and checks took as long after it (0.73 s and 0.72 s).
    session.execute(text("SET LOCAL default_statistics_target = 20"))  # nothing else analyses after it
    session.execute(text("ANALYZE price_comparison, comparison_lines"))


def comparison_state(session: Session) -> ComparisonState | None:
    # Read afresh: `record_state` writes the row in SQL, past the session's identity map.
    return session.get(ComparisonState, 1, populate_existing=True)


def record_state(session: Session, batch: ScrapeBatch, fingerprint: str, mode: str, recomputed: int) -> None:
    """The tables are now as of this batch's staged observations."""
    session.execute(text("TRUNCATE comparison_observations RESTART IDENTITY"))
    session.execute(
        text(
            "INSERT INTO comparison_observations (event_id, book, owner_id, snapshot_id, captured_at) "
            f"SELECT event_id, book, owner_id, snapshot_id, captured_at FROM {OBSERVED}"
        )
    )
    values = {
        "id": 1,
        "batch_id": batch.id,
        "fingerprint": fingerprint,
        "mode": mode,
        "recomputed_lines": recomputed,
        "compared_at": datetime.now(UTC),
    }
    statement = insert(ComparisonState).values(values)
    session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_={k: statement.excluded[k] for k in values})
    )


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
        # (IN, not EXISTS per row: a semi-join, planned once; coalesce, as IN yields NULL on a NULL id.)
        "coalesce(ct.id IN (SELECT tournament_id FROM competitor_events WHERE betpawa_event_id IS NOT NULL) "
        "OR ct.sportradar_id IN (SELECT sportradar_id FROM tournaments), false) AS betpawa_has_tournament "
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
    """The price comparison table as stored, if it is as of this batch."""
    state = comparison_state(session)
    if state is None or state.batch_id != batch.id:
        return None
    return stored_prices(session)


def replace_table(session: Session, table: Table, frame: pd.DataFrame) -> int:
    """Empty a comparison table and write the frame's rows into it (columns by name)."""
    session.execute(text(f'TRUNCATE "{table.name}" RESTART IDENTITY'))
    return copy_frame(session, table, frame, freeze=True)


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


_LIVE_OUTCOME = "'$[*] ? (@.is_active == true && @.odds > 1)'"


def matched_events_with_lines(session: Session, paths: AsOf) -> tuple[int, int, int]:
    """(matched events on which BetPawa offers a live price as of the batch, of them those in
    price_comparison, events in price_comparison that are not among them)."""
    events = (
        f"WITH matched AS ({_matched(paths.batch_id)}) SELECT DISTINCT l.event_id FROM ({paths.relation(BETPAWA)}) l "
        "WHERE l.event_id IN (SELECT event_id FROM matched) AND l.unavailable_at IS NULL "
        f"AND jsonb_path_exists(l.outcomes, {_LIVE_OUTCOME})"
    )
    row = session.execute(
        text(
            f"WITH expected AS ({events}), compared AS (SELECT DISTINCT event_id FROM price_comparison) "
            "SELECT (SELECT count(*) FROM expected), "
            "(SELECT count(*) FROM expected WHERE event_id IN (SELECT event_id FROM compared)), "
            "(SELECT count(*) FROM compared WHERE event_id NOT IN (SELECT event_id FROM expected))"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def compared_not_live(session: Session, paths: AsOf, book: Book) -> int:
    """The book's prices in price_comparison that are not live as of the batch (suspended, gone, or
    not there at all): a comparison must never use them. Read from the snapshots afresh: the book's
    live outcomes as of the batch, joined to the stored prices by line, outcome and odds."""
    columns = "l.betpawa_market_id, l.line, l.outcomes, l.unavailable_at"
    if book is Book.BETPAWA:
        lines = f"SELECT l.event_id, {columns} FROM ({paths.relation(BETPAWA)}) l"
    else:
        lines = (
            f"SELECT m.event_id, {columns} FROM ({paths.relation(COMPETITORS)}) l "
            f"JOIN ({_matched(paths.batch_id)}) m ON m.competitor_event_id = l.competitor_event_id "
            f"AND m.source = '{book.value}'"
        )
    live = (
        f"SELECT q.event_id, q.betpawa_market_id, coalesce(q.line, {NO_LINE}) AS line_key, x.name, x.odds "
        f"FROM ({lines}) q CROSS JOIN LATERAL jsonb_to_recordset(q.outcomes) AS x(name text, odds float8, "
        "is_active boolean) WHERE q.unavailable_at IS NULL AND x.is_active AND x.odds > 1"
    )
    column = f"p.{book.value}_odds"
    return int(
        session.scalar(
            text(
                f"SELECT count(*) FROM price_comparison p LEFT JOIN ({live}) v ON v.event_id = p.event_id "
                f"AND v.betpawa_market_id = p.betpawa_market_id AND v.line_key = coalesce(p.line, {NO_LINE}) "
                f"AND v.name = p.outcome AND v.odds = {column} WHERE {column} IS NOT NULL AND v.event_id IS NULL"
            )
        )
    )


def stored_best_price_share(session: Session, tolerance: float) -> float | None:
    """BetPawa's best-price share recomputed from the stored price_comparison rows."""
    share = session.scalar(
        text(
            "SELECT avg((betpawa_odds >= best_competitor_odds - :tolerance)::int) FROM price_comparison "
            "WHERE best_competitor_odds IS NOT NULL"
        ),
        {"tolerance": tolerance},
    )
    return None if share is None else float(share)


def margins_outside(session: Session, low: float, high: float) -> dict[str, int]:
    """Per book, the stored lines whose margin lies outside [low, high]."""
    outside = [f"{book.value}_margin < :low OR {book.value}_margin > :high" for book in Book]
    row = session.execute(
        text(
            "SELECT "
            + ", ".join(f"count(DISTINCT (event_id, betpawa_market_id, line)) FILTER (WHERE {o})" for o in outside)
            + " FROM price_comparison"
        ),
        {"low": low, "high": high},
    ).one()
    return {book.value: int(n) for book, n in zip(Book, row, strict=True)}


def price_figures(session: Session, tolerance: float) -> dict[str, dict[str, Any]]:
    """Per book, the headline figures of the stored prices: the BetPawa outcomes it prices
    (``compared``; BetPawa's: those some competitor prices), and BetPawa's best-price share and median gap."""
    competitors = [book.value for book in Book if book is not Book.BETPAWA]
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE best_competitor_odds IS NOT NULL), "
            "avg((betpawa_odds >= best_competitor_odds - :tolerance)::int) "
            "FILTER (WHERE best_competitor_odds IS NOT NULL)::float8, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) FILTER (WHERE best_competitor_odds IS NOT NULL), "
            + ", ".join(f"count({book}_odds)" for book in competitors)
            + " FROM price_comparison"
        ),
        {"tolerance": tolerance},
    ).one()
    betpawa = {
        "compared": int(row[0]),
        "best_price_share": None if row[1] is None else float(row[1]),
        "median_gap": None if row[2] is None else float(row[2]),
    }
    return {"betpawa": betpawa} | {book: {"compared": int(n)} for book, n in zip(competitors, row[3:], strict=True)}


def _markets_in(markets: Sequence[str]) -> str:
    return f"p.betpawa_market_id IN ({', '.join(repr(str(m)) for m in markets)})"


def furthest_behind(session: Session, markets: Sequence[str] | None, limit: int) -> pd.DataFrame:
    """The stored outcomes where BetPawa is furthest behind the best competitor price (on ``markets``
    if given), with the event's name: the first rows of ix_price_comparison_furthest_behind."""
    only = f"AND {_markets_in(markets)}" if markets else ""
    query = (
        "SELECT e.name AS event_name, p.* FROM price_comparison p JOIN events e ON e.id = p.event_id "
        f"WHERE p.gap IS NOT NULL {only} ORDER BY p.gap, p.event_id, p.betpawa_market_id, p.line, p.outcome "
        f"LIMIT {int(limit)}"
    )
    return read_typed(session, query, {"event_name": pa.string(), **PRICE_TYPES})


def outcomes_with_gap(session: Session, markets: Sequence[str]) -> tuple[int, int]:
    """How many stored outcomes have a gap to a competitor price: in all, and on ``markets``."""
    row = session.execute(
        text(
            f"SELECT count(*), count(*) FILTER (WHERE {_markets_in(markets)}) FROM price_comparison p "
            "WHERE p.gap IS NOT NULL"
        )
    ).one()
    return int(row[0]), int(row[1])


def table_rows(session: Session, table: str) -> int:
    return int(session.scalar(text(f'SELECT count(*) FROM "{table}"')))


# --- the line-level views, in SQL over comparison_lines: nothing leaves PostgreSQL -----------------

_COMPETITOR_NAMES = [book.value for book in Book if book.is_competitor]
_KEY = "l.event_id, l.line"  # within a tournament and market, a line's key
_LOWEST = f"least({', '.join(f'l.{b}_margin' for b in _COMPETITOR_NAMES)})"


# The JSON array of the competitors, in name order, that price line ``l`` live; and whether any does.
_COMPETITORS_PRICING = (
    "to_jsonb(array_remove(ARRAY["
    + ", ".join(f"CASE WHEN l.{b}_live > 0 THEN '{b}' END" for b in sorted(_COMPETITOR_NAMES))
    + "], NULL))"
)
_COMPETITOR_LIVE = "(" + " OR ".join(f"l.{b}_live > 0" for b in _COMPETITOR_NAMES) + ")"


def write_scorecard(session: Session, batch: ScrapeBatch) -> int:
    """margin_scorecard: per tournament and market, BetPawa's margin against the lowest competitor
    margin, paired line by line (only lines where BetPawa and a competitor have a complete set)."""
    session.execute(text("TRUNCATE margin_scorecard RESTART IDENTITY"))
    result = session.execute(
        text(
            "INSERT INTO margin_scorecard (batch_id, tournament_id, tournament, country, betpawa_market_id, "
            "market_name, events, lines, betpawa_margin, competitor_margin, mean_difference, median_difference) "
            "SELECT :batch, t.id, t.name, t.country, l.betpawa_market_id, min(l.market_name), "
            # Summed in key order: a float sum depends on its order, and the table's order depends
            # on which lines the batches before rewrote.
            f"count(DISTINCT l.event_id), count(*), avg(l.betpawa_margin ORDER BY {_KEY}), "
            f"avg({_LOWEST} ORDER BY {_KEY}), avg(l.betpawa_margin - {_LOWEST} ORDER BY {_KEY}), "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY l.betpawa_margin - {_LOWEST}) "
            "FROM comparison_lines l JOIN events e ON e.id = l.event_id JOIN tournaments t ON t.id = e.tournament_id "
            f"WHERE l.betpawa_margin IS NOT NULL AND {_LOWEST} IS NOT NULL "
            "GROUP BY t.id, t.name, t.country, l.betpawa_market_id ORDER BY t.id, l.betpawa_market_id"
        ),
        {"batch": batch.id},
    )
    return result.rowcount


def write_missing_lines(session: Session, batch: ScrapeBatch) -> int:
    """coverage_gaps' missing_line rows: lines a competitor prices on a matched event that BetPawa
    does not offer at all (not even suspended or gone), added to the event-level rows that
    `replace_table` has just written."""
    result = session.execute(
        text(
            "INSERT INTO coverage_gaps (batch_id, kind, books, sportradar_id, event_id, event_name, kickoff, "
            "tournament, country, betpawa_market_id, market_name, line) "
            f"SELECT :batch, 'missing_line', {_COMPETITORS_PRICING}, e.sportradar_id, l.event_id, e.name, "
            "e.kickoff, t.name, t.country, l.betpawa_market_id, l.market_name, l.line "
            "FROM comparison_lines l JOIN events e ON e.id = l.event_id JOIN tournaments t ON t.id = e.tournament_id "
            f"WHERE l.betpawa_live IS NULL AND {_COMPETITOR_LIVE}"
            # No ORDER BY: nothing reads these rows in id order, and sorting 71,000 of them cost 0.07 s.
        ),
        {"batch": batch.id},
    )
    return result.rowcount


def write_alerts(session: Session, batch: ScrapeBatch, few_share: float, few_min: int) -> int:
    """availability_alerts: BetPawa lines suspended or gone while a competitor prices them, and
    matched events where BetPawa offers fewer than ``few_share`` of the markets of a competitor that
    offers at least ``few_min``."""
    session.execute(text("TRUNCATE availability_alerts RESTART IDENTITY"))
    lines = session.execute(
        text(
            "INSERT INTO availability_alerts (batch_id, kind, event_id, betpawa_market_id, market_name, line, books) "
            "SELECT :batch, CASE WHEN l.betpawa_gone THEN 'line_gone' ELSE 'line_suspended' END, l.event_id, "
            f"l.betpawa_market_id, l.market_name, l.line, {_COMPETITORS_PRICING} FROM comparison_lines l "
            f"WHERE (l.betpawa_gone OR l.betpawa_suspended) AND {_COMPETITOR_LIVE} "
            "ORDER BY l.event_id, l.betpawa_market_id, l.line NULLS FIRST"
        ),
        {"batch": batch.id},
    ).rowcount
    counts = ", ".join(
        f"count(DISTINCT betpawa_market_id) FILTER (WHERE {book.value}_live > 0) AS {book.value}" for book in Book
    )
    most = f"greatest({', '.join(_COMPETITOR_NAMES)})"
    # The competitor with the most markets; on a tie, the first in the books' order.
    richest = "CASE " + " ".join(f"WHEN {b} = {most} THEN '{b}'" for b in _COMPETITOR_NAMES) + " END"
    any_live = " OR ".join(f"{book.value}_live > 0" for book in Book)
    few = session.execute(
        text(
            "INSERT INTO availability_alerts (batch_id, kind, event_id, books, betpawa_markets, competitor_markets) "
            f"SELECT :batch, 'few_markets', event_id, jsonb_build_array({richest}), betpawa, {most} "
            f"FROM (SELECT event_id, {counts} FROM comparison_lines WHERE {any_live} GROUP BY event_id) m "
            f"WHERE {most} >= :few_min AND betpawa < :few_share * {most} ORDER BY event_id"
        ),
        {"batch": batch.id, "few_min": few_min, "few_share": few_share},
    ).rowcount
    return lines + few


def line_figures(session: Session) -> dict[str, dict[str, Any]]:
    """Per book, from the line summaries: matched events and live outcomes it prices, and its median
    margin over the lines every book prices with a complete set (so the books are measured on one set)."""
    books = [book.value for book in Book]
    row = session.execute(
        text(
            "SELECT "
            + ", ".join(
                f"count(DISTINCT event_id) FILTER (WHERE {b}_live > 0), coalesce(sum({b}_live), 0)" for b in books
            )
            + ", count(*) FILTER (WHERE "
            + " AND ".join(f"{b}_margin IS NOT NULL" for b in books)
            + "), "
            + ", ".join(
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {b}_margin) FILTER (WHERE "
                + " AND ".join(f"{other}_margin IS NOT NULL" for other in books)
                + ")"
                for b in books
            )
            + " FROM comparison_lines"
        )
    ).one()
    common = int(row[2 * len(books)])
    medians = row[2 * len(books) + 1 :]
    return {
        book: {
            "events": int(row[2 * i]),
            "outcomes": int(row[2 * i + 1]),
            "median_margin": None if common == 0 else float(medians[i]),
            "margin_lines": common,
        }
        for i, book in enumerate(books)
    }


def stored_view(session: Session, table: str, *, where: str = "", limit: int | None = None) -> pd.DataFrame:
    """A replaced view table as stored, in its own order, with JSON columns decoded."""
    query = f'SELECT * FROM "{table}" {where} ORDER BY id' + (f" LIMIT {int(limit)}" if limit else "")
    frame = read_frame(session, query, {"betpawa_market_id": str, "market_name": str, "sportradar_id": str})
    for name in ("books", "first_listed"):
        if name in frame.columns:
            frame[name] = [orjson.loads(v) if isinstance(v, str) else None for v in frame[name]]
    return frame.drop(columns=["id"])


def view_counts(session: Session, table: str) -> dict[str, int]:
    """Rows per kind of a view table (coverage_gaps, availability_alerts)."""
    return {kind: int(n) for kind, n in session.execute(text(f'SELECT kind, count(*) FROM "{table}" GROUP BY kind'))}
