"""Dagster resources: the database, each bookmaker's API, the landing store and the batch policy."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.registry import Parsers, open_client, parsers
from odds_pipeline.domain import Book
from odds_pipeline.settings import BookSettings, Settings
from odds_pipeline.storage.database import app_database_url, make_engine
from odds_pipeline.storage.landing import LandingStore


def _env_or(name: str, default: str) -> str | dg.EnvVar:
    """An EnvVar when the variable is set (the UI then shows where the value came from), else the default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


class DatabaseResource(dg.ConfigurableResource):
    """The app's PostgreSQL. Without a URL: the embedded server under var_dir, started if it is down."""

    url: str | None = None
    var_dir: str

    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        settings = dataclasses.replace(Settings.from_env(), var_dir=Path(self.var_dir), database_url=self.url)
        self._engine = make_engine(app_database_url(settings))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def url_string(self) -> str:
        """The resolved URL, for worker processes that open their own engine."""
        assert self._engine is not None, "the database resource was not set up"
        return self._engine.url.render_as_string(hide_password=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        assert self._engine is not None, "the database resource was not set up"
        with Session(self._engine) as session, session.begin():
            yield session


class BookmakerResource(dg.ConfigurableResource):
    """One bookmaker's public API: where it is and how hard it may be asked."""

    # BookSettings' fields, as Dagster config (shown in the UI, overridable per run).
    book: str
    base_url: str
    concurrency: int
    pace_ms: float
    timeout_s: float = 30.0
    max_attempts: int = 4
    max_response_mb: float = 16.0
    bet9ja_startdate_tz: str = "UTC"

    def _settings(self) -> Settings:
        own = BookSettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(BookSettings)})
        settings = Settings.from_env()
        return dataclasses.replace(
            settings, books={**settings.books, Book(self.book): own}, bet9ja_startdate_tz=self.bet9ja_startdate_tz
        )

    def open_client(self) -> BookClient:
        return open_client(Book(self.book), self._settings())

    def parsers(self) -> Parsers:
        return parsers(Book(self.book), self._settings())

    @classmethod
    def from_settings(cls, book: Book, settings: Settings) -> BookmakerResource:
        own = dataclasses.asdict(settings.books[book])
        own["base_url"] = _env_or(f"ODDS_PIPELINE_{book.value.upper()}_URL", own["base_url"])
        return cls(book=book.value, bet9ja_startdate_tz=settings.bet9ja_startdate_tz, **own)


class LandingResource(dg.ConfigurableResource):
    """Where raw captures are kept: a local folder by default."""

    root: str

    def store(self) -> LandingStore:
        return LandingStore(Path(self.root))


class BatchPolicyResource(dg.ConfigurableResource):
    """When a batch may still be scraped, and the thresholds its checks hold it to."""

    late_window_minutes: int = 60
    missed_lookback_windows: int = 8
    min_match_rate: float = 0.5
    min_mapping_coverage: float = 0.35


def resources_from_settings(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    database_url = _env_or("DATABASE_URL", settings.database_url or "") or None
    return {
        "database": DatabaseResource(url=database_url, var_dir=str(settings.var_dir)),
        "landing": LandingResource(root=_env_or("ODDS_PIPELINE_LANDING_ROOT", str(settings.landing_dir))),
        "policy": BatchPolicyResource(
            late_window_minutes=settings.late_window_minutes,
            missed_lookback_windows=settings.missed_lookback_windows,
            min_match_rate=settings.min_match_rate,
            min_mapping_coverage=settings.min_mapping_coverage,
        ),
        **{f"{book.value}_api": BookmakerResource.from_settings(book, settings) for book in Book},
    }
