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


@dataclass
class PalimpsestCapture:
    book: Book
    catalogue: RawResponse | None = None
    lists: list[RawResponse] = field(default_factory=list)
    events: list[RawResponse] = field(default_factory=list)
    rejected: list[RawResponse] = field(default_factory=list)  # arrived, refused: landed with the reason
    errors: list[BookmakerError] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)  # the competitions the catalogue named
    failed_lists: dict[str, str] = field(default_factory=dict)  # competition → why its list was lost
    events_expected: int = 0
    wall_s: float = 0.0

    @property
    def responses(self) -> list[RawResponse]:
        return ([self.catalogue] if self.catalogue else []) + self.lists + self.events + self.rejected

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
            self.rejected.append(error.response)


Progress = Callable[[Book, int, int, int], None]  # book, delivered, failed, expected


async def fetch_palimpsest(client: BookClient, progress: Progress | None = None) -> PalimpsestCapture:
    capture = PalimpsestCapture(book=client.book)
    started = time.perf_counter()
    try:
        catalogue = await client.catalogue()
        try:
            capture.refs = client.list_refs(catalogue)
        except BookmakerError as error:
            raise refuse(catalogue, error) from None
        capture.catalogue = catalogue
    except BookmakerError as error:
        capture.fail(error)
        capture.wall_s = time.perf_counter() - started
        return capture

    seen: set[str] = set()
    failed = 0

    async def one_event(external_id: str) -> None:
        nonlocal failed
        try:
            capture.events.append(await client.event(external_id))
        except BookmakerError as error:
            capture.fail(error)
            failed += 1
        if progress is not None:
            progress(client.book, len(capture.events), failed, capture.events_expected)

    async def one_list(ref: str) -> None:
        try:
            pages = await client.event_list(ref)
            ids = [i for page in pages for i in client.event_ids(page)]
        except BookmakerError as error:
            capture.fail(error)
            capture.failed_lists[ref] = error.summary
            return
        capture.lists.extend(pages)
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
        len(capture.lists),
        len(capture.failed_lists),
        len(capture.events),
        capture.events_expected,
        len(capture.errors),
        capture.wall_s,
    )
    return capture


def capture_palimpsest(open_client: Callable[[], BookClient], progress: Progress | None = None) -> PalimpsestCapture:
    """Open a client, fetch the whole palimpsest with it and close it: one event loop, one client."""

    async def run() -> PalimpsestCapture:
        async with open_client() as client:
            return await fetch_palimpsest(client, progress=progress)

    return asyncio.run(run())
