"""What every book's client offers: the three endpoints, how to walk them, and the parsers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.bookmakers.http import BookHttp, RawResponse
from odds_pipeline.bookmakers.records import EventRecord, ParsedEvent, TournamentRecord
from odds_pipeline.domain import Book


class BookClient(ABC):
    book: Book

    def __init__(self, http: BookHttp) -> None:
        self.http = http

    async def __aenter__(self) -> BookClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    # --- the three endpoints -------------------------------------------------------------------

    @abstractmethod
    async def catalogue(self) -> RawResponse:
        """Every football competition the book lists."""

    @abstractmethod
    async def event_list(self, ref: str) -> list[RawResponse]:
        """The events of one competition (every page of it)."""

    @abstractmethod
    async def event(self, external_id: str) -> RawResponse:
        """One event with all its markets."""

    # --- walking them --------------------------------------------------------------------------

    @abstractmethod
    def list_refs(self, catalogue: RawResponse) -> list[str]:
        """The refs (competition / tournament / group ids) to ask event lists for."""

    @abstractmethod
    def event_ids(self, event_list: RawResponse) -> list[str]:
        """The ids, in the form the full-event endpoint accepts, of the events in one list page."""

    # --- parsing -------------------------------------------------------------------------------

    @abstractmethod
    def parse_tournaments(self, catalogue: RawResponse) -> list[TournamentRecord]: ...

    @abstractmethod
    def parse_event_list(self, event_list: RawResponse) -> list[EventRecord]: ...

    @abstractmethod
    def parse_event(self, event: RawResponse) -> ParsedEvent: ...


def refuse(raw: RawResponse, error: BookmakerError) -> BookmakerError:
    """``error``, carrying the answer it refuses: the answer is landed as it came, with the reason."""
    if error.response is None:
        error.response = replace(raw, rejected=error.summary)
    return error


def checked(raw: RawResponse, check: Callable[[RawResponse], Any]) -> RawResponse:
    """The answer, once ``check`` accepts it; a refusal carries the answer (see ``refuse``)."""
    try:
        check(raw)
    except BookmakerError as error:
        raise refuse(raw, error) from None
    return raw
