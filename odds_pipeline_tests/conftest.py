"""Session fixtures: a real embedded PostgreSQL, started by the test session itself.

The server's data lives in var/test-pgdata (git-ignored), apart from `make run`'s var/pgdata.
Each session works in a database of its own, migrated with the project's Alembic scripts,
and drops it at the end.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.palimpsest import PalimpsestCapture, capture_palimpsest
from odds_pipeline.bookmakers.registry import open_client
from odds_pipeline.domain import Book
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import WorldConfig
from odds_pipeline.settings import Settings
from odds_pipeline.storage import migrations
from odds_pipeline.storage.database import (
    EmbeddedServer,
    drop_database,
    ensure_database,
    make_engine,
    start_embedded_server,
    stop_embedded_server,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEST_PGDATA = PROJECT_ROOT / "var" / "test-pgdata"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedServer]:
    server = start_embedded_server(TEST_PGDATA)
    yield server
    if os.environ.get("ODDS_PIPELINE_KEEP_TEST_SERVER") != "1":
        stop_embedded_server(TEST_PGDATA)


def _fresh_database(server: EmbeddedServer, prefix: str) -> URL:
    url = server.url(f"{prefix}_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    return url


@pytest.fixture(scope="session")
def database_url(pg_server: EmbeddedServer) -> Iterator[URL]:
    """A database migrated to head, shared by the session."""
    url = _fresh_database(pg_server, "odds_test")
    migrations.upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back at the end, savepoints and all."""
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as db:
            yield db
        outer.rollback()


@pytest.fixture
def empty_database_url(pg_server: EmbeddedServer) -> Iterator[URL]:
    """A database with no tables at all, dropped after the test."""
    url = _fresh_database(pg_server, "odds_empty")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The sandbox on a free loopback port, for the whole session."""
    with RunningSandbox(SandboxOptions(world=WorldConfig(seed=11, follow_wall_clock=False), hang_s=5.0)) as running:
        yield running


@pytest.fixture(scope="session")
def sandbox_palimpsests(sandbox: RunningSandbox) -> dict[Book, PalimpsestCapture]:
    """Every book's demo palimpsest from the session sandbox, fetched over HTTP by the real clients."""

    settings = Settings().with_books_at(sandbox.url)
    captures = {book: capture_palimpsest(partial(open_client, book, settings.books[book])) for book in Book}
    for capture in captures.values():
        assert not capture.errors, capture.errors[:3]
    return captures


class AlertReceiver:
    """A webhook on loopback that keeps every JSON body POSTed to it and answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def alert_receiver() -> Iterator[AlertReceiver]:
    receiver = AlertReceiver()
    yield receiver
    receiver.close()
