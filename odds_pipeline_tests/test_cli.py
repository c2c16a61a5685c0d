"""The console script, run the way a user runs it: as a separate process."""

import os
import subprocess
import sys
from pathlib import Path

from odds_pipeline.storage.database import stop_embedded_server


def _odds_pipeline(*args: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DAGSTER_DATABASE_URL")}
    env["ODDS_PIPELINE_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "-m", "odds_pipeline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_url_starts_the_embedded_server_and_prints_its_url(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    try:
        result = _odds_pipeline("db", "url", var_dir=var_dir)
        assert result.returncode == 0, result.stderr
        url = result.stdout.strip()
        assert url == f"postgresql+psycopg2://postgres@/odds_pipeline?host={var_dir / 'pgdata'}"
        assert (var_dir / "pgdata" / "PG_VERSION").exists()

        # A second call finds the running server instead of starting another.
        again = _odds_pipeline("db", "url", var_dir=var_dir)
        assert again.stdout.strip() == url
    finally:
        stop_embedded_server(var_dir / "pgdata")


def test_an_unreachable_external_database_is_a_clear_error(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL="postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")
    result = subprocess.run(
        [sys.executable, "-m", "odds_pipeline.cli", "db", "url"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot reach PostgreSQL" in result.stderr
