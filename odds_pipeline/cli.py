"""The `odds-pipeline` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sqlalchemy import inspect
from sqlalchemy.engine import URL

from odds_pipeline.settings import Settings
from odds_pipeline.storage import migrations
from odds_pipeline.storage.database import (
    DatabaseUnavailableError,
    app_database_url,
    make_engine,
    stop_embedded_server,
)
from odds_pipeline.storage.models import Base


def _display(url: URL) -> str:
    return url.render_as_string(hide_password=True).replace("%2F", "/")


def cmd_db_url(settings: Settings, _: argparse.Namespace) -> int:
    print(_display(app_database_url(settings)))
    return 0


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    url = app_database_url(settings)
    migrations.upgrade(url, args.revision)
    print(f"migrated {_display(url)} to {args.revision}")
    return 0


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> int:
    url = app_database_url(settings)
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


def cmd_run(settings: Settings, _: argparse.Namespace) -> int:
    """The main job: today, bring the database up to date and say where it is."""
    url = app_database_url(settings)
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        present = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = set(Base.metadata.tables)
    missing = sorted(expected - present)
    if missing:
        print(f"database is missing tables after migration: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"database: {_display(url)}")
    print(f"tables:   {len(expected)} ({', '.join(sorted(expected))})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odds-pipeline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the main job")
    run.set_defaults(handler=cmd_run)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(Settings.from_env(), args)
    except DatabaseUnavailableError as exc:
        print(f"odds-pipeline: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
