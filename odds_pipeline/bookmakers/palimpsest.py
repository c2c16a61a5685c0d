"""Fetch a book's whole palimpsest: catalogue, every event list, every full event.

Lists are walked concurrently, and each list's events are fetched as soon as that list arrives;
the client's own limits (concurrency, pacing) keep the pace. Failures are collected as typed
errors beside the answers that did arrive: one bad list or event never stops the rest. An answer
that arrived but was refused (a body still broken after the retries, a shape the client does not
know) is kept too, so it can be landed as it came and looked at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from odds_pipeline.bookmakers.base import BookClient, refuse
from odds_pipeline.bookmakers.errors import BookmakerError
from odds_pipeline.bookmakers.http import RawResponse
from odds_pipeline.domain import Book

log = logging.getLogger(__name__)


Land = Callable[[RawResponse], None]


@dataclass(repr=False)
class PalimpsestCapture:
    """What one capture brought. With ``land``, every answer goes there as it arrives and none is kept
    here (a whole palimpsest is hundreds of megabytes); without it, the answers are kept in the lists."""

    book: Book
    land: Land | None = None
    catalogue: RawResponse | None = None
    lists: list[RawResponse] = field(default_factory=list)
    events: list[RawResponse] = field(default_factory=list)
    rejected: list[RawResponse] = field(default_factory=list)  # arrived, refused: landed with the reason
    errors: list[BookmakerError] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # the competitions the catalogue named
    failed_lists: dict[str, str] = field(default_factory=dict)  # competition → why its list was lost
    events_expected: int = 0
    delivered: int = 0  # full events that arrived
    answers: int = 0  # answers of every endpoint, refused ones included
    wall_s: float = 0.0

    def __repr__(self) -> str:
        return (
            f"PalimpsestCapture({self.book.value}: {self.delivered}/{self.events_expected} events, "
            f"{self.answers} answers, {len(self.errors)} errors)"
        )

    def arrived(self, raw: RawResponse, kept: list[RawResponse] | None) -> None:
        self.answers += 1
        if self.land is not None:
            self.land(raw)
        elif kept is not None:
            kept.append(raw)

    @property
    def down(self) -> bool:
        """No competition could be read: the book was down, or sent a catalogue that was garbage."""
        return not self.refs

    @property
    def failures(self) -> dict[str, str]:
        """What was asked for and never arrived (no answer to land), and why: for naming lost events."""
        return {error.ref: error.summary for error in self.errors if error.ref and error.response is None}

    def fail(self, error: BookmakerError) -> None:
        self.errors.append(error)
        if error.response is not None:
            self.arrived(error.response, self.rejected)


Progress = Callable[[Book, int, int, int], None]  # book, delivered, failed, expected


async def fetch_palimpsest(
    client: BookClient, progress: Progress | None = None, land: Land | None = None
) -> PalimpsestCapture:
    capture = PalimpsestCapture(book=client.book, land=land)
    started = time.perf_counter()
    try:
        catalogue = await client.catalogue()
        try:
            capture.refs = client.list_refs(catalogue)
        except BookmakerError as error:
            raise refuse(catalogue, error) from None
        if land is None:
            capture.catalogue = catalogue
        capture.arrived(catalogue, None)
    except BookmakerError as error:
        capture.fail(error)
        capture.wall_s = time.perf_counter() - started
        return capture

    seen: set[str] = set()
    failed = 0

    async def one_event(external_id: str) -> None:
        nonlocal failed
        try:
            capture.arrived(await client.event(external_id), capture.events)
            capture.delivered += 1
        except BookmakerError as error:
            capture.fail(error)
            failed += 1
        if progress is not None:
            progress(client.book, capture.delivered, failed, capture.events_expected)

    async def one_list(ref: str) -> None:
        try:
            pages = await client.event_list(ref)
            ids = [i for page in pages for i in client.event_ids(page)]
        except BookmakerError as error:
            capture.fail(error)
            capture.failed_lists[ref] = error.summary
            return
        for page in pages:
            capture.arrived(page, capture.lists)
        fresh = [i for i in ids if i not in seen]
        seen.update(fresh)
        capture.events_expected += len(fresh)
        async with asyncio.TaskGroup() as events:
            for external_id in fresh:
                events.create_task(one_event(external_id))

    async with asyncio.TaskGroup() as lists:
        for ref in capture.refs:
            lists.create_task(one_list(ref))
    capture.wall_s = time.perf_counter() - started
    log.info(
        "%s: %d lists (%d lost), %d/%d events, %d errors in %.1fs",
        client.book,
        len(capture.refs) - len(capture.failed_lists),
        len(capture.failed_lists),
        capture.delivered,
        capture.events_expected,
        len(capture.errors),
        capture.wall_s,
    )
    return capture


def capture_palimpsest(
    open_client: Callable[[], BookClient], progress: Progress | None = None, land: Land | None = None
) -> PalimpsestCapture:
    """Open a client, fetch the whole palimpsest with it and close it: one event loop, one client."""

    async def run() -> PalimpsestCapture:
        async with open_client() as client:
            return await fetch_palimpsest(client, progress=progress, land=land)

    return asyncio.run(run())
