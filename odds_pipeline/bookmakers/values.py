"""Checks of single values shared by the parsers: ids, odds, kick-off times, numbers."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime, tzinfo
from typing import Any

from odds_pipeline.bookmakers.errors import (
    InvalidKickoffError,
    InvalidLineError,
    InvalidOddsError,
    MalformedResponseError,
    MissingFieldError,
)
from odds_pipeline.domain import Book


def require(book: Book, container: Any, key: str, path: str, ref: str | None = None) -> Any:
    """``container[key]``, or MissingFieldError naming the path when it is absent, null or empty."""
    if not isinstance(container, dict):
        raise MalformedResponseError(book, f"{path} is not an object", ref=ref)
    value = container.get(key)
    if value is None or value == "":
        raise MissingFieldError(book, f"{path}.{key}", "missing", ref=ref)
    return value


def as_dict(book: Book, value: Any, path: str, ref: str | None = None) -> dict[str, Any]:
    if value is None:
        raise MissingFieldError(book, path, "missing", ref=ref)
    if not isinstance(value, dict):
        raise MalformedResponseError(book, f"{path} is not an object (got {type(value).__name__})", ref=ref)
    return value


def as_list(book: Book, value: Any, path: str, ref: str | None = None) -> list[Any]:
    if value is None:
        raise MissingFieldError(book, path, "missing", ref=ref)
    if not isinstance(value, list):
        raise MalformedResponseError(book, f"{path} is not a list (got {type(value).__name__})", ref=ref)
    return value


def ident(book: Book, value: Any, path: str, ref: str | None = None) -> str:
    """An id, given as a string or an integer; booleans and empty values are not ids."""
    if isinstance(value, bool) or value is None or value == "" or not isinstance(value, str | int):
        raise MissingFieldError(book, path, f"not an id: {value!r}", ref=ref)
    return str(value)


def odds(
    book: Book, value: Any, path: str, ref: str | None = None, *, off_markers: Collection[float] = ()
) -> float | None:
    """Decimal odds: a finite number above 1.0, given as a number or a numeric string.

    ``off_markers`` are the values by which this book says an outcome is off (SportyBet 0.00 or
    1.00 with isActive 0, BetPawa 0 with suspended, Bet9ja a bare 1): they give None, not an
    error. Any other value at or below 1.0 is impossible.
    """
    if isinstance(value, bool):
        raise InvalidOddsError(book, path, f"not a number: {value!r}", ref=ref)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidOddsError(book, path, f"not a number: {value!r}", ref=ref) from None
    if 1.0 < number < math.inf:  # NaN fails both comparisons
        return number
    if number in off_markers:
        return None
    raise InvalidOddsError(book, path, f"impossible odds {value!r} (must be finite and above 1.0)", ref=ref)


class PriceReader:
    """``odds`` for one book, remembering each price it has read: a capture sends a few thousand
    distinct prices millions of times, and a price read once needs no second check.

    ``known`` maps price texts already read to their value, for outcomes the book has not marked
    off, and ``known_off`` the same for outcomes that may be off (None: off); a parser's hot loop
    may look there before calling.
    """

    MAX_KNOWN = 100_000

    def __init__(self, book: Book, off_markers: Collection[float]) -> None:
        self.book = book
        self.off_markers = tuple(off_markers)
        self.known: dict[str, float | None] = {}
        self.known_off: dict[str, float | None] = {}

    def __call__(self, value: Any, path: str, ref: str | None = None, may_be_off: bool = False) -> float | None:
        """The price, None when the book says the outcome is off (only where ``may_be_off``)."""
        if type(value) is not str:
            if type(value) is float and 1.0 < value < math.inf:  # BetPawa's prices are JSON numbers
                return value
            return odds(self.book, value, path, ref, off_markers=self.off_markers if may_be_off else ())
        known = self.known_off if may_be_off else self.known
        number = known.get(value, UNSEEN)
        if number is UNSEEN:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not 1.0 < number < math.inf:  # off, or impossible: ``odds`` says which
                number = odds(self.book, value, path, ref, off_markers=self.off_markers if may_be_off else ())
            if len(known) < self.MAX_KNOWN:
                known[value] = number
        return number  # type: ignore[return-value]


UNSEEN = object()  # what a cache's get returns for a key it has not seen (None may be a value)


def line_value(book: Book, value: Any, path: str, ref: str | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidLineError(book, path, f"not a number: {value!r}", ref=ref) from None
    if not math.isfinite(number):
        raise InvalidLineError(book, path, f"not finite: {value!r}", ref=ref)
    return number


def head_start_to_home_line(book: Book, head_start: str, path: str, ref: str | None = None) -> float:
    """A 3-way head start ``H:A`` gives H goals to home and A to away: home's handicap is H - A (``0:1`` → -1)."""
    home, _, away = head_start.partition(":")
    return line_value(book, home, path, ref) - line_value(book, away, path, ref)


def home_line_to_head_start(line: float) -> str:
    """The inverse: -1 (home concedes a goal) is ``0:1``; +2 is ``2:0``."""
    goals = round(line)
    return f"{goals}:0" if goals >= 0 else f"0:{-goals}"


def kickoff_iso(book: Book, value: Any, path: str, ref: str | None = None) -> datetime:
    """ISO-8601 with an offset or Z; a value without one is refused rather than guessed."""
    if not isinstance(value, str):
        raise InvalidKickoffError(book, path, f"not a timestamp: {value!r}", ref=ref)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidKickoffError(book, path, f"unparsable: {value!r}", ref=ref) from None
    if moment.tzinfo is None:
        raise InvalidKickoffError(book, path, f"no time zone in {value!r}", ref=ref)
    return moment.astimezone(UTC)


def kickoff_epoch_ms(book: Book, value: Any, path: str, ref: str | None = None) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidKickoffError(book, path, f"not epoch milliseconds: {value!r}", ref=ref)
    try:
        millis = float(value)
        if not math.isfinite(millis):
            raise ValueError
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidKickoffError(book, path, f"not epoch milliseconds: {value!r}", ref=ref) from None


def kickoff_local(book: Book, value: Any, zone: tzinfo, path: str, ref: str | None = None) -> datetime:
    """ "YYYY-MM-DD HH:MM:SS" in a zone the caller names (Bet9ja's STARTDATE carries none)."""
    if not isinstance(value, str):
        raise InvalidKickoffError(book, path, f"not a timestamp: {value!r}", ref=ref)
    try:
        naive = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zone applied below
    except ValueError:
        raise InvalidKickoffError(book, path, f"unparsable: {value!r}", ref=ref) from None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def split_teams(book: Book, name: Any, path: str, ref: str | None = None) -> tuple[str, str]:
    """ "Home - Away" (or "Home vs Away"), split at the first separator."""
    if isinstance(name, str):
        for separator in (" - ", " vs ", " v "):
            home, found, away = name.partition(separator)
            if found and home.strip() and away.strip():
                return home.strip(), away.strip()
    raise MissingFieldError(book, path, f"cannot tell home from away in {name!r}", ref=ref)
