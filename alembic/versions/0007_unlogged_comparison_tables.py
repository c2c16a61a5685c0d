"""The comparison's latest-batch tables are UNLOGGED.

They hold only the latest compared batch, recomputed from the stored history at will: PostgreSQL
need not write them to the WAL, nor flush a first batch's 0.1 GB of them to disk at its commit.
A crash empties them, `comparison_state` with them, so the next batch recomputes every line. They
are not replicated to standbys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 03:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the tables reference must stay logged; among themselves, none references another.
TABLES = (
    "price_comparison",
    "comparison_lines",
    "comparison_observations",
    "comparison_state",
    "margin_scorecard",
    "coverage_gaps",
    "price_movers",
    "availability_alerts",
)


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET UNLOGGED")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET LOGGED")
