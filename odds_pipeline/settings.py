"""The project's settings: every default, in one place, and the environment variables that change them.

Every default points at something on this machine: the embedded PostgreSQL under ``var/`` and,
for the bookmakers, the sandbox on loopback. Pointing the project at real servers is a matter of
environment variables only (README lists them). The settings are read once, when the Dagster
definitions or a command load; from there on the Dagster resources carry them (defs/resources.py).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from odds_pipeline.domain import Book

APP_DATABASE = "odds_pipeline"
DAGSTER_DATABASE = "dagster"
SANDBOX_PORT = 8765
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"


class BookSettings(BaseSettings):
    """How to reach one book: ``ODDS_PIPELINE_<BOOK>_<FIELD>``, e.g. ``ODDS_PIPELINE_BET9JA_URL``."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    url: str = Field(SANDBOX_URL, description="The API's base URL; the sandbox on loopback by default.")
    concurrency: int = Field(50, description="Requests in flight at once.")
    pace_ms: float = Field(0.0, description="Pause after each request, holding its slot.")
    timeout_s: float = Field(30.0, description="Read timeout of one request.")
    max_attempts: int = Field(4, description="Attempts per request before the book counts as unavailable.")
    max_response_mb: float = Field(16.0, description="Answers larger than this are refused.")
    startdate_tz: str | None = Field(None, description="Bet9ja only.")
    cache_version: str | None = Field(None, description="Bet9ja only.")
    # A batch waits on its slowest capture, Bet9ja's (15 requests at once): the books whose APIs
    # take 50 at once are done well before it, so they leave it the CPU they share.
    cpu_niceness: int = Field(5, description="How much lower the CPU priority of the book's step process is.")


class BetPawaSettings(BookSettings):
    model_config = SettingsConfigDict(env_prefix="ODDS_PIPELINE_BETPAWA_")


class SportyBetSettings(BookSettings):
    model_config = SettingsConfigDict(env_prefix="ODDS_PIPELINE_SPORTYBET_")


class Bet9jaSettings(BookSettings):
    model_config = SettingsConfigDict(env_prefix="ODDS_PIPELINE_BET9JA_")

    concurrency: int = Field(15, description="Requests in flight at once; Bet9ja answers bursts with 403.")
    pace_ms: float = Field(25.0, description="Pause after each request, holding its slot.")
    cpu_niceness: int = Field(0, description="How much lower the CPU priority of the book's step process is.")
    # The reference assumed UTC without checking; the real answers confirm it (bookmakers/bet9ja.py).
    startdate_tz: str = Field("UTC", description="The zone Bet9ja writes STARTDATE in (it carries none).")
    cache_version: str = Field("1.301.2.225", description="Bet9ja's v_cache_version query parameter.")


class Settings(BaseSettings):
    """What the project needs to know about its surroundings: ``ODDS_PIPELINE_<FIELD>`` unless noted."""

    model_config = SettingsConfigDict(env_prefix="ODDS_PIPELINE_", frozen=True, extra="ignore", populate_by_name=True)

    var_dir: Path = Field(Path("var"), description="Where the embedded PostgreSQL, DAGSTER_HOME and captures live.")
    database_url: str | None = Field(
        None, validation_alias="DATABASE_URL", description="An external PostgreSQL for the app's data (DATABASE_URL)."
    )
    dagster_database_url: str | None = Field(
        None,
        validation_alias="DAGSTER_DATABASE_URL",
        description="Dagster's own storage (DAGSTER_DATABASE_URL); never the app's database.",
    )
    landing_root: Path | None = Field(None, description="Where raw captures are kept; var_dir/landing by default.")
    batch_minutes: int = Field(15, description="One batch = one partition of this many minutes, in UTC.")
    partitions_start: str | None = Field(
        None,
        description="The first batch partition (YYYY-MM-DD-HH:MM, UTC). By default, the earliest window that "
        "could still be scraped when the project first ran here, kept in var_dir/first_partition.",
    )
    late_window_minutes: int = Field(60, description="A batch older than this is re-derived, never scraped.")
    missed_lookback: int = Field(8, description="How many recent windows the missed-batch sensor looks over.")
    min_match_rate: float = Field(0.5, description="Each competitor's share of events linked to BetPawa's.")
    min_coverage: float = Field(0.35, description="Each competitor's share of market lines mapped.")
    retention_history_days: int = Field(
        30, ge=1, description="Odds history older than this is deleted, folded into the next observation."
    )
    retention_events_days: int = Field(30, ge=1, description="Events that kicked off longer ago are deleted whole.")
    retention_captures_days: int = Field(14, ge=1, description="Raw captures of batches older than this are deleted.")
    retention_dagster_days: int = Field(
        14, ge=1, description="Dagster runs (with their event logs) and schedule and sensor ticks older than this."
    )
    alert_url: str | None = Field(
        None, description="A webhook POSTed a JSON alert on each failed batch and each asset that goes stale."
    )
    betpawa: BetPawaSettings = Field(default_factory=BetPawaSettings)
    sportybet: SportyBetSettings = Field(default_factory=SportyBetSettings)
    bet9ja: Bet9jaSettings = Field(default_factory=Bet9jaSettings)

    @field_validator("var_dir", "landing_root")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        return None if path is None else path.expanduser().resolve()

    @property
    def books(self) -> dict[Book, BookSettings]:
        return {Book.BETPAWA: self.betpawa, Book.SPORTYBET: self.sportybet, Book.BET9JA: self.bet9ja}

    @property
    def pgdata_dir(self) -> Path:
        return self.var_dir / "pgdata"

    @property
    def landing_dir(self) -> Path:
        return self.landing_root or self.var_dir / "landing"

    @property
    def dagster_home(self) -> Path:
        return self.var_dir / "dagster_home"

    def with_books_at(self, url: str) -> Settings:
        """The same settings with every book's API at ``url`` (a sandbox of a test or a benchmark)."""
        return self.model_copy(
            update={book.value: settings.model_copy(update={"url": url}) for book, settings in self.books.items()}
        )
