"""Dagster resources: the database, each bookmaker's API, the landing store and the batch policy.

The resources are the configuration of a run: each field is shown in the UI with its description,
and a value that came from the environment is a ``dg.EnvVar``, so the UI says where it came from.
Their values come from ``Settings`` (the one place that holds the defaults) when the definitions
load; nothing reads the environment again while a run executes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from odds_pipeline.alerts import alert_body, send_alert
from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.registry import Parsers, open_client, parsers
from odds_pipeline.domain import Book
from odds_pipeline.settings import BookSettings, Settings
from odds_pipeline.storage.database import app_database_url, make_engine
from odds_pipeline.storage.landing import LandingStore


class DatabaseResource(dg.ConfigurableResource):
    """The app's PostgreSQL. Without a URL: the embedded server under var_dir, started if it is down."""

    url: str | None = Field(description="An external PostgreSQL's URL; empty means the embedded server.")
    var_dir: str = Field(description="The project's var/ folder: the embedded server's data is in var_dir/pgdata.")

    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = make_engine(app_database_url(self.url, Path(self.var_dir) / "pgdata"))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def session(self, isolation_level: str | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises; at the server's
        isolation level unless given one (``"REPEATABLE READ"``: one snapshot throughout)."""
        assert self._engine is not None, "the database resource was not set up"
        engine = (
            self._engine if isolation_level is None else self._engine.execution_options(isolation_level=isolation_level)
        )
        with Session(engine) as session, session.begin():
            yield session


class BookmakerResource(dg.ConfigurableResource):
    """One bookmaker's public API: where it is and how hard it may be asked."""

    book: str = Field(description="betpawa, sportybet or bet9ja.")
    url: str = Field(description="The API's base URL; the sandbox on loopback by default.")
    concurrency: int = Field(description="Requests in flight at once.")
    pace_ms: float = Field(description="Pause after each request, holding its slot.")
    timeout_s: float = Field(description="Read timeout of one request.")
    max_attempts: int = Field(description="Attempts per request before the book counts as unavailable.")
    max_response_mb: float = Field(description="Answers larger than this are refused.")
    startdate_tz: str | None = Field(default=None, description="Bet9ja only: the zone its STARTDATE is written in.")
    cache_version: str | None = Field(default=None, description="Bet9ja only: its v_cache_version parameter.")
    cpu_niceness: int = Field(description="How much lower the CPU priority of the book's step process is (os.nice).")

    def open_client(self) -> BookClient:
        return open_client(Book(self.book), self)

    def parsers(self) -> Parsers:
        return parsers(Book(self.book), self)


class LandingResource(dg.ConfigurableResource):
    """Where raw captures are kept: a local folder by default."""

    root: str = Field(description="The landing store's folder.")

    def store(self) -> LandingStore:
        return LandingStore(Path(self.root))


class BatchPolicyResource(dg.ConfigurableResource):
    """When a batch may still be scraped, and the thresholds its checks hold it to."""

    late_window_minutes: int = Field(description="A batch older than this is re-derived, never scraped.")
    missed_lookback: int = Field(description="How many recent windows the missed-batch sensor looks over.")
    min_match_rate: float = Field(description="Each competitor's share of events linked to BetPawa's, at least.")
    min_coverage: float = Field(description="Each competitor's share of market lines mapped, at least.")


class RetentionResource(dg.ConfigurableResource):
    """How long each kind of data is kept; the daily retention job deletes what is older."""

    history_days: int = Field(description="Odds history older than this is deleted, folded into the next observation.")
    events_days: int = Field(description="Events that kicked off longer ago than this are deleted whole.")
    captures_days: int = Field(description="Raw captures of batches older than this are deleted.")
    dagster_days: int = Field(description="Dagster runs, their event logs and schedule/sensor ticks older than this.")


class AlertResource(dg.ConfigurableResource):
    """Where alerts go: failed batches and assets that went stale. Empty: alerts are only logged."""

    url: str | None = Field(default=None, description="A webhook that takes a JSON POST (ODDS_PIPELINE_ALERT_URL).")

    def send(self, kind: str, subject: str, text: str, details: dict[str, Any] | None = None) -> bool:
        return send_alert(self.url, alert_body(kind, subject, text, details))


def _configured(settings: BaseSettings, name: str, env_prefix: str, alias: str | None = None) -> Any:
    """The setting's value; a ``dg.EnvVar`` instead when the value is the environment's (strings and
    integers, the kinds Dagster reads from the environment), so the UI says where it came from."""
    value = getattr(settings, name)
    variable = alias or f"{env_prefix}{name}".upper()
    sent = os.environ.get(variable)
    if isinstance(value, Path):
        return str(value)  # resolved where the settings were read, as the variable may be relative
    if sent is None or isinstance(value, bool) or not isinstance(value, str | int):
        return value
    if isinstance(value, int):
        return dg.EnvVar.int(variable) if sent.strip().lstrip("-").isdigit() and int(sent) == value else value
    return dg.EnvVar(variable) if sent == value else value


def bookmaker_resource(book: Book, settings: BookSettings) -> BookmakerResource:
    prefix = f"ODDS_PIPELINE_{book.value}_"
    fields = {name: _configured(settings, name, prefix) for name in type(settings).model_fields}
    return BookmakerResource(book=book.value, **fields)


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    prefix = "ODDS_PIPELINE_"
    return {
        "database": DatabaseResource(
            url=_configured(settings, "database_url", prefix, alias="DATABASE_URL"),
            var_dir=str(settings.var_dir),
        ),
        "landing": LandingResource(root=str(settings.landing_dir)),
        "alerts": AlertResource(url=_configured(settings, "alert_url", prefix)),
        "retention": RetentionResource(
            **{
                name: _configured(settings, f"retention_{name}", prefix)
                for name in ("history_days", "events_days", "captures_days", "dagster_days")
            }
        ),
        "policy": BatchPolicyResource(
            **{
                name: _configured(settings, name, prefix)
                for name in ("late_window_minutes", "missed_lookback", "min_match_rate", "min_coverage")
            }
        ),
        **{
            f"{book.value}_api": bookmaker_resource(book, book_settings)
            for book, book_settings in settings.books.items()
        },
    }
