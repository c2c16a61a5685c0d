"""The app's tables, as typed SQLAlchemy 2.0 models.

Every timestamp is TIMESTAMPTZ and every value written is an aware UTC datetime. Status-like
fields are StrEnums stored as plain strings, so adding a value needs no ALTER TYPE.

Odds are stored change-only (see README, "Storage"): a snapshot row is one observation of an
event on one book, and its market rows hold only the lines that changed since the previous
observation. An observation that changed nothing updates ``last_confirmed_at`` of the latest
snapshot instead of writing new rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from odds_pipeline.domain import (
    BatchStatus,
    BatchTrigger,
    Book,
    EventScrapeOutcome,
    HandicapType,
    MappingAction,
    RunStatus,
    UnmappedStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def string_enum(enum_cls: type[StrEnum], length: int = 20) -> Enum:
    """A StrEnum stored as VARCHAR holding the member's value."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
    }


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SoftDeletable:
    deleted_at: Mapped[datetime | None]


# --- reference data -------------------------------------------------------------------------------


class Sport(Base):
    __tablename__ = "sports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class Bookmaker(Timestamps, Base):
    __tablename__ = "bookmakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    slug: Mapped[Book] = mapped_column(string_enum(Book), unique=True)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    base_url: Mapped[str | None] = mapped_column(String(500))
    logo_url: Mapped[str | None] = mapped_column(String(500))


class Tournament(Timestamps, Base):
    """A BetPawa tournament (competition). Competitors' tournaments live in competitor_tournaments."""

    __tablename__ = "tournaments"
    __table_args__ = (UniqueConstraint("sport_id", "name", "country", name="uq_tournaments_sport_name_country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sport_id: Mapped[int] = mapped_column(ForeignKey("sports.id"))
    name: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(100), server_default="Unknown")
    external_id: Mapped[str | None] = mapped_column(String(100))
    sportradar_id: Mapped[str | None] = mapped_column(String(100), unique=True)


class Event(Timestamps, Base):
    """A BetPawa event: the canonical match every competitor listing is compared against."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), index=True)
    # BetPawa's own event id: the natural key, since a few events carry no SportRadar id.
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    home_team: Mapped[str] = mapped_column(String(255))
    away_team: Mapped[str] = mapped_column(String(255))
    kickoff: Mapped[datetime] = mapped_column(index=True)
    sportradar_id: Mapped[str | None] = mapped_column(String(100), unique=True)

    tournament: Mapped[Tournament] = relationship()


class EventBookmaker(Base):
    __tablename__ = "event_bookmakers"
    __table_args__ = (
        UniqueConstraint("event_id", "bookmaker_id", name="uq_event_bookmaker"),
        Index("ix_event_bookmakers_bookmaker_external", "bookmaker_id", "external_event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    bookmaker_id: Mapped[int] = mapped_column(ForeignKey("bookmakers.id"))
    external_event_id: Mapped[str] = mapped_column(String(100))
    event_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CompetitorTournament(Timestamps, SoftDeletable, Base):
    __tablename__ = "competitor_tournaments"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index(
            "ix_competitor_tournaments_sportradar_id",
            "sportradar_id",
            postgresql_where=text("sportradar_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[Book] = mapped_column(string_enum(Book), index=True)
    sport_id: Mapped[int] = mapped_column(ForeignKey("sports.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    country_raw: Mapped[str | None] = mapped_column(String(100))
    country_iso: Mapped[str | None] = mapped_column(String(3))
    external_id: Mapped[str] = mapped_column(String(100))
    sportradar_id: Mapped[str | None] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column()


class CompetitorEvent(Timestamps, SoftDeletable, Base):
    __tablename__ = "competitor_events"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index(
            "ix_competitor_events_sportradar_id",
            "sportradar_id",
            postgresql_where=text("sportradar_id IS NOT NULL"),
        ),
        Index(
            "ix_competitor_events_betpawa_event_id",
            "betpawa_event_id",
            postgresql_where=text("betpawa_event_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[Book] = mapped_column(string_enum(Book), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("competitor_tournaments.id"), index=True)
    # NULL: a competitor-only event, or one whose BetPawa counterpart has not been seen yet.
    betpawa_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(500))
    home_team: Mapped[str] = mapped_column(String(255))
    away_team: Mapped[str] = mapped_column(String(255))
    kickoff: Mapped[datetime] = mapped_column(index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    sportradar_id: Mapped[str | None] = mapped_column(String(100))
    deleted_at: Mapped[datetime | None] = mapped_column()

    tournament: Mapped[CompetitorTournament] = relationship()


# --- run bookkeeping ------------------------------------------------------------------------------


class ScrapeBatch(Base):
    """One batch window: exactly one Dagster partition (partition_key is unique)."""

    __tablename__ = "scrape_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(64), unique=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    window_end: Mapped[datetime]
    status: Mapped[BatchStatus] = mapped_column(string_enum(BatchStatus), server_default=BatchStatus.PENDING.value)
    trigger: Mapped[BatchTrigger | None] = mapped_column(string_enum(BatchTrigger, 50))
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    completed_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)

    runs: Mapped[list[ScrapeRun]] = relationship(back_populates="batch")


class ScrapeRun(Base):
    """One book's part of a batch."""

    __tablename__ = "scrape_runs"
    __table_args__ = (UniqueConstraint("batch_id", "bookmaker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable so that runs made outside a batch (ad hoc CLI runs) stay valid.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    bookmaker_id: Mapped[int | None] = mapped_column(ForeignKey("bookmakers.id"))
    status: Mapped[RunStatus] = mapped_column(
        string_enum(RunStatus), server_default=RunStatus.PENDING.value, index=True
    )
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    completed_at: Mapped[datetime | None]
    events_scraped: Mapped[int] = mapped_column(server_default=text("0"))
    events_failed: Mapped[int] = mapped_column(server_default=text("0"))
    trigger: Mapped[BatchTrigger | None] = mapped_column(string_enum(BatchTrigger, 50))
    current_phase: Mapped[str | None] = mapped_column(String(30))
    current_platform: Mapped[str | None] = mapped_column(String(20))
    platform_status: Mapped[dict[str, Any] | None]
    platform_timings: Mapped[dict[str, Any] | None]

    batch: Mapped[ScrapeBatch | None] = relationship(back_populates="runs")


class ScrapeError(Base):
    __tablename__ = "scrape_errors"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    scrape_run_id: Mapped[int] = mapped_column(ForeignKey("scrape_runs.id", ondelete="CASCADE"), index=True)
    bookmaker_id: Mapped[int | None] = mapped_column(ForeignKey("bookmakers.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    # The book's own id of the event or list concerned, when there is no events row for it.
    external_ref: Mapped[str | None] = mapped_column(String(200))
    # The name of the typed error, e.g. MalformedResponseError, InvalidOddsError.
    error_type: Mapped[str] = mapped_column(String(50))
    error_message: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any] | None]
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EventScrapeStatus(Base):
    """One row per event per batch: which books were asked for it, which delivered, how long it took.

    Keyed by batch rather than by run, because one batch has a run per book and an event spans them.
    """

    __tablename__ = "event_scrape_status"
    __table_args__ = (UniqueConstraint("batch_id", "event_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    # The SportRadar id, or "<book>:<external id>" for an event that has none.
    event_key: Mapped[str] = mapped_column(String(120))
    sportradar_id: Mapped[str | None] = mapped_column(String(50), index=True)
    status: Mapped[EventScrapeOutcome] = mapped_column(string_enum(EventScrapeOutcome))
    platforms_requested: Mapped[list[Any]]
    platforms_scraped: Mapped[list[Any]]
    platforms_failed: Mapped[list[Any]]
    # Measured wall time of the slowest book's fetch of this event; NULL when not measured.
    timing_ms: Mapped[int | None]
    platform_timings: Mapped[dict[str, Any] | None]
    error_details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- odds -----------------------------------------------------------------------------------------


class MarketLineColumns:
    """Columns shared by BetPawa's and the competitors' market rows."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    betpawa_market_id: Mapped[str] = mapped_column(String(50), index=True)
    betpawa_market_name: Mapped[str] = mapped_column(String(255))
    # O/U line, or the home side's handicap. NULL for markets without a line; the unique key
    # treats NULLs as equal (NULLS NOT DISTINCT) instead of folding NULL into 0.
    line: Mapped[float | None] = mapped_column(Float)
    handicap_type: Mapped[HandicapType | None] = mapped_column(string_enum(HandicapType))
    handicap_home: Mapped[float | None] = mapped_column(Float)
    handicap_away: Mapped[float | None] = mapped_column(Float)
    # [{"name": "1", "odds": 1.85, "is_active": true}, ...]; empty when the line disappeared.
    outcomes: Mapped[list[Any]]
    market_groups: Mapped[list[Any] | None]
    # Set on the row that records the line's disappearance; NULL while it is offered.
    unavailable_at: Mapped[datetime | None]


class OddsSnapshot(Base):
    """One observation of a BetPawa event, stored as the lines that changed since the previous one."""

    __tablename__ = "odds_snapshots"
    __table_args__ = (
        UniqueConstraint("event_id", "bookmaker_id", "batch_id"),
        Index("ix_odds_snapshots_event_id_captured_at", "event_id", text("captured_at DESC")),
        Index(
            "ix_odds_snapshots_captured_at_brin",
            "captured_at",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 32},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No index of its own: (event_id, captured_at DESC) and the unique key lead with event_id.
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    bookmaker_id: Mapped[int] = mapped_column(ForeignKey("bookmakers.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_batches.id", ondelete="SET NULL"))
    scrape_run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_runs.id", ondelete="SET NULL"))
    captured_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The last observation that found every line of this event unchanged since captured_at.
    last_confirmed_at: Mapped[datetime | None]


class MarketOdds(MarketLineColumns, Base):
    __tablename__ = "market_odds"
    __table_args__ = (UniqueConstraint("snapshot_id", "betpawa_market_id", "line", postgresql_nulls_not_distinct=True),)

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("odds_snapshots.id", ondelete="CASCADE"))


class CompetitorOddsSnapshot(Base):
    __tablename__ = "competitor_odds_snapshots"
    __table_args__ = (
        UniqueConstraint("competitor_event_id", "batch_id"),
        Index("ix_competitor_odds_snapshots_event_captured_at", "competitor_event_id", text("captured_at DESC")),
        Index(
            "ix_competitor_odds_snapshots_captured_at_brin",
            "captured_at",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 32},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    competitor_event_id: Mapped[int] = mapped_column(ForeignKey("competitor_events.id", ondelete="CASCADE"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_batches.id", ondelete="SET NULL"))
    scrape_run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_runs.id", ondelete="SET NULL"))
    captured_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_confirmed_at: Mapped[datetime | None]


class CompetitorMarketOdds(MarketLineColumns, Base):
    __tablename__ = "competitor_market_odds"
    __table_args__ = (UniqueConstraint("snapshot_id", "betpawa_market_id", "line", postgresql_nulls_not_distinct=True),)

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("competitor_odds_snapshots.id", ondelete="CASCADE"))


class CurrentLineColumns(MarketLineColumns):
    """A line's latest state by capture time, gone lines included (``unavailable_at`` set, no
    outcomes): what the next batch diffs against and what comparisons read, upserted each batch."""

    # A digest of the offered state (``writers.state_hash``): change detection compares these, not
    # the outcomes. 0 on a gone line; NULL where the row was carried over from the history by the
    # migration, until a batch has compared it once.
    state_hash: Mapped[int | None] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_batches.id", ondelete="SET NULL"))
    captured_at: Mapped[datetime]  # the capture that recorded this state


class MarketOddsCurrent(CurrentLineColumns, Base):
    __tablename__ = "market_odds_current"
    __table_args__ = (UniqueConstraint("event_id", "betpawa_market_id", "line", postgresql_nulls_not_distinct=True),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))


class CompetitorMarketOddsCurrent(CurrentLineColumns, Base):
    __tablename__ = "competitor_market_odds_current"
    __table_args__ = (
        UniqueConstraint("competitor_event_id", "betpawa_market_id", "line", postgresql_nulls_not_distinct=True),
    )

    competitor_event_id: Mapped[int] = mapped_column(ForeignKey("competitor_events.id", ondelete="CASCADE"))


# --- market mapping -------------------------------------------------------------------------------


class UserMarketMapping(Base):
    """A mapping added or changed by a user; overrides the file catalogue entry of the same canonical_id."""

    __tablename__ = "user_market_mappings"
    __table_args__ = (
        Index("ix_user_market_mappings_is_active", "is_active", postgresql_where=text("is_active = TRUE")),
        Index(
            "ix_user_market_mappings_betpawa_id",
            "betpawa_id",
            postgresql_where=text("betpawa_id IS NOT NULL"),
        ),
        Index(
            "ix_user_market_mappings_sportybet_id",
            "sportybet_id",
            postgresql_where=text("sportybet_id IS NOT NULL"),
        ),
        Index(
            "ix_user_market_mappings_bet9ja_key",
            "bet9ja_key",
            postgresql_where=text("bet9ja_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    betpawa_id: Mapped[str | None] = mapped_column(String(50))
    sportybet_id: Mapped[str | None] = mapped_column(String(50))
    bet9ja_key: Mapped[str | None] = mapped_column(String(50))
    outcome_mapping: Mapped[list[Any]]
    priority: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    created_by: Mapped[str | None] = mapped_column(String(100))


class MappingAuditLog(Base):
    __tablename__ = "mapping_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SET NULL: the history outlives the mapping it describes.
    mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_market_mappings.id", ondelete="SET NULL"), index=True
    )
    canonical_id: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[MappingAction] = mapped_column(string_enum(MappingAction), index=True)
    old_value: Mapped[dict[str, Any] | None]
    new_value: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    created_by: Mapped[str | None] = mapped_column(String(100))


class UnmappedMarketLog(Base):
    __tablename__ = "unmapped_market_log"
    __table_args__ = (
        UniqueConstraint("source", "external_market_id", name="uq_unmapped_source_market"),
        Index("ix_unmapped_market_log_occurrence_count", text("occurrence_count DESC")),
        Index("ix_unmapped_market_log_last_seen_at", text("last_seen_at DESC")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[Book] = mapped_column(string_enum(Book), index=True)
    # SportyBet market id (with its specifier keys) or Bet9ja key prefix.
    external_market_id: Mapped[str] = mapped_column(String(100))
    market_name: Mapped[str | None] = mapped_column(String(255))
    # Why the line could not be mapped, e.g. UNKNOWN_MARKET or UNKNOWN_OUTCOME.
    reason: Mapped[str | None] = mapped_column(String(40))
    sample_outcomes: Mapped[list[Any] | None]
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    occurrence_count: Mapped[int] = mapped_column(server_default=text("1"))
    status: Mapped[UnmappedStatus] = mapped_column(
        string_enum(UnmappedStatus), server_default=UnmappedStatus.NEW.value, index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)


class UnmappedMarketSighting(Base):
    """How many lines of an unmapped market one batch saw: the log's count is their sum.

    One row per (batch, market), replaced when the batch is re-run, so a re-run counts nothing twice.
    """

    __tablename__ = "unmapped_market_sightings"

    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"), primary_key=True)
    unmapped_id: Mapped[int] = mapped_column(
        ForeignKey("unmapped_market_log.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    lines: Mapped[int]


# --- where BetPawa stands -------------------------------------------------------------------------
# The comparison tables hold the latest compared batch only and are replaced whole each batch
# (96 a day would otherwise add tens of millions of rows); `comparison_figures` keeps a few
# headline figures per batch and book. Any past batch's comparison is recomputed from the history
# (`comparison.compare_batch`).


# The comparison's tables of the latest compared batch only: recomputed from the history at will,
# so PostgreSQL neither writes them to the WAL nor flushes them at commit (migration 0007). A
# crash empties them, `comparison_state` with them: the next batch then recomputes every line.
LATEST_ONLY: dict[str, Any] = {"prefixes": ["UNLOGGED"]}


class PriceComparison(Base):
    """One BetPawa outcome on a matched event, against each competitor's price of the same bet."""

    __tablename__ = "price_comparison"
    __table_args__ = (
        UniqueConstraint("event_id", "betpawa_market_id", "line", "outcome", postgresql_nulls_not_distinct=True),
        # The preview of where BetPawa is furthest behind reads the first rows in this order.
        Index(
            "ix_price_comparison_furthest_behind",
            "gap",
            "event_id",
            "betpawa_market_id",
            "line",
            "outcome",
            postgresql_where=text("gap IS NOT NULL"),
        ),
        LATEST_ONLY,
    )

    # No id column, no batch column: a row is its key (the unique constraint, which the ORM takes
    # for the primary key), keeping a primary key index up as well made loading a first batch's
    # rows twice as slow (migration 0008), and `comparison_state` names the batch the table is as
    # of. No foreign keys on the big tables either: checking them would cost more than writing.
    __mapper_args__ = {"primary_key": ["event_id", "betpawa_market_id", "line", "outcome"]}

    event_id: Mapped[int] = mapped_column(doc="events.id: BetPawa's event")
    betpawa_market_id: Mapped[str] = mapped_column(String(50), doc="BetPawa's market type id")
    market_name: Mapped[str] = mapped_column(String(255))
    line: Mapped[float | None] = mapped_column(Float, doc="the total or home handicap; NULL for markets without one")
    outcome: Mapped[str] = mapped_column(String(100), doc="BetPawa's outcome label")
    betpawa_odds: Mapped[float] = mapped_column(Float, doc="live: the line offered, the outcome active, odds above 1")
    sportybet_odds: Mapped[float | None] = mapped_column(Float, doc="SportyBet's live price of the outcome, if any")
    bet9ja_odds: Mapped[float | None] = mapped_column(Float, doc="Bet9ja's live price of the outcome, if any")
    best_competitor_odds: Mapped[float | None] = mapped_column(
        Float, doc="the best competitor price; NULL where none prices it (then nobody's win)"
    )
    best_competitor: Mapped[Book | None] = mapped_column(string_enum(Book), doc="the book with the best price")
    gap: Mapped[float | None] = mapped_column(Float, doc="betpawa_odds / best_competitor_odds - 1: below 0 is behind")
    betpawa_margin: Mapped[float | None] = mapped_column(
        Float, doc="BetPawa's margin on the line, only over a complete, exclusive, unsuspended set"
    )
    sportybet_margin: Mapped[float | None] = mapped_column(Float, doc="SportyBet's margin on the line, same rule")
    bet9ja_margin: Mapped[float | None] = mapped_column(Float, doc="Bet9ja's margin on the line, same rule")
    fair_probability: Mapped[float | None] = mapped_column(
        Float, doc="Shin's fair probability, averaged over the competitors with a complete set"
    )


class ComparisonLine(Base):
    """One line on a matched event as of the compared batch, every book's side of it: what the
    line-level views read, one row per line so none of them groups."""

    __tablename__ = "comparison_lines"
    __table_args__ = (
        UniqueConstraint("event_id", "betpawa_market_id", "line", postgresql_nulls_not_distinct=True),
        LATEST_ONLY,
    )
    __mapper_args__ = {"primary_key": ["event_id", "betpawa_market_id", "line"]}  # no id: see PriceComparison

    event_id: Mapped[int] = mapped_column(doc="events.id: BetPawa's event")
    betpawa_market_id: Mapped[str] = mapped_column(String(50), doc="BetPawa's market type id")
    market_name: Mapped[str] = mapped_column(String(255))
    line: Mapped[float | None] = mapped_column(Float, doc="the total or home handicap; NULL for markets without one")
    betpawa_live: Mapped[int | None] = mapped_column(
        doc="BetPawa's live outcomes on the line; NULL: BetPawa has no such line"
    )
    betpawa_gone: Mapped[bool | None] = mapped_column(doc="BetPawa no longer offers the line")
    betpawa_suspended: Mapped[bool | None] = mapped_column(doc="some outcome of BetPawa's line is not active")
    betpawa_margin: Mapped[float | None] = mapped_column(
        Float, doc="BetPawa's margin, over a complete, exclusive, unsuspended set only"
    )
    sportybet_live: Mapped[int | None] = mapped_column(
        doc="SportyBet's live outcomes on the line; NULL: SportyBet has no such line"
    )
    sportybet_gone: Mapped[bool | None] = mapped_column(doc="SportyBet no longer offers the line")
    sportybet_suspended: Mapped[bool | None] = mapped_column(doc="some outcome of SportyBet's line is not active")
    sportybet_margin: Mapped[float | None] = mapped_column(
        Float, doc="SportyBet's margin, over a complete, exclusive, unsuspended set only"
    )
    bet9ja_live: Mapped[int | None] = mapped_column(
        doc="Bet9ja's live outcomes on the line; NULL: Bet9ja has no such line"
    )
    bet9ja_gone: Mapped[bool | None] = mapped_column(doc="Bet9ja no longer offers the line")
    bet9ja_suspended: Mapped[bool | None] = mapped_column(doc="some outcome of Bet9ja's line is not active")
    bet9ja_margin: Mapped[float | None] = mapped_column(
        Float, doc="Bet9ja's margin, over a complete, exclusive, unsuspended set only"
    )


class ComparisonObservation(Base):
    """The observations the comparison tables are as of: per matched event and book, the snapshot."""

    __tablename__ = "comparison_observations"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(index=True, doc="events.id: BetPawa's event")
    book: Mapped[Book] = mapped_column(string_enum(Book))
    owner_id: Mapped[int] = mapped_column(doc="events.id for BetPawa, competitor_events.id for a competitor")
    snapshot_id: Mapped[int] = mapped_column(BigInteger, doc="the book's snapshot of the event in that batch")
    captured_at: Mapped[datetime] = mapped_column(doc="when that snapshot was captured")


class ComparisonState(Base):
    """Which batch the comparison tables are as of, and what they were computed with (one row)."""

    __tablename__ = "comparison_state"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    # The catalogue's market shapes and the comparison's version: when either changes, every line is recomputed.
    fingerprint: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(20), doc="full, or incremental: only the lines that changed")
    recomputed_lines: Mapped[int] = mapped_column(doc="line keys recomputed by the batch")
    compared_at: Mapped[datetime]


class ComparisonFigures(Base):
    """The headline figures of one batch's comparison, per book: small, kept for every batch."""

    __tablename__ = "comparison_figures"
    __table_args__ = (UniqueConstraint("batch_id", "book"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    book: Mapped[Book] = mapped_column(string_enum(Book))
    window_start: Mapped[datetime] = mapped_column(index=True)
    events: Mapped[int]  # matched events the book was observed on in the batch
    outcomes: Mapped[int]  # the book's priced outcomes on those events
    compared: Mapped[int]  # BetPawa's outcomes that some competitor prices too (BetPawa's row only)
    best_price_share: Mapped[float | None] = mapped_column(Float)  # BetPawa's row only
    median_gap: Mapped[float | None] = mapped_column(Float)  # BetPawa's row only
    # Over the lines every book prices with a complete set, so the books are measured on one set.
    median_margin: Mapped[float | None] = mapped_column(Float)
    margin_lines: Mapped[int]


class MarginScorecard(Base):
    """BetPawa's margin against the lowest competitor margin, per tournament and market, paired per line."""

    __tablename__ = "margin_scorecard"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id", ondelete="CASCADE"))
    tournament: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(100))
    betpawa_market_id: Mapped[str] = mapped_column(String(50))
    market_name: Mapped[str] = mapped_column(String(255))
    events: Mapped[int]  # events with a complete set on BetPawa and on at least one competitor
    lines: Mapped[int]
    betpawa_margin: Mapped[float] = mapped_column(Float)  # mean over the paired lines
    competitor_margin: Mapped[float] = mapped_column(Float)  # mean of the lowest competitor margin per line
    mean_difference: Mapped[float] = mapped_column(Float)
    median_difference: Mapped[float] = mapped_column(Float)


class CoverageGap(Base):
    """What a competitor lists that BetPawa does not, or listed earlier: one row per gap."""

    __tablename__ = "coverage_gaps"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No foreign keys: tens of thousands of rows are rewritten each batch, and a check per row and
    # key cost more than the write.
    batch_id: Mapped[int]
    # competitor_only_event | missing_tournament | missing_line | listed_later
    kind: Mapped[str] = mapped_column(String(30), index=True)
    books: Mapped[list[Any]]  # the competitors that list it
    sportradar_id: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[int | None]
    event_name: Mapped[str | None] = mapped_column(String(500))
    kickoff: Mapped[datetime | None]
    tournament: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(100))
    events: Mapped[int | None]  # missing_tournament: its events in the batch
    betpawa_market_id: Mapped[str | None] = mapped_column(String(50))
    market_name: Mapped[str | None] = mapped_column(String(255))
    line: Mapped[float | None] = mapped_column(Float)
    # Per book, the window of the first batch in which it listed the event: the first sight of
    # this tool, which began at its first partition, not the book's own publication time.
    first_listed: Mapped[dict[str, Any] | None]


class EventFirstListed(Base):
    """The first batch in which a book listed an event (by SportRadar id, else the book's own key)."""

    __tablename__ = "event_first_listed"

    event_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    book: Mapped[Book] = mapped_column(string_enum(Book), primary_key=True)
    first_batch_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_batches.id", ondelete="SET NULL"))
    first_window_start: Mapped[datetime]


class PriceMover(Base):
    """A compared outcome whose price moved on some book since the previous compared batch."""

    __tablename__ = "price_movers"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[int]
    previous_batch_id: Mapped[int]
    event_id: Mapped[int]
    betpawa_market_id: Mapped[str] = mapped_column(String(50))
    market_name: Mapped[str] = mapped_column(String(255))
    line: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(100))
    betpawa_before: Mapped[float | None] = mapped_column(Float)
    betpawa_after: Mapped[float | None] = mapped_column(Float)
    sportybet_before: Mapped[float | None] = mapped_column(Float)
    sportybet_after: Mapped[float | None] = mapped_column(Float)
    bet9ja_before: Mapped[float | None] = mapped_column(Float)
    bet9ja_after: Mapped[float | None] = mapped_column(Float)
    # Relative change of the implied probability (1/odds): +0.05 means 5% likelier by the book.
    betpawa_move: Mapped[float | None] = mapped_column(Float)
    competitor_move: Mapped[float | None] = mapped_column(Float)  # the largest competitor move, signed
    moved_by: Mapped[str | None] = mapped_column(String(40))  # the books whose price moved, comma-separated
    left_behind: Mapped[bool]  # a competitor moved by at least the threshold and BetPawa's price stood still


class AvailabilityAlert(Base):
    """A BetPawa line suspended or gone while a competitor prices it, or a matched event BetPawa offers thinly."""

    __tablename__ = "availability_alerts"
    __table_args__ = LATEST_ONLY

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("scrape_batches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30), index=True)  # line_gone | line_suspended | few_markets
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    betpawa_market_id: Mapped[str | None] = mapped_column(String(50))
    market_name: Mapped[str | None] = mapped_column(String(255))
    line: Mapped[float | None] = mapped_column(Float)
    books: Mapped[list[Any]]  # the competitors that price it (few_markets: the one with the most markets)
    betpawa_markets: Mapped[int | None]
    competitor_markets: Mapped[int | None]
