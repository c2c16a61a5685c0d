"""The soak benchmark: a simulated day of consecutive batches, then a full-scale batch on days of history.

A day of full-scale batches takes most of a day here, and a week of them a week, so the two halves
are apart. The soak runs ``windows`` consecutive batches at a smaller scale through the real steps.
The full-scale half runs two real batches on an empty database (the first, and a later one at the
measured change share), then writes ``days`` of history in bulk SQL from the first batch's rows, then
runs a third real batch on top of it. What the history is made of is in ``make_history``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from odds_pipeline.bench import SandboxProcess, _database_figures, batch_bench, timed_batch
from odds_pipeline.domain import floor_to_window
from odds_pipeline.settings import Settings

# The late window must also cover the bench's own run time: its first window ages as it runs.
SLACK_MINUTES = 6 * 60
BUCKETS = 1000  # history market rows are picked in thousandths of the source batch's rows

Progress = Callable[[str], None]

# (snapshot table, market table, the snapshot's owner, columns that also pick the owner's snapshot)
ODDS_TABLES = (
    ("odds_snapshots", "market_odds", "event_id", ("bookmaker_id",)),
    ("competitor_odds_snapshots", "competitor_market_odds", "competitor_event_id", ()),
)


def stderr_progress(line: str) -> None:
    print(f"soak: {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SoakWindows:
    """The latest complete windows, and the settings (and run environment) under which all may be scraped."""

    settings: Settings
    env: dict[str, str]
    keys: list[str]


def soak_windows(settings: Settings, count: int, now: datetime | None = None) -> SoakWindows:
    """A partition range of the bench's own: ``count`` windows ending now, none of them past the late window.

    Set through the environment of the run processes, so the user's recorded first partition in
    var/ is neither read nor written.
    """
    from odds_pipeline.defs.partitions import PARTITION_FORMAT, batch_partitions

    now = now or datetime.now(UTC)
    step = timedelta(minutes=settings.batch_minutes)
    start = (floor_to_window(now, step) - count * step).strftime(PARTITION_FORMAT)
    late = count * settings.batch_minutes + SLACK_MINUTES
    local = settings.model_copy(update={"partitions_start": start, "late_window_minutes": late})
    keys = list(batch_partitions(local).get_partition_keys(current_time=now))
    if len(keys) != count:
        raise RuntimeError(f"expected {count} windows from {start}, got {len(keys)}")
    env = {"ODDS_PIPELINE_PARTITIONS_START": start, "ODDS_PIPELINE_LATE_WINDOW_MINUTES": str(late)}
    return SoakWindows(local, env, keys)


class WorldGrid:
    """Puts world time exactly one window further for each batch.

    The sandbox's world also follows the wall clock, so without this the batches' own wall time (and
    the minutes spent writing history) would add extra epochs of price moves to some batches.
    """

    def __init__(self, sandbox: SandboxProcess, step: timedelta) -> None:
        self.sandbox, self.step = sandbox, step
        self.origin = sandbox.advance(0)

    def at(self, index: int) -> None:
        now = self.sandbox.advance(0)
        self.sandbox.advance((self.origin + index * self.step - now).total_seconds() / 60)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _soak(windows: SoakWindows, *, scale: str, latency_ms: float, seed: int, progress: Progress) -> dict[str, Any]:
    figures: list[dict[str, Any]] = []
    step = timedelta(minutes=windows.settings.batch_minutes)
    with batch_bench(windows.settings, scale=scale, latency_ms=latency_ms, seed=seed, env=windows.env) as bench:
        grid = WorldGrid(bench.sandbox, step)
        before = _database_figures(bench.url)
        database_start = before[1]
        for index, key in enumerate(windows.keys):
            grid.at(index)
            figure, before = timed_batch(bench, windows.settings, key, latency_ms, before)
            figures.append(figure)
            done = index + 1
            if done % 8 == 0 or done == len(windows.keys):
                walls = [f["wall_s"] for f in figures]
                grown = (before[1] - database_start) / 1e6
                progress(
                    f"{scale} batch {done}/{len(windows.keys)} ({key}): {walls[-1]} s, "
                    f"median {statistics.median(walls)} s, database +{grown:.1f} MB"
                )
    return {"figures": figures, "database_bytes": before[1] - database_start}


def _market_rows(url: Any, keys: list[str]) -> dict[str, dict[str, int]]:
    """History market rows each batch wrote, per odds table."""
    from sqlalchemy import text

    from odds_pipeline.storage.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                market: {
                    key: conn.execute(
                        text(
                            f"SELECT count(*) FROM {market} m JOIN {snapshot} s ON s.id = m.snapshot_id "
                            "JOIN scrape_batches b ON b.id = s.batch_id WHERE b.partition_key = :key"
                        ),
                        {"key": key},
                    ).scalar_one()
                    for key in keys
                }
                for snapshot, market, _, _ in ODDS_TABLES
            }
    finally:
        engine.dispose()


def _copy(table: str, overrides: dict[str, str], alias: str = "src") -> tuple[str, str]:
    """Column list and SELECT list that copy ``table``'s rows back in time by ``h.shift``."""
    from sqlalchemy import DateTime

    from odds_pipeline.storage.models import Base

    names, values = [], []
    for column in Base.metadata.tables[table].columns:
        if column.name == "id":
            continue
        names.append(column.name)
        if column.name in overrides:
            values.append(overrides[column.name])
        elif isinstance(column.type, DateTime):
            values.append(f"{alias}.{column.name} - h.shift")
        else:
            values.append(f"{alias}.{column.name}")
    return ", ".join(names), ", ".join(values)


def make_history(
    url: Any, source_key: str, *, batches: int, shares: dict[str, float], progress: Progress, per_chunk: int = 96
) -> dict[str, Any]:
    """Write ``batches`` windows of history before batch ``source_key``, in bulk SQL, oldest first.

    Each history window is a copy of the source batch moved back by whole windows: its
    scrape_batches row (partition key, window, start and end times), its scrape_runs,
    event_scrape_status, unmapped_market_sightings and scrape_errors rows, one snapshot per event
    the source batch observed (per book), and of the source batch's market rows the share
    ``shares[table]`` (measured between two real batches), a different pseudo-random subset per
    window. The events are the source batch's: every event carries the whole history, deeper than a
    real one (a real event is listed for at most four days), and the events, current-state and
    catalogue tables stay one batch's size.
    """
    from sqlalchemy import text

    from odds_pipeline.storage.database import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            run = lambda sql, **params: conn.execute(text(sql), params)  # noqa: E731
            run("SET TIME ZONE 'UTC'")
            run("SET work_mem = '256MB'")
            source = run("SELECT id FROM scrape_batches WHERE partition_key = :key", key=source_key).scalar_one()
            run("CREATE TEMP TABLE soak_hist (i int PRIMARY KEY, shift interval, key text, batch_id int)")
            # Window i of the history is the source batch moved back by i windows.
            run(
                "INSERT INTO soak_hist (i, shift, key) SELECT i, i * (b.window_end - b.window_start), "
                "to_char(b.window_start - i * (b.window_end - b.window_start), 'YYYY-MM-DD-HH24:MI') "
                "FROM scrape_batches b, generate_series(1, :n) i WHERE b.id = :source",
                n=batches,
                source=source,
            )
            for snapshot, market, owner, match in ODDS_TABLES:
                also = "".join(f"s.{column} AS soak_{column}, " for column in match)
                run(
                    f"CREATE TEMP TABLE soak_src_{market} AS SELECT m.*, s.{owner} AS soak_owner, {also}"
                    f"((hashint8(m.id) % {BUCKETS}) + {BUCKETS}) % {BUCKETS} AS soak_bucket "
                    f"FROM {market} m JOIN {snapshot} s ON s.id = m.snapshot_id WHERE s.batch_id = :source",
                    source=source,
                )
                run(f"CREATE INDEX ON soak_src_{market} (soak_bucket)")
                run(f"ANALYZE soak_src_{market}")
            conn.commit()
            for lo in range(batches, 0, -per_chunk):
                hi, lo = lo, max(1, lo - per_chunk + 1)
                _history_chunk(run, source, lo, hi, shares)
                conn.commit()
                progress(f"history: windows {batches - hi + 1}-{batches - lo + 1} of {batches} written "
                         f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        written_s = time.perf_counter() - started
        # Autovacuum would have visited these tables many times over a week: start from its state.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("scrape_batches", "scrape_runs", "event_scrape_status", "unmapped_market_sightings",
                          *(name for tables in ODDS_TABLES for name in tables[:2])):  # fmt: skip
                conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    finally:
        engine.dispose()
    return {
        "windows": batches,
        "written_s": round(written_s, 1),
        "vacuumed_s": round(time.perf_counter() - started - written_s, 1),
    }


def _history_chunk(run: Callable[..., Any], source: int, lo: int, hi: int, shares: dict[str, float]) -> None:
    """History windows ``lo``..``hi`` (windows before the source batch), oldest first."""
    where = "h.i BETWEEN :lo AND :hi"
    window = {"lo": lo, "hi": hi, "source": source}
    names, values = _copy("scrape_batches", {"partition_key": "h.key"})
    run(f"INSERT INTO scrape_batches ({names}) SELECT {values} FROM soak_hist h, scrape_batches src "
        f"WHERE src.id = :source AND {where} ORDER BY h.i DESC", **window)  # fmt: skip
    run(f"UPDATE soak_hist h SET batch_id = b.id FROM scrape_batches b WHERE b.partition_key = h.key AND {where}",
        lo=lo, hi=hi)  # fmt: skip
    for table in ("scrape_runs", "event_scrape_status", "unmapped_market_sightings"):
        names, values = _copy(table, {"batch_id": "h.batch_id"})
        run(f"INSERT INTO {table} ({names}) SELECT {values} FROM soak_hist h JOIN {table} src "
            f"ON src.batch_id = :source WHERE {where} ORDER BY h.i DESC", **window)  # fmt: skip
    # A copied row's run is the history window's run of the same book.
    same_run = (
        "LEFT JOIN scrape_runs r0 ON r0.id = src.scrape_run_id "
        "LEFT JOIN scrape_runs rn ON rn.batch_id = h.batch_id AND rn.bookmaker_id = r0.bookmaker_id"
    )
    names, values = _copy("scrape_errors", {"scrape_run_id": "rn.id"})
    run(f"INSERT INTO scrape_errors ({names}) SELECT {values} FROM soak_hist h JOIN scrape_errors src "
        f"ON src.scrape_run_id IN (SELECT id FROM scrape_runs WHERE batch_id = :source) {same_run} "
        f"WHERE {where} ORDER BY h.i DESC", **window)  # fmt: skip
    for snapshot, market, owner, match in ODDS_TABLES:
        names, values = _copy(snapshot, {"batch_id": "h.batch_id", "scrape_run_id": "rn.id"})
        run(f"INSERT INTO {snapshot} ({names}) SELECT {values} FROM soak_hist h JOIN {snapshot} src "
            f"ON src.batch_id = :source {same_run} WHERE {where} ORDER BY h.i DESC, src.{owner}", **window)  # fmt: skip
        # Window i takes the buckets i*k .. i*k+k-1 (mod BUCKETS): a share k/BUCKETS of the lines,
        # a different subset each window.
        picked = max(1, round(shares[market] * BUCKETS))
        names, values = _copy(market, {"snapshot_id": "ns.id"}, alias="sm")
        same_owner = " ".join(f"AND ns.{column} = sm.soak_{column}" for column in match)
        run(f"INSERT INTO {market} ({names}) SELECT {values} FROM soak_hist h "
            f"CROSS JOIN generate_series(0, {picked - 1}) j "
            f"JOIN soak_src_{market} sm ON sm.soak_bucket = (h.i * {picked} + j) % {BUCKETS} "
            f"JOIN {snapshot} ns ON ns.batch_id = h.batch_id AND ns.{owner} = sm.soak_owner {same_owner} "
            f"WHERE {where} ORDER BY h.i DESC, ns.id", lo=lo, hi=hi)  # fmt: skip


def _full(
    windows: SoakWindows, *, scale: str, days: int, later: int, latency_ms: float, seed: int, progress: Progress
) -> dict[str, Any]:
    """A first batch and ``later`` later ones on an empty database, ``days`` of history, then one more batch."""
    keys = windows.keys[-(later + 2) :]
    step = timedelta(minutes=windows.settings.batch_minutes)
    per_day = timedelta(days=1) // step
    with batch_bench(windows.settings, scale=scale, latency_ms=latency_ms, seed=seed, env=windows.env) as bench:
        grid = WorldGrid(bench.sandbox, step)
        before = _database_figures(bench.url)
        grid.at(0)
        empty, before = timed_batch(bench, windows.settings, keys[0], latency_ms, before)
        progress(f"{scale} batch on the empty database: {empty['wall_s']} s, {empty['rows']} rows")
        database_after_empty = before[1]
        laters = []
        for index, key in enumerate(keys[1:-1], start=1):
            grid.at(index)
            figure, before = timed_batch(bench, windows.settings, key, latency_ms, before)
            laters.append(figure)
            progress(f"{scale} later batch {index} on the empty database: {figure['wall_s']} s, {figure['rows']} rows")
        # One batch's growth of the database is noisy (pages are taken in steps, and the current
        # state's dead rows are reused once autovacuum has been): measured over the later batches.
        database_per_batch = (before[1] - database_after_empty) / later
        rows = _market_rows(bench.url, keys[:-1])
        shares = {
            market: statistics.mean(by_key[key] for key in keys[1:-1]) / by_key[keys[0]]
            for market, by_key in rows.items()
        }
        history = make_history(bench.url, keys[0], batches=days * per_day, shares=shares, progress=progress)
        figures = _database_figures(bench.url)
        history.update(rows=figures[0] - before[0], bytes=figures[1] - before[1])
        progress(f"history of {days} days: {history['rows']} rows, {history['bytes'] / 1e9:.2f} GB")
        grid.at(len(keys) - 1)
        after, after_figures = timed_batch(bench, windows.settings, keys[-1], latency_ms, figures)
        progress(f"{scale} batch after {days} days: {after['wall_s']} s, {after['rows']} rows")
        # Should the soak after this be cut short, what this half measured is on record.
        brief = {k: [f[k] for f in (empty, *laters, after)] for k in ("wall_s", "rows", "bytes", "stored_bytes")}
        progress(f"{scale} figures (empty, later..., after {days} days): {json.dumps(brief)}")
    return {
        "empty": empty,
        "laters": laters,
        "after": after,
        "database_per_batch": database_per_batch,
        "shares": {market: round(share, 4) for market, share in shares.items()},
        "history": history,
        "database_bytes": after_figures[1],
    }


def _summary(figures: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(f[key] for f in figures), 2)


def bench_soak(
    settings: Settings,
    *,
    windows: int = 96,
    scale: str = "demo",
    full_scale: str = "full",
    days: int = 7,
    later: int = 4,
    latency_ms: float = 300.0,
    seed: int = 7,
    progress: Progress = stderr_progress,
) -> dict[str, Any]:
    """``windows`` consecutive batches at ``scale``; at ``full_scale``, a first batch and ``later`` later ones
    on an empty database, then one after ``days`` of history.

    The full-scale half runs first: it is the one that needs the most disk and memory, so a machine
    that cannot take it says so before the half hour of the soak.
    """
    span = soak_windows(settings, max(windows, later + 2))
    started = time.perf_counter()
    full = _full(span, scale=full_scale, days=days, later=later, latency_ms=latency_ms, seed=seed, progress=progress)
    soak_span = SoakWindows(span.settings, span.env, span.keys[-windows:])
    soak = _soak(soak_span, scale=scale, latency_ms=latency_ms, seed=seed, progress=progress)
    per_day = timedelta(days=1) // timedelta(minutes=settings.batch_minutes)
    figures = soak["figures"]
    walls = [f["wall_s"] for f in figures]
    later_figures = figures[1:] or figures
    empty, laters, after = full["empty"], full["laters"], full["after"]
    later_s = _summary(laters, "wall_s")

    def stored_per_day(batches: list[dict[str, Any]], kind: str) -> int:
        return round(statistics.mean(f["stored_bytes"][kind] for f in batches) * per_day)

    return {
        "batches": len(walls),
        "scale": scale,
        "wall_s": {
            "first": walls[0],
            "median": round(statistics.median(walls), 2),
            "p95": _percentile(walls, 0.95),
            "last": walls[-1],
            "second": walls[1] if len(walls) > 1 else None,
            "min": min(walls),
            "max": max(walls),
        },
        "full_empty_s": empty["wall_s"],
        "full_after_days_s": after["wall_s"],
        # The first batch writes every line, a later one only the changes: the like-for-like of the
        # batch after days of history is a later batch on the empty database (their median).
        "full_later_empty_s": later_s,
        "full_later_empty_all_s": [f["wall_s"] for f in laters],
        "days": days,
        # At full scale: the database over the later batches on the empty database, the landing
        # store and Dagster's storage (the bench's SQLite test instance) per later batch.
        "growth_per_day_bytes": {
            "database": round(full["database_per_batch"] * per_day),
            "captures": stored_per_day(laters, "captures"),
            "dagster": stored_per_day(laters, "dagster"),
        },
        "growth_per_day_bytes_after_days": {
            "database": after["bytes"] * per_day,
            "captures": stored_per_day([after], "captures"),
            "dagster": stored_per_day([after], "dagster"),
        },
        # Measured over the soak's later batches, at the soak's scale.
        "soak_growth_per_day_bytes": {
            "database": round((figures[-1]["database_bytes"] - figures[0]["database_bytes"]) / max(1, len(figures) - 1))
            * per_day,
            "captures": stored_per_day(later_figures, "captures"),
            "dagster": stored_per_day(later_figures, "dagster"),
        },
        "ratios": {
            "last_over_first": round(walls[-1] / walls[0], 3),
            "last_over_second": round(walls[-1] / walls[1], 3) if len(walls) > 1 else None,
            "median_of_last_8_over_first_8": round(statistics.median(walls[-8:]) / statistics.median(walls[:8]), 3),
            "after_days_over_empty": round(after["wall_s"] / empty["wall_s"], 3),
            "after_days_over_later_empty": round(after["wall_s"] / later_s, 3),
        },
        "rows_per_batch": {
            "soak_first": figures[0]["rows"],
            "soak_median_later": statistics.median(f["rows"] for f in later_figures),
            "full_empty": empty["rows"],
            "full_later_empty": [f["rows"] for f in laters],
            "full_after_days": after["rows"],
        },
        "full_bytes": {
            "empty": empty["bytes"],
            "later_empty": [f["bytes"] for f in laters],
            "after_days": after["bytes"],
        },
        "full_ratio_to_network_bound": {
            "empty": empty["ratio"],
            "later_empty": _summary(laters, "ratio"),
            "after_days": after["ratio"],
        },
        "full_steps_s": {"later_empty": laters[-1]["steps_s"], "after_days": after["steps_s"]},
        "change_share": full["shares"],
        "history": {
            **full["history"],
            "made": f"bulk SQL, not {days * per_day} real batches: {days} days of windows copied from the first "
            "full batch, each with its scrape_batches, scrape_runs, event_scrape_status and sightings rows, one "
            "snapshot per observed event and the measured change share of its market rows (a different subset "
            "per window), on the same events",
        },
        "database_bytes_after_days": full["database_bytes"],
        "full_scale": full_scale,
        "latency_ms": latency_ms,
        "elapsed_s": round(time.perf_counter() - started),
    }
