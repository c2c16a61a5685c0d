"""One batch, step by step, in plain Python: capture, palimpsest, match, odds.

Each step is what one Dagster asset does (`defs/` only wires them); each returns a summary of
the figures the asset reports. Steps after the capture read the landing store, never the network,
so any of them can be re-derived for an old batch whose raw capture exists.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.bookmakers.palimpsest import Progress, capture_palimpsest
from odds_pipeline.bookmakers.records import EventRecord, ParsedEvent
from odds_pipeline.bookmakers.registry import Parsers, parsers
from odds_pipeline.domain import COMPETITORS, Book, EventScrapeOutcome
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.markets.overrides import active_catalogue, record_unmapped
from odds_pipeline.settings import Settings
from odds_pipeline.storage import batches, writers
from odds_pipeline.storage.database import make_engine
from odds_pipeline.storage.landing import CaptureManifest, CaptureMissingError, LandingStore
from odds_pipeline.storage.models import CompetitorEvent, Event, EventScrapeStatus, ScrapeBatch


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
    progress: Progress | None = None,
) -> tuple[CaptureSummary, list[BookmakerError]]:
    """Fetch the book's whole palimpsest and land every answer, whatever else went wrong."""
    palimpsest = capture_palimpsest(open_client, progress)
    manifest = landing.write(
        partition_key,
        palimpsest.book,
        palimpsest.responses,
        events=len(palimpsest.events),
        errors_by_type=dict(Counter(e.error_type for e in palimpsest.errors)),
        down=palimpsest.catalogue is None,
    )
    summary = CaptureSummary(palimpsest.book, "scraped", manifest, palimpsest.events_expected, palimpsest.wall_s)
    return summary, palimpsest.errors


def landed_capture(landing: LandingStore, partition_key: str, book: Book) -> CaptureSummary:
    """The latest capture already in the landing store, to re-derive a batch without fetching."""
    manifests = landing.manifests(partition_key, book)
    if not manifests:
        raise CaptureMissingError(f"no raw capture of {book.value} for batch {partition_key}")
    return CaptureSummary(book, "landing store", manifests[-1])


@dataclass
class ParsedCapture:
    book: Book
    captured_at: datetime
    events: list[ParsedEvent]
    problems: list[BookmakerError] = field(default_factory=list)
    listed: list[EventRecord] = field(default_factory=list)  # every event the lists named
    timings_ms: dict[str, float] = field(default_factory=dict)  # full-event fetch time per event id


def parse_capture(landing: LandingStore, partition_key: str, book: Book, parse: Parsers) -> ParsedCapture:
    """Parse the latest landed capture; a response that does not parse is a named problem, not a stop."""
    manifest, responses = landing.latest(partition_key, book)
    parsed = ParsedCapture(book, datetime.fromisoformat(manifest.captured_at), [])
    for raw in responses:
        try:
            if raw.endpoint == "events":
                parsed.listed.extend(parse.event_list(raw))
            elif raw.endpoint == "event":
                event = parse.event(raw)
                parsed.events.append(event)
                parsed.problems.extend(event.problems)
                parsed.timings_ms[event.event.external_id] = raw.elapsed_ms
        except BookmakerError as problem:
            parsed.problems.append(problem)
    return parsed


@dataclass
class PalimpsestSummary:
    book: Book
    tournaments: int
    events: int
    lines: int
    problems: Counter[str]


def store_palimpsest(session: Session, batch: ScrapeBatch, parsed: ParsedCapture, run_id: int) -> PalimpsestSummary:
    ids = batches.bookmaker_ids(session)
    stored = writers.store_events(session, parsed.book, (p.event for p in parsed.events), ids[parsed.book])
    _record_event_status(session, batch, parsed)
    return PalimpsestSummary(
        book=parsed.book,
        tournaments=len({p.event.tournament.external_id for p in parsed.events if p.event.tournament}),
        events=len(stored),
        lines=sum(len(p.lines) for p in parsed.events),
        problems=Counter(p.error_type for p in parsed.problems),
    )


def _event_key(event: EventRecord) -> str:
    return event.sportradar_id or f"{event.book.value}:{event.external_id}"


def _record_event_status(session: Session, batch: ScrapeBatch, parsed: ParsedCapture) -> None:
    """Add this book's part to each event's row of the batch: asked for, delivered or failed, and how fast.

    Books write their parts in any order; the row's status follows from all parts so far.
    """
    book = parsed.book.value
    delivered = {p.event.external_id: p.event for p in parsed.events}
    listed = {e.external_id: e for e in parsed.listed}
    rows = {}
    for external_id, event in {**listed, **delivered}.items():
        ok = external_id in delivered
        timing = parsed.timings_ms.get(external_id)
        rows[_event_key(event)] = {
            "batch_id": batch.id,
            "event_key": _event_key(event),
            "sportradar_id": event.sportradar_id,
            "status": EventScrapeOutcome.COMPLETED if ok else EventScrapeOutcome.FAILED,
            "platforms_requested": [book],
            "platforms_scraped": [book] if ok else [],
            "platforms_failed": [] if ok else [book],
            "timing_ms": round(timing) if timing is not None else None,
            "platform_timings": {book: round(timing)} if timing is not None else {},
        }
    if not rows:
        return
    statement = insert(EventScrapeStatus).values([rows[k] for k in sorted(rows)])
    table = EventScrapeStatus.__table__.c
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["batch_id", "event_key"],
        set_={
            "platforms_requested": _jsonb_union(table.platforms_requested, excluded.platforms_requested),
            "platforms_scraped": _jsonb_union(table.platforms_scraped, excluded.platforms_scraped),
            "platforms_failed": _jsonb_union(table.platforms_failed, excluded.platforms_failed),
            "platform_timings": func.coalesce(table.platform_timings, text("'{}'::jsonb")).op("||")(
                excluded.platform_timings
            ),
            "timing_ms": func.greatest(table.timing_ms, excluded.timing_ms),
        },
    )
    session.execute(statement)
    # A failure of the book now can't stay listed as one of its successes from an earlier attempt, and back.
    scraped, failed = EventScrapeStatus.platforms_scraped, EventScrapeStatus.platforms_failed
    session.execute(
        update(EventScrapeStatus)
        .where(EventScrapeStatus.batch_id == batch.id)
        .values(
            status=case(
                (func.jsonb_array_length(failed) == 0, EventScrapeOutcome.COMPLETED.value),
                (func.jsonb_array_length(scraped) == 0, EventScrapeOutcome.FAILED.value),
                else_=EventScrapeOutcome.PARTIAL.value,
            )
        )
    )


def _jsonb_union(current: Any, incoming: Any) -> Any:
    """The union of current and incoming for JSON arrays of strings, keeping current's order."""
    return case((current.op("@>")(incoming), current), else_=current.op("||")(incoming))


@dataclass
class MatchSummary:
    linked: dict[str, int]
    competitor_only: dict[str, int]
    events: dict[str, int]

    def match_rate(self, book: Book) -> float:
        total = self.events.get(book.value, 0)
        return self.linked.get(book.value, 0) / total if total else 0.0


def match_events(session: Session, batch: ScrapeBatch) -> MatchSummary:
    """Link each competitor event of the batch to the BetPawa event with the same SportRadar id."""
    keys = select(EventScrapeStatus.sportradar_id).where(
        EventScrapeStatus.batch_id == batch.id, EventScrapeStatus.sportradar_id.is_not(None)
    )
    session.execute(
        update(CompetitorEvent)
        .where(CompetitorEvent.sportradar_id.in_(keys), CompetitorEvent.sportradar_id == Event.sportradar_id)
        .values(betpawa_event_id=Event.id)
    )
    linked, alone, total = {}, {}, {}
    for book in COMPETITORS:
        rows = session.execute(
            select(CompetitorEvent.betpawa_event_id.is_not(None), func.count())
            .where(CompetitorEvent.source == book, CompetitorEvent.sportradar_id.in_(keys))
            .group_by(CompetitorEvent.betpawa_event_id.is_not(None))
        ).all()
        counts = dict(rows)
        linked[book.value], alone[book.value] = counts.get(True, 0), counts.get(False, 0)
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

    @property
    def coverage(self) -> float:
        total = self.mapped_lines + self.unmapped_lines
        return self.mapped_lines / total if total else 0.0


def store_odds(
    session: Session, batch: ScrapeBatch, parsed: ParsedCapture, run_id: int, mapper: MarketMapper
) -> OddsSummary:
    """Map every line of the book's capture and store it change-only against earlier batches."""
    ids = batches.bookmaker_ids(session)
    book = parsed.book
    model = Event if book is Book.BETPAWA else CompetitorEvent
    filters = [] if book is Book.BETPAWA else [CompetitorEvent.source == book]
    external = [p.event.external_id for p in parsed.events]
    row_ids = dict(
        session.execute(select(model.external_id, model.id).where(model.external_id.in_(external), *filters)).all()
    )
    observed: dict[int, dict[writers.LineKey, writers.LineState]] = {}
    mapped_lines = 0
    unmapped = []
    for event in parsed.events:
        event_id = row_ids.get(event.event.external_id)
        if event_id is None:
            continue
        mappings = mapper.map_many(event.lines)
        unmapped.extend(m for m in mappings if m.unmapped)
        lines = observed.setdefault(event_id, {})
        for mapping in mappings:
            if not mapping.mapped:
                continue
            mapped_lines += 1
            for line in mapping.mapped:
                entry = mapper.catalogue.entries.get(line.entry_id)
                name = mapping.record.market_name if book is Book.BETPAWA else None
                name = name or (entry.name if entry else line.betpawa_market_id)
                groups = mapping.record.groups if book is Book.BETPAWA else (entry.tabs if entry else ())
                lines[(line.betpawa_market_id, line.line)] = writers.line_state(line, name, tuple(groups))
    written = writers.store_snapshots(session, book, batch, run_id, ids[book], observed, parsed.captured_at)
    record_unmapped(session, unmapped, parsed.captured_at)
    return OddsSummary(
        book=book,
        events=len(observed),
        snapshots=written.snapshots,
        market_rows=written.market_rows,
        confirmed=written.confirmed,
        mapped_lines=mapped_lines,
        unmapped_lines=len(unmapped),
    )


def store_book_odds(
    database_url: str, landing_root: str, partition_key: str, book: Book, bet9ja_zone: str
) -> OddsSummary:
    """One book's odds step from scratch (engine, parser, catalogue with user mappings): runs in a worker process."""
    settings = dataclasses.replace(Settings.from_env(), bet9ja_startdate_tz=bet9ja_zone)
    parsed = parse_capture(LandingStore(Path(landing_root)), partition_key, book, parsers(book, settings))
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            mapper = MarketMapper(active_catalogue(session))
            scrape_batch = batches.batch_for(session, partition_key)
            run = batches.run_for(session, scrape_batch, book)
            return store_odds(session, scrape_batch, parsed, run.id, mapper)
    finally:
        engine.dispose()
