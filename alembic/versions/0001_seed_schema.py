"""Seed schema: every table of the seed documents, change-only odds storage, and the seed rows.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 20:57:15.402346
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bookmakers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "slug",
            sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookmakers")),
        sa.UniqueConstraint("name", name=op.f("uq_bookmakers_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_bookmakers_slug")),
    )
    op.create_table(
        "scrape_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partition_key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "partial",
                "failed",
                name="batchstatus",
                native_enum=False,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column(
            "trigger",
            sa.Enum("schedule", "sensor", "backfill", "manual", name="batchtrigger", native_enum=False, length=50),
            nullable=True,
        ),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrape_batches")),
        sa.UniqueConstraint("partition_key", name=op.f("uq_scrape_batches_partition_key")),
    )
    op.create_index(op.f("ix_scrape_batches_started_at"), "scrape_batches", ["started_at"], unique=False)
    op.create_index(op.f("ix_scrape_batches_window_start"), "scrape_batches", ["window_start"], unique=False)
    op.create_table(
        "sports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sports")),
        sa.UniqueConstraint("name", name=op.f("uq_sports_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_sports_slug")),
    )
    op.create_table(
        "unmapped_market_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("external_market_id", sa.String(length=100), nullable=False),
        sa.Column("market_name", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("sample_outcomes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("occurrence_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "NEW",
                "ACKNOWLEDGED",
                "MAPPED",
                "IGNORED",
                name="unmappedstatus",
                native_enum=False,
                length=20,
            ),
            server_default="NEW",
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmapped_market_log")),
        sa.UniqueConstraint("source", "external_market_id", name="uq_unmapped_source_market"),
    )
    op.create_index(
        "ix_unmapped_market_log_last_seen_at",
        "unmapped_market_log",
        [sa.literal_column("last_seen_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_unmapped_market_log_occurrence_count",
        "unmapped_market_log",
        [sa.literal_column("occurrence_count DESC")],
        unique=False,
    )
    op.create_index(op.f("ix_unmapped_market_log_source"), "unmapped_market_log", ["source"], unique=False)
    op.create_index(op.f("ix_unmapped_market_log_status"), "unmapped_market_log", ["status"], unique=False)
    op.create_table(
        "user_market_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("betpawa_id", sa.String(length=50), nullable=True),
        sa.Column("sportybet_id", sa.String(length=50), nullable=True),
        sa.Column("bet9ja_key", sa.String(length=50), nullable=True),
        sa.Column("outcome_mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_market_mappings")),
        sa.UniqueConstraint("canonical_id", name=op.f("uq_user_market_mappings_canonical_id")),
    )
    op.create_index(
        "ix_user_market_mappings_bet9ja_key",
        "user_market_mappings",
        ["bet9ja_key"],
        unique=False,
        postgresql_where=sa.text("bet9ja_key IS NOT NULL"),
    )
    op.create_index(
        "ix_user_market_mappings_betpawa_id",
        "user_market_mappings",
        ["betpawa_id"],
        unique=False,
        postgresql_where=sa.text("betpawa_id IS NOT NULL"),
    )
    op.create_index(
        "ix_user_market_mappings_is_active",
        "user_market_mappings",
        ["is_active"],
        unique=False,
        postgresql_where=sa.text("is_active = TRUE"),
    )
    op.create_index(
        "ix_user_market_mappings_sportybet_id",
        "user_market_mappings",
        ["sportybet_id"],
        unique=False,
        postgresql_where=sa.text("sportybet_id IS NOT NULL"),
    )
    op.create_table(
        "competitor_tournaments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("sport_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("country_raw", sa.String(length=100), nullable=True),
        sa.Column("country_iso", sa.String(length=3), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("sportradar_id", sa.String(length=100), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["sport_id"], ["sports.id"], name=op.f("fk_competitor_tournaments_sport_id_sports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitor_tournaments")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_competitor_tournaments_source_external_id")),
    )
    op.create_index(op.f("ix_competitor_tournaments_source"), "competitor_tournaments", ["source"], unique=False)
    op.create_index(op.f("ix_competitor_tournaments_sport_id"), "competitor_tournaments", ["sport_id"], unique=False)
    op.create_index(
        "ix_competitor_tournaments_sportradar_id",
        "competitor_tournaments",
        ["sportradar_id"],
        unique=False,
        postgresql_where=sa.text("sportradar_id IS NOT NULL"),
    )
    op.create_table(
        "event_scrape_status",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("sportradar_id", sa.String(length=50), nullable=True),
        sa.Column(
            "status",
            sa.Enum("completed", "partial", "failed", name="eventscrapeoutcome", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("platforms_requested", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("platforms_scraped", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("platforms_failed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("timing_ms", sa.Integer(), nullable=True),
        sa.Column("platform_timings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_event_scrape_status_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_scrape_status")),
        sa.UniqueConstraint("batch_id", "event_key", name=op.f("uq_event_scrape_status_batch_id_event_key")),
    )
    op.create_index(
        op.f("ix_event_scrape_status_sportradar_id"), "event_scrape_status", ["sportradar_id"], unique=False
    )
    op.create_table(
        "mapping_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=True),
        sa.Column("canonical_id", sa.String(length=100), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "CREATE",
                "UPDATE",
                "DELETE",
                "ACTIVATE",
                "DEACTIVATE",
                name="mappingaction",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("old_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["user_market_mappings.id"],
            name=op.f("fk_mapping_audit_log_mapping_id_user_market_mappings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_audit_log")),
    )
    op.create_index(op.f("ix_mapping_audit_log_action"), "mapping_audit_log", ["action"], unique=False)
    op.create_index(op.f("ix_mapping_audit_log_canonical_id"), "mapping_audit_log", ["canonical_id"], unique=False)
    op.create_index(op.f("ix_mapping_audit_log_created_at"), "mapping_audit_log", ["created_at"], unique=False)
    op.create_index(op.f("ix_mapping_audit_log_mapping_id"), "mapping_audit_log", ["mapping_id"], unique=False)
    op.create_table(
        "scrape_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("bookmaker_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "partial",
                "failed",
                "connection_failed",
                name="runstatus",
                native_enum=False,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events_scraped", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("events_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum("schedule", "sensor", "backfill", "manual", name="batchtrigger", native_enum=False, length=50),
            nullable=True,
        ),
        sa.Column("current_phase", sa.String(length=30), nullable=True),
        sa.Column("current_platform", sa.String(length=20), nullable=True),
        sa.Column("platform_status", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("platform_timings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_scrape_runs_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["bookmaker_id"], ["bookmakers.id"], name=op.f("fk_scrape_runs_bookmaker_id_bookmakers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrape_runs")),
        sa.UniqueConstraint("batch_id", "bookmaker_id", name=op.f("uq_scrape_runs_batch_id_bookmaker_id")),
    )
    op.create_index(op.f("ix_scrape_runs_started_at"), "scrape_runs", ["started_at"], unique=False)
    op.create_index(op.f("ix_scrape_runs_status"), "scrape_runs", ["status"], unique=False)
    op.create_table(
        "tournaments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sport_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=100), server_default="Unknown", nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("sportradar_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["sport_id"], ["sports.id"], name=op.f("fk_tournaments_sport_id_sports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tournaments")),
        sa.UniqueConstraint("sport_id", "name", "country", name="uq_tournaments_sport_name_country"),
        sa.UniqueConstraint("sportradar_id", name=op.f("uq_tournaments_sportradar_id")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tournament_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("home_team", sa.String(length=255), nullable=False),
        sa.Column("away_team", sa.String(length=255), nullable=False),
        sa.Column("kickoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sportradar_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tournament_id"], ["tournaments.id"], name=op.f("fk_events_tournament_id_tournaments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("external_id", name=op.f("uq_events_external_id")),
        sa.UniqueConstraint("sportradar_id", name=op.f("uq_events_sportradar_id")),
    )
    op.create_index(op.f("ix_events_kickoff"), "events", ["kickoff"], unique=False)
    op.create_index(op.f("ix_events_tournament_id"), "events", ["tournament_id"], unique=False)
    op.create_table(
        "competitor_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("tournament_id", sa.Integer(), nullable=False),
        sa.Column("betpawa_event_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("home_team", sa.String(length=255), nullable=False),
        sa.Column("away_team", sa.String(length=255), nullable=False),
        sa.Column("kickoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("sportradar_id", sa.String(length=100), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["betpawa_event_id"],
            ["events.id"],
            name=op.f("fk_competitor_events_betpawa_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tournament_id"],
            ["competitor_tournaments.id"],
            name=op.f("fk_competitor_events_tournament_id_competitor_tournaments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitor_events")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_competitor_events_source_external_id")),
    )
    op.create_index(
        "ix_competitor_events_betpawa_event_id",
        "competitor_events",
        ["betpawa_event_id"],
        unique=False,
        postgresql_where=sa.text("betpawa_event_id IS NOT NULL"),
    )
    op.create_index(op.f("ix_competitor_events_kickoff"), "competitor_events", ["kickoff"], unique=False)
    op.create_index(op.f("ix_competitor_events_source"), "competitor_events", ["source"], unique=False)
    op.create_index(
        "ix_competitor_events_sportradar_id",
        "competitor_events",
        ["sportradar_id"],
        unique=False,
        postgresql_where=sa.text("sportradar_id IS NOT NULL"),
    )
    op.create_index(op.f("ix_competitor_events_tournament_id"), "competitor_events", ["tournament_id"], unique=False)
    op.create_table(
        "event_bookmakers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("bookmaker_id", sa.Integer(), nullable=False),
        sa.Column("external_event_id", sa.String(length=100), nullable=False),
        sa.Column("event_url", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["bookmaker_id"], ["bookmakers.id"], name=op.f("fk_event_bookmakers_bookmaker_id_bookmakers")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_bookmakers_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_bookmakers")),
        sa.UniqueConstraint("event_id", "bookmaker_id", name="uq_event_bookmaker"),
    )
    op.create_index(
        "ix_event_bookmakers_bookmaker_external",
        "event_bookmakers",
        ["bookmaker_id", "external_event_id"],
        unique=False,
    )
    op.create_table(
        "odds_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("bookmaker_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("scrape_run_id", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_odds_snapshots_batch_id_scrape_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bookmaker_id"], ["bookmakers.id"], name=op.f("fk_odds_snapshots_bookmaker_id_bookmakers")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_odds_snapshots_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["scrape_run_id"],
            ["scrape_runs.id"],
            name=op.f("fk_odds_snapshots_scrape_run_id_scrape_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_odds_snapshots")),
        sa.UniqueConstraint(
            "event_id",
            "bookmaker_id",
            "batch_id",
            name=op.f("uq_odds_snapshots_event_id_bookmaker_id_batch_id"),
        ),
    )
    op.create_index(op.f("ix_odds_snapshots_bookmaker_id"), "odds_snapshots", ["bookmaker_id"], unique=False)
    op.create_index(
        "ix_odds_snapshots_captured_at_brin",
        "odds_snapshots",
        ["captured_at"],
        unique=False,
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 32},
    )
    op.create_index(
        "ix_odds_snapshots_event_id_captured_at",
        "odds_snapshots",
        ["event_id", sa.literal_column("captured_at DESC")],
        unique=False,
    )
    op.create_table(
        "scrape_errors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("scrape_run_id", sa.Integer(), nullable=False),
        sa.Column("bookmaker_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("error_type", sa.String(length=50), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["bookmaker_id"], ["bookmakers.id"], name=op.f("fk_scrape_errors_bookmaker_id_bookmakers")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_scrape_errors_event_id_events"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["scrape_run_id"],
            ["scrape_runs.id"],
            name=op.f("fk_scrape_errors_scrape_run_id_scrape_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrape_errors")),
    )
    op.create_index(op.f("ix_scrape_errors_bookmaker_id"), "scrape_errors", ["bookmaker_id"], unique=False)
    op.create_index(op.f("ix_scrape_errors_scrape_run_id"), "scrape_errors", ["scrape_run_id"], unique=False)
    op.create_table(
        "competitor_odds_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("competitor_event_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("scrape_run_id", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_competitor_odds_snapshots_batch_id_scrape_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["competitor_event_id"],
            ["competitor_events.id"],
            name=op.f("fk_competitor_odds_snapshots_competitor_event_id_competitor_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scrape_run_id"],
            ["scrape_runs.id"],
            name=op.f("fk_competitor_odds_snapshots_scrape_run_id_scrape_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitor_odds_snapshots")),
        sa.UniqueConstraint(
            "competitor_event_id",
            "batch_id",
            name=op.f("uq_competitor_odds_snapshots_competitor_event_id_batch_id"),
        ),
    )
    op.create_index(
        "ix_competitor_odds_snapshots_captured_at_brin",
        "competitor_odds_snapshots",
        ["captured_at"],
        unique=False,
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 32},
    )
    op.create_index(
        "ix_competitor_odds_snapshots_event_captured_at",
        "competitor_odds_snapshots",
        ["competitor_event_id", sa.literal_column("captured_at DESC")],
        unique=False,
    )
    op.create_table(
        "market_odds",
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("betpawa_market_name", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column(
            "handicap_type",
            sa.Enum("asian", "european", name="handicaptype", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("handicap_home", sa.Float(), nullable=True),
        sa.Column("handicap_away", sa.Float(), nullable=True),
        sa.Column("outcomes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("market_groups", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("unavailable_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["odds_snapshots.id"],
            name=op.f("fk_market_odds_snapshot_id_odds_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_odds")),
        sa.UniqueConstraint(
            "snapshot_id",
            "betpawa_market_id",
            "line",
            name=op.f("uq_market_odds_snapshot_id_betpawa_market_id_line"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_market_odds_betpawa_market_id"), "market_odds", ["betpawa_market_id"], unique=False)
    op.create_table(
        "competitor_market_odds",
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("betpawa_market_name", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column(
            "handicap_type",
            sa.Enum("asian", "european", name="handicaptype", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("handicap_home", sa.Float(), nullable=True),
        sa.Column("handicap_away", sa.Float(), nullable=True),
        sa.Column("outcomes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("market_groups", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("unavailable_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["competitor_odds_snapshots.id"],
            name=op.f("fk_competitor_market_odds_snapshot_id_competitor_odds_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competitor_market_odds")),
        sa.UniqueConstraint(
            "snapshot_id",
            "betpawa_market_id",
            "line",
            name=op.f("uq_competitor_market_odds_snapshot_id_betpawa_market_id_line"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_competitor_market_odds_betpawa_market_id"),
        "competitor_market_odds",
        ["betpawa_market_id"],
        unique=False,
    )

    # The first scrape of the reference failed on an empty sports table; seed it and the books here.
    op.bulk_insert(
        sa.table("sports", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("slug", sa.String)),
        [{"id": 1, "name": "Football", "slug": "football"}],
    )
    op.execute("SELECT setval(pg_get_serial_sequence('sports', 'id'), 1)")
    op.bulk_insert(
        sa.table(
            "bookmakers",
            sa.column("name", sa.String),
            sa.column("slug", sa.String),
            sa.column("base_url", sa.String),
        ),
        [
            {"name": "BetPawa", "slug": "betpawa", "base_url": "https://www.betpawa.ng"},
            {"name": "SportyBet", "slug": "sportybet", "base_url": "https://www.sportybet.com"},
            {"name": "Bet9ja", "slug": "bet9ja", "base_url": "https://sports.bet9ja.com"},
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_competitor_market_odds_betpawa_market_id"), table_name="competitor_market_odds")
    op.drop_table("competitor_market_odds")
    op.drop_index(op.f("ix_market_odds_betpawa_market_id"), table_name="market_odds")
    op.drop_table("market_odds")
    op.drop_index("ix_competitor_odds_snapshots_event_captured_at", table_name="competitor_odds_snapshots")
    op.drop_index(
        "ix_competitor_odds_snapshots_captured_at_brin",
        table_name="competitor_odds_snapshots",
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 32},
    )
    op.drop_table("competitor_odds_snapshots")
    op.drop_index(op.f("ix_scrape_errors_scrape_run_id"), table_name="scrape_errors")
    op.drop_index(op.f("ix_scrape_errors_bookmaker_id"), table_name="scrape_errors")
    op.drop_table("scrape_errors")
    op.drop_index("ix_odds_snapshots_event_id_captured_at", table_name="odds_snapshots")
    op.drop_index(
        "ix_odds_snapshots_captured_at_brin",
        table_name="odds_snapshots",
        postgresql_using="brin",
        postgresql_with={"pages_per_range": 32},
    )
    op.drop_index(op.f("ix_odds_snapshots_bookmaker_id"), table_name="odds_snapshots")
    op.drop_table("odds_snapshots")
    op.drop_index("ix_event_bookmakers_bookmaker_external", table_name="event_bookmakers")
    op.drop_table("event_bookmakers")
    op.drop_index(op.f("ix_competitor_events_tournament_id"), table_name="competitor_events")
    op.drop_index(
        "ix_competitor_events_sportradar_id",
        table_name="competitor_events",
        postgresql_where=sa.text("sportradar_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_competitor_events_source"), table_name="competitor_events")
    op.drop_index(op.f("ix_competitor_events_kickoff"), table_name="competitor_events")
    op.drop_index(
        "ix_competitor_events_betpawa_event_id",
        table_name="competitor_events",
        postgresql_where=sa.text("betpawa_event_id IS NOT NULL"),
    )
    op.drop_table("competitor_events")
    op.drop_index(op.f("ix_events_tournament_id"), table_name="events")
    op.drop_index(op.f("ix_events_kickoff"), table_name="events")
    op.drop_table("events")
    op.drop_table("tournaments")
    op.drop_index(op.f("ix_scrape_runs_status"), table_name="scrape_runs")
    op.drop_index(op.f("ix_scrape_runs_started_at"), table_name="scrape_runs")
    op.drop_table("scrape_runs")
    op.drop_index(op.f("ix_mapping_audit_log_mapping_id"), table_name="mapping_audit_log")
    op.drop_index(op.f("ix_mapping_audit_log_created_at"), table_name="mapping_audit_log")
    op.drop_index(op.f("ix_mapping_audit_log_canonical_id"), table_name="mapping_audit_log")
    op.drop_index(op.f("ix_mapping_audit_log_action"), table_name="mapping_audit_log")
    op.drop_table("mapping_audit_log")
    op.drop_index(op.f("ix_event_scrape_status_sportradar_id"), table_name="event_scrape_status")
    op.drop_table("event_scrape_status")
    op.drop_index(
        "ix_competitor_tournaments_sportradar_id",
        table_name="competitor_tournaments",
        postgresql_where=sa.text("sportradar_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_competitor_tournaments_sport_id"), table_name="competitor_tournaments")
    op.drop_index(op.f("ix_competitor_tournaments_source"), table_name="competitor_tournaments")
    op.drop_table("competitor_tournaments")
    op.drop_index(
        "ix_user_market_mappings_sportybet_id",
        table_name="user_market_mappings",
        postgresql_where=sa.text("sportybet_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_user_market_mappings_is_active",
        table_name="user_market_mappings",
        postgresql_where=sa.text("is_active = TRUE"),
    )
    op.drop_index(
        "ix_user_market_mappings_betpawa_id",
        table_name="user_market_mappings",
        postgresql_where=sa.text("betpawa_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_user_market_mappings_bet9ja_key",
        table_name="user_market_mappings",
        postgresql_where=sa.text("bet9ja_key IS NOT NULL"),
    )
    op.drop_table("user_market_mappings")
    op.drop_index(op.f("ix_unmapped_market_log_status"), table_name="unmapped_market_log")
    op.drop_index(op.f("ix_unmapped_market_log_source"), table_name="unmapped_market_log")
    op.drop_index("ix_unmapped_market_log_occurrence_count", table_name="unmapped_market_log")
    op.drop_index("ix_unmapped_market_log_last_seen_at", table_name="unmapped_market_log")
    op.drop_table("unmapped_market_log")
    op.drop_table("sports")
    op.drop_index(op.f("ix_scrape_batches_window_start"), table_name="scrape_batches")
    op.drop_index(op.f("ix_scrape_batches_started_at"), table_name="scrape_batches")
    op.drop_table("scrape_batches")
    op.drop_table("bookmakers")
