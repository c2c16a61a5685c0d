"""Current-state tables: each line's latest state by capture time, beside the change-only history.

Change detection reads these instead of the whole history, so a batch costs the same on the
first day and the fortieth. The tables are filled from the history as it stands; their digests
are left NULL, and the next batch that sees a line compares its full state once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (current table, history table, snapshot table, event column, events table)
TABLES = [
    ("market_odds_current", "market_odds", "odds_snapshots", "event_id", "events"),
    ("competitor_market_odds_current", "competitor_market_odds", "competitor_odds_snapshots", "competitor_event_id",
     "competitor_events"),
]  # fmt: skip
LINE_COLUMNS = (
    "betpawa_market_id, betpawa_market_name, line, handicap_type, handicap_home, handicap_away, outcomes, "
    "market_groups, unavailable_at"
)


def _create(current: str, owner: str, events: str) -> None:
    op.create_table(
        current,
        sa.Column(owner, sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.BigInteger(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
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
            ["batch_id"], ["scrape_batches.id"], name=op.f(f"fk_{current}_batch_id_scrape_batches"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            [owner], [f"{events}.id"], name=op.f(f"fk_{current}_{owner}_{events}"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{current}")),
        sa.UniqueConstraint(
            owner,
            "betpawa_market_id",
            "line",
            name=op.f(f"uq_{current}_{owner}_betpawa_market_id_line"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f(f"ix_{current}_betpawa_market_id"), current, ["betpawa_market_id"], unique=False)


def upgrade() -> None:
    for current, history, snapshots, owner, events in TABLES:
        _create(current, owner, events)
        op.execute(
            f"INSERT INTO {current} ({owner}, {LINE_COLUMNS}, state_hash, batch_id, captured_at) "
            f"SELECT DISTINCT ON (s.{owner}, m.betpawa_market_id, m.line) s.{owner}, "
            + ", ".join(f"m.{c.strip()}" for c in LINE_COLUMNS.split(","))
            + f", NULL, s.batch_id, s.captured_at FROM {history} m JOIN {snapshots} s ON s.id = m.snapshot_id "
            f"ORDER BY s.{owner}, m.betpawa_market_id, m.line, s.captured_at DESC"
        )


def downgrade() -> None:
    for current, *_ in reversed(TABLES):
        op.drop_index(op.f(f"ix_{current}_betpawa_market_id"), table_name=current)
        op.drop_table(current)
