"""The `odds-pipeline` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import URL

from odds_pipeline.domain import Book
from odds_pipeline.settings import SANDBOX_PORT, Settings
from odds_pipeline.storage import migrations
from odds_pipeline.storage.database import (
    DatabaseUnavailableError,
    app_database_url,
    make_engine,
    stop_embedded_server,
)


def _display(url: URL) -> str:
    return url.render_as_string(hide_password=True).replace("%2F", "/")


def cmd_db_url(settings: Settings, _: argparse.Namespace) -> int:
    print(_display(app_database_url(settings.database_url, settings.pgdata_dir)))
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    url = app_database_url(settings.database_url, settings.pgdata_dir)
    migrations.upgrade(url, args.revision)
    print(f"migrated {_display(url)} to {args.revision}")
    return 0


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> int:
    url = app_database_url(settings.database_url, settings.pgdata_dir)
    migrations.downgrade(url, args.revision)
    print(f"downgraded {_display(url)} to {args.revision}")
    return 0


def cmd_db_stop(settings: Settings, _: argparse.Namespace) -> int:
    if settings.database_url:
        print("DATABASE_URL points at an external server; nothing to stop", file=sys.stderr)
        return 1
    stopped = stop_embedded_server(settings.pgdata_dir)
    print("stopped the embedded PostgreSQL" if stopped else "the embedded PostgreSQL was not running")
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """The main job: one batch (the latest complete window) through Dagster, then a summary."""
    from odds_pipeline.defs.runner import run_latest_batch, surroundings

    with surroundings(settings):
        print(f"database: {_display(app_database_url(settings.database_url, settings.pgdata_dir))}", flush=True)
        report = run_latest_batch(settings, args.partition)
    print("\n".join(report.lines()))
    return 0 if report.success else 1


def cmd_ui(settings: Settings, _: argparse.Namespace) -> int:
    from odds_pipeline.defs.runner import run_ui, surroundings

    with surroundings(settings) as env:
        print("dagster dev on http://127.0.0.1:3000 (Ctrl-C stops it)", flush=True)
        return run_ui(env)


def cmd_sandbox_serve(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.sandbox.faults import FaultPlan, FaultSpecError
    from odds_pipeline.sandbox.server import SandboxOptions, serve
    from odds_pipeline.sandbox.world import Scale, WorldConfig

    try:
        FaultPlan.parse(args.faults)
    except FaultSpecError as exc:
        print(f"odds-pipeline: --faults: {exc}", file=sys.stderr)
        return 2
    options = SandboxOptions(
        world=WorldConfig(seed=args.seed, scale=Scale(args.scale), drift_share=args.drift),
        latency_ms=args.latency_ms,
        faults=args.faults,
        bet9ja_timezone=settings.bet9ja.startdate_tz,
    )
    print(f"sandbox: http://127.0.0.1:{args.port} (scale {args.scale}, seed {args.seed})", flush=True)
    serve(options, args.port)
    return 0


def cmd_sandbox_conformance(settings: Settings, args: argparse.Namespace) -> int:
    """How closely the sandbox speaks like the books: one JSON line per book."""
    from functools import partial

    import orjson

    from odds_pipeline.bookmakers.palimpsest import capture_palimpsest
    from odds_pipeline.bookmakers.registry import open_client
    from odds_pipeline.sandbox import conformance
    from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
    from odds_pipeline.sandbox.templates import real_answers
    from odds_pipeline.sandbox.world import WorldConfig

    options = SandboxOptions(world=WorldConfig(seed=args.seed, follow_wall_clock=False))
    with RunningSandbox(options) as sandbox:
        local = settings.with_books_at(sandbox.url)
        for book in Book:
            capture = capture_palimpsest(partial(open_client, book, local.books[book]))
            answers = [orjson.loads(raw.body) for raw in capture.events]
            result = conformance.compare(book, real_answers(book), answers).to_json()
            print(json.dumps({**result, "sandbox_answers": len(answers)}))
    return 0


def cmd_bench_fetch(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench import bench_fetch

    print(json.dumps(bench_fetch(settings, scale=args.scale, latency_ms=args.latency_ms, seed=args.seed)))
    return 0


def cmd_map(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bookmakers.errors import BookmakerError
    from odds_pipeline.bookmakers.registry import event_parser
    from odds_pipeline.markets.catalogue import file_catalogue
    from odds_pipeline.markets.engine import MarketMapper
    from odds_pipeline.markets.explain import explain_event, raw_from_file

    book = Book(args.book)
    try:
        raw = raw_from_file(book, Path(args.file))
        for line in explain_event(raw, event_parser(book, settings.books[book]), MarketMapper(file_catalogue())):
            print(json.dumps(line, ensure_ascii=False))
    except OSError as exc:
        print(f"odds-pipeline: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except BookmakerError as exc:
        print(f"odds-pipeline: {exc.error_type}: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_unmapped(settings: Settings, args: argparse.Namespace) -> int:
    """The most frequent market lines that could not be mapped, with why: the gap a user mapping closes."""
    from sqlalchemy.orm import Session

    from odds_pipeline.markets.overrides import unmapped_report

    engine = make_engine(app_database_url(settings.database_url, settings.pgdata_dir))
    try:
        with Session(engine) as session:
            rows = unmapped_report(session, args.limit)
            print(f"{'book':<10} {'market':<16} {'reason':<22} {'lines':>8}  last seen (UTC)   name")
            for row in rows:
                seen = row.last_seen_at.strftime("%Y-%m-%d %H:%M")
                print(
                    f"{row.source.value:<10} {row.external_market_id:<16} {row.reason or '':<22} "
                    f"{row.occurrence_count:>8}  {seen}  {row.market_name or ''}"
                )
    finally:
        engine.dispose()
    return 0


def cmd_bench_map(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench import bench_map

    print(json.dumps(bench_map(settings, scale=args.scale, seed=args.seed)))
    return 0


def cmd_bench_parse(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench import bench_parse

    print(json.dumps(bench_parse(settings, runs=args.runs)))
    return 0


def cmd_bench_faults(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench import bench_faults

    print(json.dumps(bench_faults(settings, scale=args.scale, latency_ms=args.latency_ms, seed=args.seed)))
    return 0


def cmd_bench_batch(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench import bench_batch

    print(json.dumps(bench_batch(settings, scale=args.scale, latency_ms=args.latency_ms, seed=args.seed)))
    return 0


def cmd_bench_soak(settings: Settings, args: argparse.Namespace) -> int:
    from odds_pipeline.bench_soak import bench_soak

    result = bench_soak(
        settings, windows=args.windows, scale=args.scale, full_scale=args.full_scale, days=args.days,
        later=args.later, latency_ms=args.latency_ms, seed=args.seed,
    )  # fmt: skip
    print(json.dumps(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odds-pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one batch through Dagster and print a summary")
    run.add_argument("--partition", default=None, help="a batch partition key (default: the latest complete window)")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("ui", help="dagster dev on the same instance and sandbox").set_defaults(handler=cmd_ui)

    db = commands.add_parser("db", help="the project's PostgreSQL database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    url = db_commands.add_parser("url", help="print the SQLAlchemy URL (starts the embedded server)")
    url.set_defaults(handler=cmd_db_url)
    up = db_commands.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=cmd_db_upgrade)
    down = db_commands.add_parser("downgrade", help="revert migrations")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(handler=cmd_db_downgrade)
    db_commands.add_parser("stop", help="stop the embedded server").set_defaults(handler=cmd_db_stop)

    sandbox = commands.add_parser("sandbox", help="the stand-in bookmaker APIs on 127.0.0.1")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    serve = sandbox_commands.add_parser("serve", help="serve the nine endpoints and the control endpoints")
    serve.add_argument("--port", type=int, default=SANDBOX_PORT)
    serve.add_argument("--scale", choices=["tiny", "demo", "full"], default="demo")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added to every bookmaker answer")
    serve.add_argument("--faults", default=None, help="e.g. 5xx=0.05,timeout=0.01,bet9ja.403=0.02,sportybet.down=1")
    serve.add_argument("--drift", type=float, default=0.05, help="share of prices that move per 15 world minutes")
    serve.set_defaults(handler=cmd_sandbox_serve)
    conform = sandbox_commands.add_parser(
        "conformance", help="the JSON paths and types of the sandbox's answers against the books' real ones"
    )
    conform.add_argument("--seed", type=int, default=7)
    conform.set_defaults(handler=cmd_sandbox_conformance)

    explain = commands.add_parser("map", help="map every market line of one saved full-event answer, or say why not")
    explain.add_argument("book", choices=[b.value for b in Book])
    explain.add_argument("file", help="the full-event JSON exactly as the book's API returned it")
    explain.set_defaults(handler=cmd_map)
    unmapped = commands.add_parser("unmapped", help="the most frequent unmapped market lines and why")
    unmapped.add_argument("--limit", type=int, default=20)
    unmapped.set_defaults(handler=cmd_unmapped)

    bench = commands.add_parser("bench", help="benchmarks; each prints one JSON line")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True)
    fetch = bench_commands.add_parser("fetch", help="fetch every book's full palimpsest from a fresh sandbox")
    fetch.add_argument("--scale", choices=["demo", "full"], default="full")
    fetch.add_argument("--latency-ms", type=float, default=300.0)
    fetch.add_argument("--seed", type=int, default=7)
    fetch.set_defaults(handler=cmd_bench_fetch)
    bench_map = bench_commands.add_parser("map", help="map every line of a full sandbox palimpsest of each competitor")
    bench_map.add_argument("--scale", choices=["demo", "full"], default="full")
    bench_map.add_argument("--seed", type=int, default=7)
    bench_map.set_defaults(handler=cmd_bench_map)
    bench_parse = bench_commands.add_parser(
        "parse", help="parse and map the books' recorded real answers, in one process; medians of several runs"
    )
    bench_parse.add_argument("--runs", type=int, default=5)
    bench_parse.set_defaults(handler=cmd_bench_parse)
    batch = bench_commands.add_parser(
        "batch", help="two batches end to end through Dagster: a full one, then a quiet one"
    )
    batch.add_argument("--scale", choices=["demo", "full"], default="full")
    batch.add_argument("--latency-ms", type=float, default=300.0)
    batch.add_argument("--seed", type=int, default=7)
    batch.set_defaults(handler=cmd_bench_batch)
    faults = bench_commands.add_parser(
        "faults", help="one batch under 5xx, timeouts, malformed answers and 429s, then the same batch again"
    )
    faults.add_argument("--scale", choices=["tiny", "demo", "full"], default="full")
    faults.add_argument("--latency-ms", type=float, default=300.0)
    faults.add_argument("--seed", type=int, default=7)
    faults.set_defaults(handler=cmd_bench_faults)
    soak = bench_commands.add_parser(
        "soak", help="a simulated day of consecutive batches, then a full-scale batch on days of history"
    )
    soak.add_argument("--windows", type=int, default=96, help="consecutive batches, 15 sandbox minutes apart")
    soak.add_argument("--scale", choices=["tiny", "demo", "full"], default="demo", help="scale of the soak")
    soak.add_argument("--full-scale", choices=["tiny", "demo", "full"], default="full")
    soak.add_argument("--days", type=int, default=7, help="days of history under the last full-scale batch")
    soak.add_argument("--later", type=int, default=4, help="full-scale later batches on the empty database")
    soak.add_argument("--latency-ms", type=float, default=300.0)
    soak.add_argument("--seed", type=int, default=7)
    soak.set_defaults(handler=cmd_bench_soak)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(Settings(), args)
    except DatabaseUnavailableError as exc:
        print(f"odds-pipeline: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
