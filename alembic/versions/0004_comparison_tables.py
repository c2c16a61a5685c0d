"""Where BetPawa stands: the comparison tables.

The big ones (price_comparison, price_movers) and the per-batch views hold the latest compared
batch and are replaced whole by each batch; comparison_figures keeps a few figures per batch and
book. event_first_listed is filled from the batches already stored, so "listed first" starts from
the first batch this install made.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:13:09.984451
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_comparison",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("market_name", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=False),
        sa.Column("betpawa_odds", sa.Float(), nullable=False),
        sa.Column("sportybet_odds", sa.Float(), nullable=True),
        sa.Column("bet9ja_odds", sa.Float(), nullable=True),
        sa.Column("best_competitor_odds", sa.Float(), nullable=True),
        sa.Column(
            "best_competitor",
            sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("betpawa_margin", sa.Float(), nullable=True),
        sa.Column("sportybet_margin", sa.Float(), nullable=True),
        sa.Column("bet9ja_margin", sa.Float(), nullable=True),
        sa.Column("fair_probability", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_comparison")),
        sa.UniqueConstraint(
            "event_id",
            "betpawa_market_id",
            "line",
            "outcome",
            name=op.f("uq_price_comparison_event_id_betpawa_market_id_line_outcome"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "price_movers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("previous_batch_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("market_name", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=False),
        sa.Column("betpawa_before", sa.Float(), nullable=True),
        sa.Column("betpawa_after", sa.Float(), nullable=True),
        sa.Column("sportybet_before", sa.Float(), nullable=True),
        sa.Column("sportybet_after", sa.Float(), nullable=True),
        sa.Column("bet9ja_before", sa.Float(), nullable=True),
        sa.Column("bet9ja_after", sa.Float(), nullable=True),
        sa.Column("betpawa_move", sa.Float(), nullable=True),
        sa.Column("competitor_move", sa.Float(), nullable=True),
        sa.Column("moved_by", sa.String(length=40), nullable=True),
        sa.Column("left_behind", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_movers")),
    )
    op.create_table(
        "comparison_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column(
            "book", sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20), nullable=False
        ),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("best_price_share", sa.Float(), nullable=True),
        sa.Column("median_gap", sa.Float(), nullable=True),
        sa.Column("median_margin", sa.Float(), nullable=True),
        sa.Column("margin_lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_comparison_figures_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_figures")),
        sa.UniqueConstraint("batch_id", "book", name=op.f("uq_comparison_figures_batch_id_book")),
    )
    op.create_index(op.f("ix_comparison_figures_window_start"), "comparison_figures", ["window_start"], unique=False)
    op.create_table(
        "event_first_listed",
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column(
            "book", sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20), nullable=False
        ),
        sa.Column("first_batch_id", sa.Integer(), nullable=True),
        sa.Column("first_window_start", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_event_first_listed_first_batch_id_scrape_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("event_key", "book", name=op.f("pk_event_first_listed")),
    )
    op.create_table(
        "margin_scorecard",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("tournament_id", sa.Integer(), nullable=False),
        sa.Column("tournament", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("market_name", sa.String(length=255), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("betpawa_margin", sa.Float(), nullable=False),
        sa.Column("competitor_margin", sa.Float(), nullable=False),
        sa.Column("mean_difference", sa.Float(), nullable=False),
        sa.Column("median_difference", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_margin_scorecard_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tournament_id"],
            ["tournaments.id"],
            name=op.f("fk_margin_scorecard_tournament_id_tournaments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_margin_scorecard")),
    )
    op.create_table(
        "availability_alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=True),
        sa.Column("market_name", sa.String(length=255), nullable=True),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("books", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("betpawa_markets", sa.Integer(), nullable=True),
        sa.Column("competitor_markets", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_availability_alerts_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_availability_alerts_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_alerts")),
    )
    op.create_index(op.f("ix_availability_alerts_kind"), "availability_alerts", ["kind"], unique=False)
    op.create_table(
        "coverage_gaps",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("books", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sportradar_id", sa.String(length=100), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("event_name", sa.String(length=500), nullable=True),
        sa.Column("kickoff", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tournament", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("events", sa.Integer(), nullable=True),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=True),
        sa.Column("market_name", sa.String(length=255), nullable=True),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("first_listed", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_coverage_gaps_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_coverage_gaps_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_gaps")),
    )
    op.create_index(op.f("ix_coverage_gaps_kind"), "coverage_gaps", ["kind"], unique=False)
    op.execute(
        "INSERT INTO event_first_listed (event_key, book, first_batch_id, first_window_start) "
        "SELECT DISTINCT ON (s.event_key, listed.book) s.event_key, listed.book, b.id, b.window_start "
        "FROM event_scrape_status s JOIN scrape_batches b ON b.id = s.batch_id "
        "CROSS JOIN LATERAL jsonb_array_elements_text(s.platforms_scraped) AS listed(book) "
        "ORDER BY s.event_key, listed.book, b.window_start"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_coverage_gaps_kind"), table_name="coverage_gaps")
    op.drop_table("coverage_gaps")
    op.drop_index(op.f("ix_availability_alerts_kind"), table_name="availability_alerts")
    op.drop_table("availability_alerts")
    op.drop_table("margin_scorecard")
    op.drop_table("event_first_listed")
    op.drop_index(op.f("ix_comparison_figures_window_start"), table_name="comparison_figures")
    op.drop_table("comparison_figures")
    op.drop_table("price_movers")
    op.drop_table("price_comparison")
