"""One line per book: how to open its client and its parsers from how it is configured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from odds_pipeline.bookmakers import bet9ja, betpawa, sportybet
from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.bet9ja import Bet9jaClient
from odds_pipeline.bookmakers.betpawa import BetPawaClient
from odds_pipeline.bookmakers.http import ClientLimits, RawResponse
from odds_pipeline.bookmakers.records import EventRecord, ParsedEvent
from odds_pipeline.bookmakers.sportybet import SportyBetClient
from odds_pipeline.domain import Book


class BookAccess(Protocol):
    """How one book is configured: a book's settings, or the Dagster resource made from them."""

    url: str
    concurrency: int
    pace_ms: float
    timeout_s: float
    max_attempts: int
    max_response_mb: float
    startdate_tz: str | None  # Bet9ja's only
    cache_version: str | None  # Bet9ja's only


def limits_from(access: BookAccess) -> ClientLimits:
    return ClientLimits(
        concurrency=access.concurrency,
        pace_s=access.pace_ms / 1000,
        timeout_s=access.timeout_s,
        max_attempts=access.max_attempts,
        max_response_bytes=int(access.max_response_mb * 1024 * 1024),
    )


def _bet9ja_only(access: BookAccess, name: str) -> str:
    value = getattr(access, name)
    if not value:
        raise ValueError(f"Bet9ja's {name} is not configured")
    return value


def open_client(book: Book, access: BookAccess) -> BookClient:
    limits = limits_from(access)
    if book is Book.BETPAWA:
        return BetPawaClient.open(access.url, limits)
    if book is Book.SPORTYBET:
        return SportyBetClient.open(access.url, limits)
    return Bet9jaClient.open(
        access.url,
        limits,
        startdate_zone=_bet9ja_only(access, "startdate_tz"),
        cache_version=_bet9ja_only(access, "cache_version"),
    )


@dataclass(frozen=True)
class Parsers:
    """A book's parsers of landed answers; they need no connection."""

    event: Callable[[RawResponse], ParsedEvent]
    event_list: Callable[[RawResponse], list[EventRecord]]


def parsers(book: Book, access: BookAccess) -> Parsers:
    """Parsers for one capture: the full-event parser remembers what repeats from event to event."""
    if book is Book.BETPAWA:
        return Parsers(betpawa.EventParser(), betpawa.events_from_list)
    if book is Book.SPORTYBET:
        return Parsers(sportybet.EventParser(), sportybet.events_from_list)
    zone = ZoneInfo(_bet9ja_only(access, "startdate_tz"))
    return Parsers(bet9ja.EventParser(zone), partial(bet9ja.events_from_list, zone=zone))


def event_parser(book: Book, access: BookAccess) -> Callable[[RawResponse], ParsedEvent]:
    """Parse a full-event answer as the book sent it, without opening a connection."""
    return parsers(book, access).event
