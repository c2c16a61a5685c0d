"""Environment-driven settings, read in one place.

Every default points at something on this machine: the embedded PostgreSQL under ``var/``
and, for the bookmakers, the sandbox on loopback. Pointing the project at real servers is a
matter of environment variables only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_DATABASE = "odds_pipeline"
DAGSTER_DATABASE = "dagster"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


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
        )
