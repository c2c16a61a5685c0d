from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from odds_pipeline.storage import migrations
from odds_pipeline.storage.database import make_engine
from odds_pipeline.storage.models import Base

SEED_TABLES = {
    "sports",
    "tournaments",
    "events",
    "bookmakers",
    "event_bookmakers",
    "odds_snapshots",
    "market_odds",
    "scrape_runs",
    "scrape_errors",
    "scrape_batches",
    "competitor_tournaments",
    "competitor_events",
    "competitor_odds_snapshots",
    "competitor_market_odds",
    "event_scrape_status",
    "user_market_mappings",
    "mapping_audit_log",
    "unmapped_market_log",
}
# Tables this project added to the seed design, each for a reason given in its model.
OWN_TABLES = {
    "unmapped_market_sightings",
    "market_odds_current",
    "competitor_market_odds_current",
    # Where BetPawa stands: replaced per batch, plus small per-batch figures and first listings.
    "price_comparison",
    "margin_scorecard",
    "coverage_gaps",
    "price_movers",
    "availability_alerts",
    "comparison_figures",
    "event_first_listed",
    # What the comparison is as of, so a batch rewrites only the lines that changed.
    "comparison_lines",
    "comparison_observations",
    "comparison_state",
}


def test_models_cover_every_seed_table() -> None:
    assert set(Base.metadata.tables) == SEED_TABLES | OWN_TABLES


def test_upgrade_then_downgrade_round_trip(empty_database_url: URL) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrations.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == SEED_TABLES | OWN_TABLES | {"alembic_version"}
        with engine.connect() as conn:
            books = conn.execute(text("SELECT slug FROM bookmakers ORDER BY slug")).scalars().all()
            sports = conn.execute(text("SELECT id, slug FROM sports")).all()
        assert books == ["bet9ja", "betpawa", "sportybet"]
        assert sports == [(1, "football")]

        migrations.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}

        # And back up again: the downgrade left nothing behind that blocks a second upgrade.
        migrations.upgrade(engine)
        assert set(inspect(engine).get_table_names()) >= SEED_TABLES
    finally:
        engine.dispose()


def test_no_drift_between_models_and_migrations(engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": True, "target_metadata": Base.metadata},
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree; run alembic revision --autogenerate: {diff}"


def test_snapshot_timestamps_use_brin_and_partial_indexes_exist(engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")).all()
    indexes = dict(rows)
    assert "USING brin (captured_at)" in indexes["ix_odds_snapshots_captured_at_brin"]
    assert "USING brin (captured_at)" in indexes["ix_competitor_odds_snapshots_captured_at_brin"]
    assert "WHERE (sportradar_id IS NOT NULL)" in indexes["ix_competitor_tournaments_sportradar_id"]
    assert "WHERE (is_active = true)" in indexes["ix_user_market_mappings_is_active"]
    assert "NULLS NOT DISTINCT" in indexes["uq_market_odds_snapshot_id_betpawa_market_id_line"]


def test_every_timestamp_column_is_timestamptz(engine) -> None:
    with engine.connect() as conn:
        naive = (
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'"
                )
            )
            .scalars()
            .all()
        )
    assert naive == []
