"""Unmapped markets are counted per batch: a re-run of a batch replaces its own count.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmapped_market_sightings",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("unmapped_id", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["scrape_batches.id"],
            name=op.f("fk_unmapped_market_sightings_batch_id_scrape_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unmapped_id"],
            ["unmapped_market_log.id"],
            name=op.f("fk_unmapped_market_sightings_unmapped_id_unmapped_market_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "unmapped_id", name=op.f("pk_unmapped_market_sightings")),
    )
    op.create_index(
        op.f("ix_unmapped_market_sightings_unmapped_id"), "unmapped_market_sightings", ["unmapped_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_unmapped_market_sightings_unmapped_id"), table_name="unmapped_market_sightings")
    op.drop_table("unmapped_market_sightings")
