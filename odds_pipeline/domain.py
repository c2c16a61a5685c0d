"""Vocabulary shared by every layer: the books (bookmakers) and the states a batch goes through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Book(StrEnum):
    BETPAWA = "betpawa"
    SPORTYBET = "sportybet"
    BET9JA = "bet9ja"

    @property
    def is_competitor(self) -> bool:
        return self is not Book.BETPAWA

    @property
    def display_name(self) -> str:
        return {"betpawa": "BetPawa", "sportybet": "SportyBet", "bet9ja": "Bet9ja"}[self.value]


COMPETITORS: tuple[Book, ...] = (Book.SPORTYBET, Book.BET9JA)


class BatchStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CONNECTION_FAILED = "connection_failed"


class BatchTrigger(StrEnum):
    SCHEDULE = "schedule"
    SENSOR = "sensor"
    BACKFILL = "backfill"
    MANUAL = "manual"


class EventScrapeOutcome(StrEnum):
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"


class HandicapType(StrEnum):
    ASIAN = "asian"
    EUROPEAN = "european"


class MappingAction(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    ACTIVATE = "ACTIVATE"
    DEACTIVATE = "DEACTIVATE"


class UnmappedStatus(StrEnum):
    NEW = "NEW"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    MAPPED = "MAPPED"
    IGNORED = "IGNORED"


# Windows are counted from midnight of a fixed day, so any window that divides a day starts on the hour.
WINDOW_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def floor_to_window(moment: datetime, window: timedelta) -> datetime:
    """The start of the window of length ``window`` that holds ``moment``."""
    return WINDOW_ORIGIN + ((moment - WINDOW_ORIGIN) // window) * window
