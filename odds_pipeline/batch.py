"""One batch, step by step, in plain Python: capture, palimpsest, match, odds.

Each step is what one Dagster asset does (`defs/` only wires them); each returns a summary of
the figures the asset reports. A capture is parsed and mapped once, answer by answer, by a
`CaptureParser`: while it is being fetched (the CPU works while the network waits), or from the
landing store when an old batch is re-derived. Either way it is the same parse of the same bytes.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.bookmakers.palimpsest import Progress, capture_palimpsest
from odds_pipeline.bookmakers.records import EventRecord, ParsedEvent
from odds_pipeline.bookmakers.registry import Parsers
from odds_pipeline.domain import COMPETITORS, Book, RunStatus
from odds_pipeline.markets.engine import LineMapping, MarketMapper
from odds_pipeline.markets.overrides import record_unmapped
from odds_pipeline.storage import batches, queries, writers
from odds_pipeline.storage.landing import CaptureManifest, CaptureMissingError, LandingStore
from odds_pipeline.storage.models import CompetitorEvent, Event, ScrapeBatch, ScrapeRun


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector over a book's step.

    A capture builds millions of small objects (records, line states, rows to write), and each of
    the collector's full passes walks all of them again, though none is in a cycle. On a full-scale
    first batch of BetPawa the passes took 1.5 s of the capture's 11 s of CPU and 3.7 s of the
    odds' 8 s. Reference counting frees the objects as before; the few cycles made meanwhile (the
    HTTP client's, about 77,000 objects in that batch) are collected once the collector is back."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def lower_cpu_priority(niceness: int) -> bool:
    """Lower this process's CPU priority by ``niceness`` if it is a step's own process (one the
    executor started, which ends with the step): lowered in the run's own process, as the
    in-process executor would have it, every later step would stay lowered too. Whether it did."""
    if niceness <= 0 or multiprocessing.parent_process() is None:
        return False
    os.nice(niceness)
    return True


@dataclass
class CaptureSummary:
    """What one book's capture of a batch holds, scraped now or read back from the landing store."""

    book: Book
    source: str  # "scraped" or "landing store"
    manifest: CaptureManifest
    events_expected: int | None = None
    wall_s: float | None = None

    def figures(self) -> dict[str, Any]:
        m = self.manifest
        figures: dict[str, Any] = {
            "source": self.source,
            "responses": m.responses,
            "events": m.events,
            "errors": m.errors,
            "errors_by_type": m.errors_by_type,
            "raw_bytes": m.raw_bytes,
            "stored_bytes": m.stored_bytes,
            "compression_ratio": round(m.raw_bytes / m.stored_bytes, 2) if m.stored_bytes else 0.0,
            "sha256": m.sha256,
        }
        if self.events_expected is not None:
            figures["events_expected"] = self.events_expected
        if self.wall_s is not None:
            figures["wall_s"] = round(self.wall_s, 2)
        return figures


def capture(
    open_client: Callable[[], BookClient],
    landing: LandingStore,
    partition_key: str,
    book: Book,
    progress: Progress | None = None,
    parser: CaptureParser | None = None,
) -> tuple[CaptureSummary, list[BookmakerError]]:
    """Fetch the book's whole palimpsest, landing every answer as it arrives, whatever else goes wrong.

    With a parser, each answer is also parsed and mapped as soon as it is landed.
    """
    writer = landing.open_capture(partition_key, book)

    def land(raw: RawResponse) -> None:
        writer.add(raw)
        if parser is not None:
            parser.absorb(raw)

    try:
        palimpsest = capture_palimpsest(open_client, progress, land=land)
    except BaseException:
        writer.abandon()
        raise
    manifest = writer.finish(
        events=palimpsest.delivered,
        errors_by_type=dict(Counter(e.error_type for e in palimpsest.errors)),
        down=palimpsest.down,
        listed=palimpsest.events_expected,
        failed_lists=palimpsest.failed_lists,
        failures=palimpsest.failures,
    )
    summary = CaptureSummary(book, "scraped", manifest, palimpsest.events_expected, palimpsest.wall_s)
    return summary, palimpsest.errors


def landed_capture(landing: LandingStore, partition_key: str, book: Book) -> CaptureSummary:
    """The latest capture already in the landing store, to re-derive a batch without fetching."""
    manifests = landing.manifests(partition_key, book)
    if not manifests:
        raise CaptureMissingError(f"no raw capture of {book.value} for batch {partition_key}")
    return CaptureSummary(book, "landing store", manifests[-1])


@dataclass
class EventOdds:
    """One delivered event's lines, mapped onto BetPawa's catalogue."""

    lines: dict[writers.LineKey, writers.LineState] = field(default_factory=dict)
    # Each line's `writers.state_hash`, taken while the capture waits on the network rather than
    # after it, when only the writes should be left.
    digests: dict[writers.LineKey, int] = field(default_factory=dict)
    mapped: int = 0  # the book's market lines that mapped (one may give several BetPawa lines)


@dataclass
class ParsedCapture:
    """One book's capture of a batch, parsed and mapped: what the palimpsest and the odds store."""

    book: Book
    manifest: CaptureManifest
    events: list[EventRecord]  # the full events delivered, in the order they arrived
    odds: dict[str, EventOdds]  # per external event id
    lines: int  # market lines parsed
    unmapped: list[LineMapping]
    problems: list[BookmakerError]
    listed: list[EventRecord]  # every event the lists named
    timings_ms: dict[str, float]  # full-event fetch time per event id

    @property
    def captured_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest.captured_at)


class CaptureParser:
    """Parses and maps the answers of one capture as they come; a response that does not parse is a
    named problem, not a stop. Answers refused when they arrived are parsed too: a parser fixed since
    reads them now. What is kept is the mapped line states and the lines that did not map (for the
    unmapped log), never the answers."""

    def __init__(self, book: Book, parse: Parsers, mapper: MarketMapper) -> None:
        self.book, self._parse, self._mapper = book, parse, mapper
        self._events: list[EventRecord] = []
        self._odds: dict[str, EventOdds] = {}
        self._lines = 0
        self._unmapped: list[LineMapping] = []
        self._problems: list[BookmakerError] = []
        self._listed: list[EventRecord] = []
        self._timings: dict[str, float] = {}

    def absorb(self, raw: RawResponse) -> None:
        try:
            if raw.endpoint == "events":
                self._listed.extend(self._parse.event_list(raw))
            elif raw.endpoint == "event":
                event = self._parse.event(raw)
                self._events.append(event.event)
                self._problems.extend(event.problems)
                self._timings[event.event.external_id] = raw.elapsed_ms
                self._map(event)
        except BookmakerError as problem:
            self._problems.append(problem)

    def _map(self, event: ParsedEvent) -> None:
        self._lines += len(event.lines)
        odds = self._odds.setdefault(event.event.external_id, EventOdds())
        betpawa = self.book is Book.BETPAWA
        entries = self._mapper.catalogue.entries
        for mapping in self._mapper.map_many(event.lines):
            if mapping.unmapped:
                self._unmapped.append(mapping)
            if not mapping.mapped:
                continue
            odds.mapped += 1
            record = mapping.record
            for line in mapping.mapped:
                entry = entries.get(line.entry_id)
                name = (record.market_name if betpawa else None) or (entry.name if entry else line.betpawa_market_id)
                groups = record.groups if betpawa else (entry.tabs if entry else ())
                key = (line.betpawa_market_id, line.line)
                state = odds.lines[key] = writers.line_state(line, name, tuple(groups))
                odds.digests[key] = writers.state_hash(state)

    def parsed(self, manifest: CaptureManifest) -> ParsedCapture:
        """What the capture that ``manifest`` describes holds, once every answer was absorbed."""
        return ParsedCapture(
            book=self.book,
            manifest=manifest,
            events=self._events,
            odds=self._odds,
            lines=self._lines,
            unmapped=self._unmapped,
            problems=self._problems,
            listed=self._listed,
            timings_ms=self._timings,
        )


def parse_landed(landing: LandingStore, partition_key: str, parser: CaptureParser) -> ParsedCapture:
    """Parse the latest landed capture of the parser's book, one answer at a time."""
    manifest, answers = landing.latest(partition_key, parser.book)
    for raw in answers:
        parser.absorb(raw)
    return parser.parsed(manifest)


@dataclass
class PalimpsestSummary:
    book: Book
    tournaments: int
    events: int  # stored
    lines: int
    problems: Counter[str]
    listed: int  # every event the book named this batch, lists lost included
    lost: int  # listed, and neither delivered nor stored: each has its reason in event_scrape_status
    status: RunStatus


def store_palimpsest(session: Session, batch: ScrapeBatch, parsed: ParsedCapture, run: ScrapeRun) -> PalimpsestSummary:
    """Store the book's events, name every listed event it did not deliver, and settle its run and the batch."""
    book = parsed.book
    stored = writers.store_events(session, book, parsed.events, batches.bookmaker_ids(session)[book])
    outcomes = event_outcomes(parsed, stored)
    named = {o.external_id for o in outcomes}
    for external_id, sportradar_id, competition in queries.upcoming_events_of(
        session, book, list(parsed.manifest.failed_lists), batch.window_start
    ):
        if external_id not in named:
            why = f"the list of competition {competition} was lost: {parsed.manifest.failed_lists[competition]}"
            outcomes.append(EventOutcome(external_id, _key(book, external_id, sportradar_id), sportradar_id, None, why))
    batches.record_event_status(session, batch, book, [o.row() for o in outcomes])
    lost = sum(1 for o in outcomes if o.failure is not None)
    status = batches.settle_run(
        session, run, listed=len(outcomes), stored=len(stored), lost=lost, down=parsed.manifest.down
    )
    batches.settle_batch(session, batch)
    return PalimpsestSummary(
        book=book,
        tournaments=len({e.tournament.external_id for e in parsed.events if e.tournament}),
        events=len(stored),
        lines=parsed.lines,
        problems=Counter(p.error_type for p in parsed.problems),
        listed=len(outcomes),
        lost=lost,
        status=status,
    )


def _key(book: Book, external_id: str, sportradar_id: str | None) -> str:
    return sportradar_id or f"{book.value}:{external_id}"


@dataclass(frozen=True)
class EventOutcome:
    """What became of one event of one book in a batch: delivered (with its fetch time), or why not."""

    external_id: str
    key: str
    sportradar_id: str | None
    timing_ms: float | None
    failure: str | None

    def row(self) -> batches.EventStatusRow:
        return batches.EventStatusRow(self.key, self.sportradar_id, self.failure, self.timing_ms)


def event_outcomes(parsed: ParsedCapture, stored: dict[str, int]) -> list[EventOutcome]:
    """Every event the lists named or the book delivered: stored, or failed with the reason it failed."""
    book = parsed.book
    delivered = {e.external_id: e for e in parsed.events}
    why = {**parsed.manifest.failures}
    for problem in parsed.problems:
        if problem.ref and problem.ref not in delivered:
            why.setdefault(problem.ref, problem.summary)
    outcomes = []
    for external_id, event in {**{e.external_id: e for e in parsed.listed}, **delivered}.items():
        failure = None
        if external_id not in stored:
            failure = why.get(external_id, "listed, but its full event never arrived")
        timing = parsed.timings_ms.get(external_id)
        outcomes.append(
            EventOutcome(
                external_id, _key(book, external_id, event.sportradar_id), event.sportradar_id, timing, failure
            )
        )
    return outcomes


@dataclass
class MatchSummary:
    linked: dict[str, int]
    competitor_only: dict[str, int]
    events: dict[str, int]

    def match_rate(self, book: Book) -> float:
        total = self.events.get(book.value, 0)
        return self.linked.get(book.value, 0) / total if total else 0.0


def match_events(session: Session, batch: ScrapeBatch) -> MatchSummary:
    """Link each competitor event of the batch to the BetPawa event with the same SportRadar id.

    A book's match rate counts only the events that book delivered this batch: a book that
    delivered nothing has a rate of 0, whatever the other books listed.
    """
    writers.link_competitor_events(session, batch)
    linked, alone, total = {}, {}, {}
    for book in COMPETITORS:
        linked[book.value], alone[book.value] = queries.linked_events(session, batch, book)
        total[book.value] = linked[book.value] + alone[book.value]
    return MatchSummary(linked, alone, total)


@dataclass
class OddsSummary:
    book: Book
    events: int
    snapshots: int
    market_rows: int
    confirmed: int
    mapped_lines: int
    unmapped_lines: int
    stored_late: bool = False  # the batch took its place among later observations (or was stored again)
    rewritten: int = 0  # later observations whose rows were rewritten against this batch

    @property
    def coverage(self) -> float:
        total = self.mapped_lines + self.unmapped_lines
        return self.mapped_lines / total if total else 0.0


def store_odds(session: Session, batch: ScrapeBatch, parsed: ParsedCapture, run_id: int) -> OddsSummary:
    """Store the book's mapped lines change-only against earlier batches, and log what did not map."""
    ids = batches.bookmaker_ids(session)
    book = parsed.book
    model = Event if book is Book.BETPAWA else CompetitorEvent
    filters = [] if book is Book.BETPAWA else [CompetitorEvent.source == book]
    row_ids = dict(
        session.execute(
            select(model.external_id, model.id).where(model.external_id.in_(list(parsed.odds)), *filters)
        ).all()
    )
    observed: dict[int, dict[writers.LineKey, writers.LineState]] = {}
    digests: dict[int, dict[writers.LineKey, int]] = {}
    mapped_lines = 0
    for external_id, odds in parsed.odds.items():
        event_id = row_ids.get(external_id)
        if event_id is None:
            continue
        mapped_lines += odds.mapped
        observed.setdefault(event_id, {}).update(odds.lines)
        digests.setdefault(event_id, {}).update(odds.digests)
    written = writers.store_snapshots(
        session, book, batch, run_id, ids[book], observed, parsed.captured_at, digests=digests
    )
    record_unmapped(session, parsed.unmapped, batch.id, parsed.captured_at)
    return OddsSummary(
        book=book,
        events=len(observed),
        snapshots=written.snapshots,
        market_rows=written.market_rows,
        confirmed=written.confirmed,
        mapped_lines=mapped_lines,
        unmapped_lines=len(parsed.unmapped),
        stored_late=not written.in_capture_order,
        rewritten=written.repaired,
    )
