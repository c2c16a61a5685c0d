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
    # Raw captures; a local folder by default (git-ignored under var/).
    landing_root: Path | None = None
    # One batch = one Dagster partition of this many minutes, aligned to the hour, in UTC.
    batch_minutes: int = 15
    partitions_start: str = "2026-11-01-00:00"
    # A batch older than this can no longer be scraped (odds are live): it is re-derived from its capture.
    late_window_minutes: int = 60
    # How many recent windows the missed-batch sensor looks back over.
    missed_lookback_windows: int = 8
    min_match_rate: float = 0.5
    min_mapping_coverage: float = 0.35

    @property
    def pgdata_dir(self) -> Path:
        return self.var_dir / "pgdata"

    @property
    def landing_dir(self) -> Path:
        return self.landing_root or self.var_dir / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.var_dir / "dagster_home"

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = _env_path("ODDS_PIPELINE_VAR_DIR", Path.cwd() / "var")
        return cls(
            var_dir=var_dir,
            database_url=os.environ.get("DATABASE_URL") or None,
            dagster_database_url=os.environ.get("DAGSTER_DATABASE_URL") or None,
            bet9ja_startdate_tz=os.environ.get("BET9JA_STARTDATE_TZ", "UTC"),
            bet9ja_cache_version=os.environ.get("BET9JA_CACHE_VERSION", "1.301.2.225"),
            landing_root=_env_path("ODDS_PIPELINE_LANDING_ROOT", var_dir / "landing"),
            batch_minutes=int(os.environ.get("ODDS_PIPELINE_BATCH_MINUTES", 15)),
            partitions_start=os.environ.get("ODDS_PIPELINE_PARTITIONS_START", "2026-11-01-00:00"),
            late_window_minutes=int(os.environ.get("ODDS_PIPELINE_LATE_WINDOW_MINUTES", 60)),
            missed_lookback_windows=int(os.environ.get("ODDS_PIPELINE_MISSED_LOOKBACK", 8)),
            min_match_rate=float(os.environ.get("ODDS_PIPELINE_MIN_MATCH_RATE", 0.5)),
            min_mapping_coverage=float(os.environ.get("ODDS_PIPELINE_MIN_COVERAGE", 0.35)),
        )
