"""Environment-driven settings, read in one place.

Every default points at something on this machine: the embedded PostgreSQL under ``var/``
and, for the bookmakers, the sandbox on loopback. Pointing the project at real servers is a
matter of environment variables only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from odds_pipeline.domain import Book

APP_DATABASE = "odds_pipeline"
SANDBOX_PORT = 8765
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"
DEFAULT_CONCURRENCY = {Book.BETPAWA: 50, Book.SPORTYBET: 50, Book.BET9JA: 15}
DEFAULT_PACE_MS = {Book.BETPAWA: 0.0, Book.SPORTYBET: 0.0, Book.BET9JA: 25.0}
DAGSTER_DATABASE = "dagster"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class BookSettings:
    """How to reach one book. The default base URL is the sandbox; README lists the real sites'."""

    base_url: str
    concurrency: int
    pace_ms: float
    timeout_s: float = 30.0
    max_attempts: int = 4
    max_response_mb: float = 16.0

    @classmethod
    def from_env(cls, book: Book) -> BookSettings:
        prefix = f"ODDS_PIPELINE_{book.value.upper()}_"
        env = os.environ
        return cls(
            base_url=env.get(prefix + "URL", SANDBOX_URL),
            concurrency=int(env.get(prefix + "CONCURRENCY", DEFAULT_CONCURRENCY[book])),
            pace_ms=float(env.get(prefix + "PACE_MS", DEFAULT_PACE_MS[book])),
            timeout_s=float(env.get(prefix + "TIMEOUT_S", 30.0)),
            max_attempts=int(env.get(prefix + "MAX_ATTEMPTS", 4)),
            max_response_mb=float(env.get(prefix + "MAX_RESPONSE_MB", 16.0)),
        )


@dataclass(frozen=True)
class Settings:
    """What the project needs to know about its surroundings."""

    var_dir: Path
    # An external server for the app's data; None means "start the embedded one under var/".
    database_url: str | None = None
    # Same, for Dagster's own run/event/schedule storage. Never the app's database.
    dagster_database_url: str | None = None
    app_database: str = APP_DATABASE
    dagster_database: str = DAGSTER_DATABASE
    books: dict[Book, BookSettings] = field(default_factory=lambda: {b: BookSettings.from_env(b) for b in Book})
    # Bet9ja's STARTDATE has no zone; the reference assumed UTC without checking it (platform-apis.md §0.3).
    bet9ja_startdate_tz: str = "UTC"
    bet9ja_cache_version: str = "1.301.2.225"

    @property
    def pgdata_dir(self) -> Path:
        return self.var_dir / "pgdata"

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _env_path("ODDS_PIPELINE_VAR_DIR", Path.cwd() / "var")
        return cls(
            var_dir=var_dir,
            database_url=os.environ.get("DATABASE_URL") or None,
            dagster_database_url=os.environ.get("DAGSTER_DATABASE_URL") or None,
            bet9ja_startdate_tz=os.environ.get("BET9JA_STARTDATE_TZ", "UTC"),
            bet9ja_cache_version=os.environ.get("BET9JA_CACHE_VERSION", "1.301.2.225"),
        )
