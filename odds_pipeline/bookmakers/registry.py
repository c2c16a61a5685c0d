"""One line per book: how to open its client from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from odds_pipeline.bookmakers import bet9ja, betpawa, sportybet
from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.bet9ja import Bet9jaClient
from odds_pipeline.bookmakers.betpawa import BetPawaClient
from odds_pipeline.bookmakers.http import ClientLimits, RawResponse
from odds_pipeline.bookmakers.records import EventRecord, ParsedEvent
from odds_pipeline.bookmakers.sportybet import SportyBetClient
from odds_pipeline.domain import Book
from odds_pipeline.settings import BookSettings, Settings


def limits_from(book_settings: BookSettings) -> ClientLimits:
    return ClientLimits(
        concurrency=book_settings.concurrency,
        pace_s=book_settings.pace_ms / 1000,
        timeout_s=book_settings.timeout_s,
        max_attempts=book_settings.max_attempts,
        max_response_bytes=int(book_settings.max_response_mb * 1024 * 1024),
    )


def open_client(book: Book, settings: Settings) -> BookClient:
    book_settings = settings.books[book]
    limits = limits_from(book_settings)
    if book is Book.BETPAWA:
        return BetPawaClient.open(book_settings.base_url, limits)
    if book is Book.SPORTYBET:
        return SportyBetClient.open(book_settings.base_url, limits)
    return Bet9jaClient.open(
        book_settings.base_url,
        limits,
        startdate_zone=settings.bet9ja_startdate_tz,
        cache_version=settings.bet9ja_cache_version,
    )


@dataclass(frozen=True)
class Parsers:
    """A book's parsers of landed answers; they need no connection."""

    event: Callable[[RawResponse], ParsedEvent]
    event_list: Callable[[RawResponse], list[EventRecord]]


def parsers(book: Book, settings: Settings) -> Parsers:
    if book is Book.BETPAWA:
        return Parsers(betpawa.EventParser(), betpawa.events_from_list)
    if book is Book.SPORTYBET:
        return Parsers(sportybet.EventParser(), sportybet.events_from_list)
    zone = ZoneInfo(settings.bet9ja_startdate_tz)
    return Parsers(bet9ja.EventParser(zone), partial(bet9ja.events_from_list, zone=zone))


def event_parser(book: Book, settings: Settings) -> Callable[[RawResponse], ParsedEvent]:
    """Parse a full-event answer as the book sent it, without opening a connection."""
    return parsers(book, settings).event
