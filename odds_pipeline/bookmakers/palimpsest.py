"""Fetch a book's whole palimpsest: catalogue, every event list, every full event.

Lists are walked concurrently, and each list's events are fetched as soon as that list arrives;
the client's own limits (concurrency, pacing) keep the pace. Failures are collected as typed
errors beside the answers that did arrive: one bad list or event never stops the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from odds_pipeline.bookmakers.base import BookClient
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
    errors: list[BookmakerError] = field(default_factory=list)
    events_expected: int = 0
    wall_s: float = 0.0

    @property
    def responses(self) -> list[RawResponse]:
        return ([self.catalogue] if self.catalogue else []) + self.lists + self.events

    @property
    def complete(self) -> bool:
        return self.catalogue is not None and not self.errors


Progress = Callable[[Book, int, int], None]


async def fetch_palimpsest(client: BookClient, progress: Progress | None = None) -> PalimpsestCapture:
    capture = PalimpsestCapture(book=client.book)
    started = time.perf_counter()
    try:
        capture.catalogue = await client.catalogue()
        refs = client.list_refs(capture.catalogue)
    except BookmakerError as error:
        capture.errors.append(error)
        capture.wall_s = time.perf_counter() - started
        return capture

    seen: set[str] = set()
    done = 0

    async def one_event(external_id: str) -> None:
        nonlocal done
        try:
            raw = await client.event(external_id)
            raw.json()  # a truncated or non-JSON body is an error now, not at parse time
            capture.events.append(raw)
        except BookmakerError as error:
            capture.errors.append(error)
        done += 1
        if progress is not None:
            progress(client.book, done, capture.events_expected)

    async def one_list(ref: str) -> None:
        try:
            pages = await client.event_list(ref)
            ids = [i for page in pages for i in client.event_ids(page)]
        except BookmakerError as error:
            capture.errors.append(error)
            return
        capture.lists.extend(pages)
        fresh = [i for i in ids if i not in seen]
        seen.update(fresh)
        capture.events_expected += len(fresh)
        async with asyncio.TaskGroup() as events:
            for external_id in fresh:
                events.create_task(one_event(external_id))

    async with asyncio.TaskGroup() as lists:
        for ref in refs:
            lists.create_task(one_list(ref))
    capture.wall_s = time.perf_counter() - started
    log.info(
        "%s: %d lists, %d/%d events, %d errors in %.1fs",
        client.book,
        len(capture.lists),
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
