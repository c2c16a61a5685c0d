"""Benchmarks against a sandbox in its own process, so server and clients do not share one interpreter."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from odds_pipeline.bench_watch import ProcessWatch
from odds_pipeline.bookmakers.palimpsest import capture_palimpsest
from odds_pipeline.bookmakers.records import MarketLineRecord
from odds_pipeline.bookmakers.registry import event_parser, open_client
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class SandboxProcess:
    url: str
    pid: int

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/__sandbox/stats", timeout=10).json()

    def advance(self, minutes: float) -> datetime:
        """Move world time on (or back, for a negative ``minutes``); returns the world's time now."""
        answer = httpx.post(f"{self.url}/__sandbox/advance", params={"minutes": minutes}, timeout=10)
        answer.raise_for_status()
        return datetime.fromisoformat(answer.json()["world_time"])

    def render_ahead(self) -> dict[str, Any]:
        """Have every answer of the current world epoch ready before the clock starts."""
        return httpx.post(f"{self.url}/__sandbox/render-ahead", timeout=600).json()


@contextmanager
def sandbox_process(scale: str, latency_ms: float, seed: int, faults: str | None = None) -> Iterator[SandboxProcess]:
    """Start `odds-pipeline sandbox serve` as a child process and yield it once it answers."""
    port = _free_port()
    command = [sys.executable, "-m", "odds_pipeline.cli", "sandbox", "serve", "--port", str(port)]
    command += ["--scale", scale, "--seed", str(seed), "--latency-ms", str(latency_ms)]
    if faults:
        command += ["--faults", faults]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=dict(os.environ))
    sandbox = SandboxProcess(f"http://127.0.0.1:{port}", process.pid)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sandbox.stats()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield sandbox
    finally:
        process.terminate()
        process.wait(10)


def _fetch_book(book: Book, settings: Settings) -> tuple[int, int, float]:
    """Fetch one book's palimpsest in this (worker) process: (events, errors, wall seconds)."""
    capture = capture_palimpsest(lambda: open_client(book, settings.books[book]))
    return len(capture.events), len(capture.errors), capture.wall_s


def bench_fetch(settings: Settings, *, scale: str, latency_ms: float, seed: int) -> dict[str, Any]:
    with sandbox_process(scale, latency_ms, seed) as sandbox, ProcessWatch(sandbox=sandbox.pid) as watch:
        local = settings.with_books_at(sandbox.url)
        # One process per book, as Dagster runs one asset per book: books do not queue behind each
        # other's JSON decoding in one interpreter.
        with ProcessPoolExecutor(max_workers=len(Book), mp_context=multiprocessing.get_context("spawn")) as pool:
            warm = [pool.submit(int, 0) for _ in Book]  # start the workers before the clock starts
            for future in warm:
                future.result()
            ahead = sandbox.render_ahead()
            before = sandbox.stats()
            watch.take()
            pipeline_before = watch.cpu_s("pipeline")
            started = time.perf_counter()
            futures = {book: pool.submit(_fetch_book, book, local) for book in Book}
            results = {book: future.result() for book, future in futures.items()}
            wall_s = time.perf_counter() - started
            watch.take()
            pipeline_cpu_s = watch.cpu_s("pipeline") - pipeline_before
        stats = sandbox.stats()
    requests, lower_bound = _network_bound(local, stats, latency_ms)
    return {
        "wall_s": round(wall_s, 2),
        "lower_bound_s": round(lower_bound, 2),
        "ratio": round(wall_s / lower_bound, 3),
        "book_wall_s": {book.value: round(results[book][2], 2) for book in Book},
        "requests": requests,
        "events": {book.value: results[book][0] for book in Book},
        "errors": {book.value: results[book][1] for book in Book},
        "cpu_s": {
            "sandbox": round(stats["cpu_s"] - before["cpu_s"], 2),
            "sandbox_rendering": round(stats["render_s"] - before["render_s"], 2),
            "clients": round(pipeline_cpu_s, 2),
        },
        "rendered_ahead": ahead,
        "peak_rss_mb": {"clients": watch.largest("pipeline"), "sandbox": watch.largest("sandbox")["peak_rss_mb"]},
    }


def _parsed_lines(book: Book, settings: Settings) -> list[MarketLineRecord]:
    capture = capture_palimpsest(lambda: open_client(book, settings.books[book]))
    if capture.errors:
        raise RuntimeError(f"{book.value}: the sandbox palimpsest came back with errors: {capture.errors[:3]}")
    parse = event_parser(book, settings.books[book])
    return [line for raw in capture.events for line in parse(raw).lines]


def real_answer_figures(settings: Settings, mapper: MarketMapper) -> dict[str, Any]:
    """Coverage where it is true: on the books' recorded answers, and agreement on the three-book match."""
    from odds_pipeline.markets.agreement import betpawa_lines_priced, compare_event
    from odds_pipeline.markets.explain import raw_from_file
    from odds_pipeline.sandbox.templates import REAL_ANSWERS, REAL_DIR

    parsed = {
        (book, name): event_parser(book, settings.books[book])(raw_from_file(book, REAL_DIR / name))
        for book in Book
        for name in REAL_ANSWERS[book]
    }
    answers = {}
    for (book, name), event in parsed.items():
        if book is Book.BETPAWA:
            continue
        mapped = sum(m.ok for m in mapper.map_many(event.lines))
        answers[name.removesuffix(".json")] = {
            "lines": len(event.lines),
            "mapped": mapped,
            "coverage": round(mapped / len(event.lines), 4),
        }
    betpawa = parsed[(Book.BETPAWA, REAL_ANSWERS[Book.BETPAWA][0])]
    same_match = {book: parsed[(book, REAL_ANSWERS[book][0])] for book in COMPETITORS}
    agreement = {}
    for book, event in same_match.items():
        compared = [a for a in compare_event(betpawa, event, mapper) if a.compared]
        agreement[book.value] = {
            "compared": len(compared),
            "within_0_05": sum(a.agrees for a in compared),
            "max_difference": round(max(a.max_difference for a in compared), 4),
        }
    return {
        "answers": answers,
        "three_book_match": {
            "betpawa_lines": len(betpawa.lines),
            "priced_by_a_competitor": round(betpawa_lines_priced(betpawa, same_match.values(), mapper), 4),
            "agreement": agreement,
        },
    }


def bench_map(settings: Settings, *, scale: str, seed: int) -> dict[str, Any]:
    """Map every line of each competitor's full palimpsest; only the mapping is timed."""
    with sandbox_process(scale, 0.0, seed) as sandbox:
        local = settings.with_books_at(sandbox.url)
        lines = {book: _parsed_lines(book, local) for book in COMPETITORS}
    mapper = MarketMapper(file_catalogue())
    started = time.perf_counter()
    results = {book: mapper.map_many(book_lines) for book, book_lines in lines.items()}
    elapsed = time.perf_counter() - started
    unmapped: Counter[tuple[str, str, str]] = Counter(
        (book.value, m.record.market_id, m.unmapped.reason.value)
        for book, mappings in results.items()
        for m in mappings
        if m.unmapped
    )
    total = sum(len(v) for v in lines.values())
    return {
        "lines": {book.value: len(lines[book]) for book in COMPETITORS},
        "coverage": {
            book.value: round(sum(m.ok for m in results[book]) / len(results[book]), 4) for book in COMPETITORS
        },
        "lines_per_s": round(total / elapsed),
        "top_unmapped": [[*key, count] for key, count in unmapped.most_common(10)],
        "real": real_answer_figures(settings, mapper),
    }


def _digest_event(event: Any, mappings: list[Any]) -> dict[str, Any]:
    """Everything a parse and its mapping produced, in plain JSON: two versions agree when these do."""
    header = event.event
    return {
        "event": [header.external_id, header.sportradar_id, header.kickoff.isoformat(), header.home_team,
                  header.away_team, header.tournament and [header.tournament.external_id, header.tournament.name,
                                                           header.tournament.country]],
        "lines": [
            [line.market_id, line.market_name, line.specifier, line.line, line.handicap, [list(p) for p in line.params],
             list(line.groups), line.handicap_type,
             [[o.name, o.odds, o.suspended, o.outcome_id, o.label] for o in line.outcomes]]
            for line in event.lines
        ],
        "problems": [[p.error_type, p.field, str(p.args[0])] for p in event.problems],
        "mappings": [m.to_json() for m in mappings],
    }  # fmt: skip


def bench_parse(settings: Settings, *, runs: int = 5, passes: int = 5) -> dict[str, Any]:
    """Parse and map the books' recorded answers, in this process; medians over ``runs`` runs of ``passes`` passes.

    Cold: a new parser and mapper per pass, as for the first event of a capture. Warm: one parser
    and mapper kept across passes, as for the rest of a capture (which repeats prices, labels and
    specifiers from event to event; here even the events repeat, so warm flatters a little).
    ``results_sha256`` digests every record and mapping made: a faster version must give the same one.
    """
    import gc
    import hashlib
    import statistics

    import orjson

    from odds_pipeline.markets.explain import raw_from_file
    from odds_pipeline.sandbox.templates import REAL_ANSWERS, REAL_DIR

    answers = [(book, name, raw_from_file(book, REAL_DIR / name)) for book in Book for name in REAL_ANSWERS[book]]
    catalogue = file_catalogue()

    def tools() -> tuple[dict[Book, Any], MarketMapper]:
        return {book: event_parser(book, settings.books[book]) for book in Book}, MarketMapper(catalogue)

    def one_pass(
        timings: dict[str, float], parse: dict[Book, Any], mapper: MarketMapper, digest: bool = False
    ) -> list[dict[str, Any]]:
        # Only the first pass digests: digests kept alive in a timed pass would make each
        # collection during it slower, which is the bench's cost, not the parser's.
        digests = []
        for book, name, raw in answers:
            fresh = dataclasses.replace(raw, _decoded=[])  # nothing decoded yet, as when it arrived
            started = time.perf_counter()
            event = parse[book](fresh)
            mappings = mapper.map_many(event.lines)
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            if digest:
                digests.append(_digest_event(event, mappings))
        return digests

    results = one_pass({}, *tools(), digest=True)  # also warms imports and the catalogue
    digest = hashlib.sha256(orjson.dumps(results)).hexdigest()
    # What the imports left behind is not the parser's garbage: set it aside, so a collection
    # during a pass costs what the pass itself allocated, as in a step process.
    gc.collect()
    gc.freeze()
    cold: list[dict[str, float]] = []
    warm: list[float] = []
    for _ in range(runs):
        gc.collect()
        timings: dict[str, float] = {}
        for _ in range(passes):
            one_pass(timings, *tools())
        cold.append({name: seconds / passes for name, seconds in timings.items()})
        kept = tools()
        one_pass({}, *kept)
        timings = {}
        for _ in range(passes):
            one_pass(timings, *kept)
        warm.append(sum(timings.values()) / passes)
    return {
        "ms_per_pass": round(statistics.median(sum(run.values()) for run in cold) * 1000, 2),
        "ms_per_pass_warm": round(statistics.median(warm) * 1000, 2),
        "ms_by_answer": {
            name.removesuffix(".json"): round(statistics.median(run[name] for run in cold) * 1000, 2)
            for _, name, _ in answers
        },
        "lines": {
            name.removesuffix(".json"): len(r["lines"]) for (_, name, _), r in zip(answers, results, strict=True)
        },
        "runs": runs,
        "passes_per_run": passes,
        "results_sha256": digest,
    }


def _database_figures(url: Any) -> tuple[int, int]:
    """(rows in the app's tables, bytes of the database).

    Counting every row would scan the whole history, and take longer each batch of a soak. The
    statistics' insert and delete counters are exact and cost nothing, but a backend reports them
    when it goes idle or exits, up to a second or so later: they are read until two readings agree
    while no client is busy.
    """
    from sqlalchemy import text

    from odds_pipeline.comparison import LATEST_ONLY_TABLES
    from odds_pipeline.storage.database import make_engine
    from odds_pipeline.storage.models import Base

    counters = text(
        "SELECT coalesce(sum(n_tup_ins - n_tup_del), 0) FROM pg_stat_user_tables "
        "WHERE schemaname = 'public' AND relname = ANY(:tables)"
    )
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()"
    )
    # The comparison's tables hold the latest batch only, emptied or rewritten in part: their rows
    # are counted, not their inserts.
    tables = [t for t in Base.metadata.tables if t not in LATEST_ONLY_TABLES]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            deadline, last = time.monotonic() + 120, None
            while True:
                # Statistics are a snapshot per transaction unless cleared.
                conn.execute(text("SELECT pg_stat_clear_snapshot()"))
                counted = conn.execute(counters, {"tables": tables}).scalar_one()
                if counted == last and not conn.execute(busy).scalar_one():
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the statistics' counters did not settle within 120 s")
                last = counted
                time.sleep(1.5)
            replaced = sum(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in LATEST_ONLY_TABLES)
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()
    return int(counted) + replaced, size


def dir_bytes(root: Path) -> int:
    """Bytes of every file below ``root``."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


_PHASE = re.compile(r"([a-z][a-z ]*) (\d+(?:\.\d+)?) s")


@dataclass
class BatchBench:
    """A fresh database, a sandbox in its own process and a test instance: batches run through Dagster."""

    url: Any
    sandbox: SandboxProcess
    instance: Any
    watch: ProcessWatch
    landing: Path

    def storage_bytes(self) -> dict[str, int]:
        """What the batches have kept so far: landing store and Dagster storage (the database is apart)."""
        return {"captures": dir_bytes(self.landing), "dagster": dir_bytes(Path(self.instance.root_directory))}

    def run(self, key: str) -> Any:
        from odds_pipeline.defs.step_server import start_step_server

        start_step_server()  # as `make run` does: the steps' imports beside the run's own
        import dagster as dg

        from odds_pipeline.defs.runner import scrape_batch_job

        return dg.execute_job(
            dg.reconstructable(scrape_batch_job), instance=self.instance, tags={"dagster/partition": key}
        )

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats()

    def step_seconds(self, run_id: str) -> dict[str, float]:
        """Each step's time from its start to its end, as the run's event log has them."""
        return {step: round(end - start, 2) for step, (start, end) in self.timeline(run_id).items()}

    def phases(self, run_id: str) -> dict[str, dict[str, float]]:
        """Each step's phases, from the line its body logs last ("…: capture 30.1 s, palimpsest 0.4 s")."""
        found: dict[str, dict[str, float]] = {}
        for record in self.instance.all_logs(run_id):
            if record.dagster_event is not None or record.step_key is None:
                continue
            tail = record.user_message.rpartition("; ")[2].partition(": ")
            parts = (tail[2] or tail[0]).split(", ")
            matches = [_PHASE.fullmatch(part) for part in parts]
            if len(parts) > 1 and all(matches):
                found[record.step_key] = {m[1]: float(m[2]) for m in matches if m is not None}
        return found

    def timeline(self, run_id: str, since: float | None = None) -> dict[str, tuple[float, float]]:
        """Each step's start and end (epoch seconds, or seconds after ``since``), longest first."""
        started: dict[str, float] = {}
        spans: dict[str, tuple[float, float]] = {}
        for record in self.instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started[event.step_key] = record.timestamp
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
                spans[event.step_key] = (started[event.step_key], record.timestamp)
        offset = since or 0.0
        ordered = sorted(spans.items(), key=lambda item: item[1][0] - item[1][1])
        return {step: (round(start - offset, 2), round(end - offset, 2)) for step, (start, end) in ordered}


@contextmanager
def batch_bench(
    settings: Settings,
    *,
    scale: str,
    latency_ms: float,
    seed: int,
    faults: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[BatchBench]:
    """``env`` is added to what the run processes read, e.g. a partition range of the bench's own."""
    import tempfile
    import uuid

    import dagster as dg

    from odds_pipeline.storage import migrations
    from odds_pipeline.storage.database import drop_database, ensure_database, start_embedded_server

    server = start_embedded_server(settings.pgdata_dir)
    url = server.url(f"odds_bench_{uuid.uuid4().hex[:8]}")
    ensure_database(url)
    migrations.upgrade(url)
    saved = dict(os.environ)
    try:
        with (
            sandbox_process(scale, latency_ms, seed, faults) as sandbox,
            tempfile.TemporaryDirectory() as landing,
            dg.instance_for_test() as instance,
            ProcessWatch(sandbox=sandbox.pid, database=server.postmaster_pid()) as watch,
        ):
            # The run's processes load the definitions themselves, from this environment.
            os.environ.update(
                {
                    "DATABASE_URL": url.render_as_string(hide_password=False),
                    "ODDS_PIPELINE_LANDING_ROOT": landing,
                    **{f"ODDS_PIPELINE_{book.value.upper()}_URL": sandbox.url for book in Book},
                    **(env or {}),
                }
            )
            yield BatchBench(url, sandbox, instance, watch, Path(landing))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _stop_forkserver()
        drop_database(url)


def _stop_forkserver() -> None:
    """Dagster's step processes fork from a forkserver that keeps the environment it started with:
    stop it, so that a later bench in this process runs its steps against its own database."""
    import multiprocessing.forkserver

    stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)  # private, hence the getattr
    if stop is not None:
        stop()


def _network_bound(settings: Settings, stats: dict[str, Any], latency_ms: float) -> tuple[dict[str, int], float]:
    """Requests per book, and the network's lower bound: each book's requests over its slots."""
    requests = {book.value: stats["totals"].get(book.value, 0) for book in Book}
    bound = max(
        requests[book.value] * (latency_ms + settings.books[book].pace_ms) / 1000 / settings.books[book].concurrency
        for book in Book
    )
    return requests, bound


def _requests_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {"totals": {book: count - before["totals"].get(book, 0) for book, count in after["totals"].items()}}


def timed_batch(
    bench: BatchBench, settings: Settings, key: str, latency_ms: float, before: tuple[int, int]
) -> tuple[dict[str, Any], tuple[int, int]]:
    """One batch through Dagster, timed from the request to the run's end, with what it wrote.

    ``before`` is ``_database_figures`` before the batch; the figures after it come back with the result.
    """
    ahead = bench.sandbox.render_ahead()
    stats_before = bench.stats()
    stored_before = bench.storage_bytes()
    bench.watch.take()
    cpu_before = {group: bench.watch.cpu_s(group) for group in ("pipeline", "database")}
    started, started_epoch = time.perf_counter(), time.time()
    result = bench.run(key)
    if not result.success:
        raise RuntimeError(f"bench batch {key} failed")
    wall_s = time.perf_counter() - started
    bench.watch.take()
    stats = bench.stats()
    after = _database_figures(bench.url)
    stored = bench.storage_bytes()
    requests, bound = _network_bound(settings, _requests_between(stats_before, stats), latency_ms)
    figure = {
        "wall_s": round(wall_s, 2),
        "lower_bound_s": round(bound, 2),
        "ratio": round(wall_s / bound, 3),
        "rows": after[0] - before[0],
        "bytes": after[1] - before[1],
        "database_bytes": after[1],
        "stored_bytes": {kind: stored[kind] - stored_before[kind] for kind in stored},
        "requests": requests,
        "cpu_s": {
            "sandbox": round(stats["cpu_s"] - stats_before["cpu_s"], 2),
            "sandbox_rendering": round(stats["render_s"] - stats_before["render_s"], 2),
            **{g: round(bench.watch.cpu_s(g) - cpu_before[g], 2) for g in ("pipeline", "database")},
        },
        "steps_s": bench.step_seconds(result.run_id),
        # When each step started and ended, in seconds after the run was asked for: what
        # the run spent before its first step and after its last is Dagster's own.
        "timeline_s": bench.timeline(result.run_id, since=started_epoch),
        "phases_s": bench.phases(result.run_id),
        "rendered_ahead": ahead,
    }
    return figure, after


_PER_BATCH = ("requests", "cpu_s", "steps_s", "timeline_s", "phases_s", "rendered_ahead")


def bench_batch(settings: Settings, *, scale: str, latency_ms: float, seed: int) -> dict[str, Any]:
    """Two batches through Dagster: a full one, then one 15 sandbox minutes later under the default drift."""
    from odds_pipeline.defs.partitions import batch_partitions

    keys = batch_partitions(settings).get_partition_keys()[-2:]
    figures: list[dict[str, Any]] = []
    with batch_bench(settings, scale=scale, latency_ms=latency_ms, seed=seed) as bench:
        before = _database_figures(bench.url)
        for key in keys:
            figure, before = timed_batch(bench, settings, key, latency_ms, before)
            figures.append(figure)
            bench.sandbox.advance(15)
        peak = {"pipeline": bench.watch.largest("pipeline"), "sandbox": bench.watch.largest("sandbox")["peak_rss_mb"]}
    first, second = figures
    return {
        "wall_s": first["wall_s"],
        "wall_second_s": second["wall_s"],
        "lower_bound_s": first["lower_bound_s"],
        "ratio_first": first["ratio"],
        "ratio_second": second["ratio"],
        "rows_first": first["rows"],
        "rows_second": second["rows"],
        "bytes_first": first["bytes"],
        "bytes_second": second["bytes"],
        "second_share": {
            "rows": round(second["rows"] / first["rows"], 4),
            "bytes": round(second["bytes"] / first["bytes"], 4),
        },
        "peak_rss_mb": peak,
        # The comparison step (all five comparison assets) against the batch's wall time.
        "comparison_s": {
            "first": first["steps_s"].get("compare_batch"),
            "second": second["steps_s"].get("compare_batch"),
        },
        "comparison_share": {
            "first": round(first["steps_s"].get("compare_batch", 0.0) / first["wall_s"], 4),
            "second": round(second["steps_s"].get("compare_batch", 0.0) / second["wall_s"], 4),
        },
        "first": {k: first[k] for k in ("lower_bound_s", *_PER_BATCH)},
        "second": {k: second[k] for k in ("lower_bound_s", *_PER_BATCH)},
    }


FAULT_MIX = "5xx=0.05,timeout=0.02,malformed=0.01,429=0.02"


def bench_faults(settings: Settings, *, scale: str, latency_ms: float, seed: int) -> dict[str, Any]:
    """One batch under the fault mix, then the same batch again: what was stored, what was lost and why."""
    from sqlalchemy.orm import Session

    from odds_pipeline.defs.partitions import batch_partitions
    from odds_pipeline.storage import batches
    from odds_pipeline.storage.database import make_engine
    from odds_pipeline.storage.reports import batch_outcomes, duplicate_keys

    key = batch_partitions(settings).get_last_partition_key()
    statuses = []
    with batch_bench(settings, scale=scale, latency_ms=latency_ms, seed=seed, faults=FAULT_MIX) as bench:
        engine = make_engine(bench.url)
        try:
            for _ in range(2):
                started = time.perf_counter()
                result = bench.run(key)
                wall_s = time.perf_counter() - started
                with Session(engine) as session:
                    batch = batches.batch_for(session, key)
                    statuses.append(("succeeded" if result.success else "failed", batch.status.value, wall_s))
                    if len(statuses) == 1:
                        first_books = batch_outcomes(session, batch)
            with Session(engine) as session:
                books = batch_outcomes(session, batches.batch_for(session, key))
                duplicates = duplicate_keys(session)
            injected = bench.stats()["faults_injected"]
        finally:
            engine.dispose()
    return {
        "books": {book: outcome.to_json() for book, outcome in books.items()},
        "duplicates": duplicates,
        "first_status": statuses[0][1],
        "rerun_status": statuses[1][1],
        "first_run": statuses[0][0],
        "rerun_run": statuses[1][0],
        # The first run's own figures: the world moves with the clock, so a run listed at another
        # moment may list a few events more or fewer.
        "first_listed": {book: outcome.listed for book, outcome in first_books.items()},
        "first_stored": {book: outcome.stored for book, outcome in first_books.items()},
        "wall_s": {"first": round(statuses[0][2], 1), "rerun": round(statuses[1][2], 1)},
        "faults": FAULT_MIX,
        "faults_injected": injected,
    }
