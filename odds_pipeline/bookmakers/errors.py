"""Typed errors of talking to a book and reading what it sends.

Each error's class name is what lands in scrape_errors.error_type, so the names are part of the
interface: a user filters on them.
"""

from __future__ import annotations

from typing import Any

from odds_pipeline.domain import Book


class BookmakerError(Exception):
    """Anything that went wrong with one book. ``ref`` names what was asked for (URL, event id).

    ``response`` is the answer the error is about, when one arrived (a malformed body, a drifted
    shape): it is landed as it came, so it can be looked at and parsed again once a parser is fixed.
    """

    def __init__(
        self, book: Book, message: str, *, ref: str | None = None, response: Any = None, **context: Any
    ) -> None:
        super().__init__(message)
        self.book = book
        self.ref = ref
        self.response = response
        self.context = context

    @property
    def error_type(self) -> str:
        return type(self).__name__

    @property
    def summary(self) -> str:
        """The error's type and message, as one line: "MalformedResponseError: sportybet: ..."."""
        return f"{self.error_type}: {self}"

    def __str__(self) -> str:
        where = f" [{self.ref}]" if self.ref else ""
        return f"{self.book.value}: {self.args[0]}{where}"


# --- transport: the request did not get a usable answer -----------------------------------------


class BookmakerUnavailableError(BookmakerError):
    """Retries exhausted on timeouts, connection errors, 5xx, 429 or 403 bursts: the book is down or refusing."""


class NotFoundError(BookmakerError):
    """The book says the thing does not exist (BetPawa 404, SportyBet bizCode != 10000, Bet9ja R == "E")."""


class BookmakerRejectedError(BookmakerError):
    """A definite refusal that retrying will not fix (e.g. HTTP 400, an unknown Bet9ja R code)."""


class ResponseTooLargeError(BookmakerError):
    """The answer ran past the configured size cap."""


class MalformedResponseError(BookmakerError):
    """The body is not JSON, or not the JSON shape this book sends."""


# --- parsing: the JSON arrived, a value in it is unusable ---------------------------------------


class ParseError(BookmakerError):
    """A value the parser cannot accept. ``field`` is the JSON path of the offending value."""

    def __init__(self, book: Book, field: str, message: str, *, ref: str | None = None, **context: Any) -> None:
        super().__init__(book, f"{field}: {message}", ref=ref, **context)
        self.field = field
        self.detail = message

    def within(self, path: str) -> ParseError:
        """The same error, its field named from ``path``: hot loops name the place only when it fails."""
        return type(self)(self.book, f"{path}.{self.field}", self.detail, ref=self.ref, **self.context)


class MissingFieldError(ParseError):
    pass


class InvalidOddsError(ParseError):
    pass


class InvalidKickoffError(ParseError):
    pass


class InvalidLineError(ParseError):
    pass
