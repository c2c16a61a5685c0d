"""The soak benchmark's own parts: its partition range, and the history it writes in bulk.

The whole benchmark runs batches through Dagster for half an hour; here its pieces are checked on a
tiny batch stored by the plain-Python steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from odds_pipeline.bench_soak import make_history, soak_windows
from odds_pipeline.sandbox.server import RunningSandbox
from odds_pipeline.settings import Settings
from odds_pipeline.storage.landing import LandingStore
from odds_pipeline_tests.test_batch import WINDOW, batch_engine, run_batch, world  # noqa: F401

KEY = WINDOW.strftime("%Y-%m-%d-%H:%M")


def test_the_soak_windows_end_now_and_none_is_past_the_late_window():
    now = datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
    windows = soak_windows(Settings(partitions_start=None), 96, now)
    assert len(windows.keys) == 96
    assert windows.keys[-1] == "2026-12-01-09:45"  # the latest complete window
    assert windows.keys[0] == "2026-11-30-10:00"
    assert windows.env["ODDS_PIPELINE_PARTITIONS_START"] == windows.keys[0]
    # The oldest window is still inside the late window hours after the soak started.
    assert windows.settings.late_window_minutes >= 96 * 15 + 120
    assert windows.env["ODDS_PIPELINE_LATE_WINDOW_MINUTES"] == str(windows.settings.late_window_minutes)


def _counts(engine: Engine) -> dict[str, int]:
    tables = ("scrape_batches", "scrape_runs", "event_scrape_status", "odds_snapshots", "market_odds")
    tables += ("competitor_odds_snapshots", "competitor_market_odds", "market_odds_current")
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_history_copies_the_batch_back_in_time_at_the_change_share(
    batch_engine: Engine,  # noqa: F811
    world: RunningSandbox,  # noqa: F811
    tmp_path: Path,
):
    run_batch(batch_engine, world.url, LandingStore(tmp_path / "landing"), WINDOW)
    one = _counts(batch_engine)
    shares = {"market_odds": 0.05, "competitor_market_odds": 0.1}
    lines: list[str] = []
    history = make_history(batch_engine.url, KEY, batches=4, shares=shares, progress=lines.append, per_chunk=3)
    assert history["windows"] == 4 and len(lines) == 2
    after = _counts(batch_engine)
    for table in ("scrape_batches", "scrape_runs", "event_scrape_status", "odds_snapshots"):
        assert after[table] == 5 * one[table], table
    assert after["competitor_odds_snapshots"] == 5 * one["competitor_odds_snapshots"]
    for market, share in shares.items():
        added = after[market] - one[market]
        assert 0.5 * share * 4 * one[market] < added < 1.5 * share * 4 * one[market], market
    assert after["market_odds_current"] == one["market_odds_current"]  # the current state is untouched
    with batch_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT b.partition_key, b.window_start, min(s.captured_at), max(s.captured_at) "
                "FROM scrape_batches b JOIN odds_snapshots s ON s.batch_id = b.id "
                "GROUP BY b.id ORDER BY b.window_start"
            )
        ).all()
        source = rows[-1][2:]
    assert [r[0] for r in rows] == [
        (WINDOW - i * timedelta(minutes=15)).strftime("%Y-%m-%d-%H:%M") for i in range(4, -1, -1)
    ]
    # Each window's snapshots were captured one window before the next one's.
    for i, (_, start, *captured) in enumerate(rows):
        shift = (4 - i) * timedelta(minutes=15)
        assert start == WINDOW - shift
        assert captured == [at - shift for at in source]
