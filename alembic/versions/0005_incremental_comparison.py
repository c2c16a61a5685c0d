"""The comparison rewrites only the lines that changed.

price_comparison loses its batch column: a batch now deletes and rewrites the rows of the lines
that changed since the batch the tables hold, and comparison_state names that batch.
comparison_lines keeps each line's summary per book (live outcomes, gone, suspended, margin) for
the line-level views; comparison_observations the snapshots the tables are as of.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:18:54.365615
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comparison_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("betpawa_market_id", sa.String(length=50), nullable=False),
        sa.Column("market_name", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Float(), nullable=True),
        sa.Column("betpawa_live", sa.Integer(), nullable=True),
        sa.Column("betpawa_gone", sa.Boolean(), nullable=True),
        sa.Column("betpawa_suspended", sa.Boolean(), nullable=True),
        sa.Column("betpawa_margin", sa.Float(), nullable=True),
        sa.Column("sportybet_live", sa.Integer(), nullable=True),
        sa.Column("sportybet_gone", sa.Boolean(), nullable=True),
        sa.Column("sportybet_suspended", sa.Boolean(), nullable=True),
        sa.Column("sportybet_margin", sa.Float(), nullable=True),
        sa.Column("bet9ja_live", sa.Integer(), nullable=True),
        sa.Column("bet9ja_gone", sa.Boolean(), nullable=True),
        sa.Column("bet9ja_suspended", sa.Boolean(), nullable=True),
        sa.Column("bet9ja_margin", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_lines")),
        sa.UniqueConstraint(
            "event_id",
            "betpawa_market_id",
            "line",
            name=op.f("uq_comparison_lines_event_id_betpawa_market_id_line"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "comparison_observations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column(
            "book", sa.Enum("betpawa", "sportybet", "bet9ja", name="book", native_enum=False, length=20), nullable=False
        ),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_observations")),
    )
    op.create_index(op.f("ix_comparison_observations_event_id"), "comparison_observations", ["event_id"], unique=False)
    op.create_table(
        "comparison_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("recomputed_lines", sa.Integer(), nullable=False),
        sa.Column("compared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_comparison_state_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparison_state")),
    )
    op.drop_column("price_comparison", "batch_id")
    # coverage_gaps rewrites tens of thousands of rows a batch: no foreign key checks per row.
    op.drop_constraint("fk_coverage_gaps_batch_id_scrape_batches", "coverage_gaps", type_="foreignkey")
    op.drop_constraint("fk_coverage_gaps_event_id_events", "coverage_gaps", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "fk_coverage_gaps_event_id_events", "coverage_gaps", "events", ["event_id"], ["id"], ondelete="CASCADE"
    )
    op.create_foreign_key(
        "fk_coverage_gaps_batch_id_scrape_batches",
        "coverage_gaps",
        "scrape_batches",
        ["batch_id"],
        ["id"],
        ondelete="CASCADE",
    )
    # The rows carry no batch to restore: the next compared batch refills the table.
    op.execute("TRUNCATE price_comparison")
    op.add_column("price_comparison", sa.Column("batch_id", sa.INTEGER(), autoincrement=False, nullable=False))
    op.drop_table("comparison_state")
    op.drop_index(op.f("ix_comparison_observations_event_id"), table_name="comparison_observations")
    op.drop_table("comparison_observations")
    op.drop_table("comparison_lines")
