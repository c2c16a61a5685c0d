"""Benchmarks against a sandbox in its own process, so server and clients do not share one interpreter."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx

from odds_pipeline.bookmakers.palimpsest import fetch_palimpsest
from odds_pipeline.bookmakers.records import MarketLineRecord
from odds_pipeline.bookmakers.registry import event_parser, open_client
from odds_pipeline.domain import COMPETITORS, Book
from odds_pipeline.markets.catalogue import file_catalogue
from odds_pipeline.markets.engine import MarketMapper
from odds_pipeline.settings import Settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sandbox_process(scale: str, latency_ms: float, seed: int, faults: str | None = None) -> Iterator[str]:
    """Start `odds-pipeline sandbox serve` as a child process and yield its base URL once it answers."""
    port = _free_port()
    command = [sys.executable, "-m", "odds_pipeline.cli", "sandbox", "serve", "--port", str(port)]
    command += ["--scale", scale, "--seed", str(seed), "--latency-ms", str(latency_ms)]
    if faults:
        command += ["--faults", faults]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/__sandbox/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def settings_for(settings: Settings, url: str) -> Settings:
    books = {book: dataclasses.replace(s, base_url=url) for book, s in settings.books.items()}
    return dataclasses.replace(settings, books=books)


def _fetch_book(book: Book, settings: Settings) -> tuple[int, int, float]:
    """Fetch one book's palimpsest in this (worker) process: (events, errors, wall seconds)."""

    async def run() -> Any:
        async with open_client(book, settings) as client:
            return await fetch_palimpsest(client)

    capture = asyncio.run(run())
    return len(capture.events), len(capture.errors), capture.wall_s


def bench_fetch(settings: Settings, *, scale: str, latency_ms: float, seed: int) -> dict[str, Any]:
    with sandbox_process(scale, latency_ms, seed) as url:
        local = settings_for(settings, url)
        # One process per book, as Dagster runs one asset per book: books do not queue behind each
        # other's JSON decoding in one interpreter.
        with ProcessPoolExecutor(max_workers=len(Book), mp_context=multiprocessing.get_context("spawn")) as pool:
            warm = [pool.submit(int, 0) for _ in Book]  # start the workers before the clock starts
            for future in warm:
                future.result()
            started = time.perf_counter()
            futures = {book: pool.submit(_fetch_book, book, local) for book in Book}
            results = {book: future.result() for book, future in futures.items()}
            wall_s = time.perf_counter() - started
        stats = httpx.get(f"{url}/__sandbox/stats", timeout=10).json()
    requests = {book.value: stats["totals"].get(book.value, 0) for book in Book}
    # The network limit: each book's requests, each costing latency plus pacing, spread over its slots.
    lower_bound = max(
        requests[book.value] * (latency_ms + local.books[book].pace_ms) / 1000 / local.books[book].concurrency
        for book in Book
    )
    return {
        "requests": requests,
        "wall_s": round(wall_s, 2),
        "lower_bound_s": round(lower_bound, 2),
        "events": {book.value: results[book][0] for book in Book},
        "errors": {book.value: results[book][1] for book in Book},
    }


def _parsed_lines(book: Book, settings: Settings) -> list[MarketLineRecord]:
    async def run() -> Any:
        async with open_client(book, settings) as client:
            return await fetch_palimpsest(client)

    capture = asyncio.run(run())
    if capture.errors:
        raise RuntimeError(f"{book.value}: the sandbox palimpsest came back with errors: {capture.errors[:3]}")
    parse = event_parser(book, settings)
    return [line for raw in capture.events for line in parse(raw).lines]


def bench_map(settings: Settings, *, scale: str, seed: int) -> dict[str, Any]:
    """Map every line of each competitor's full palimpsest; only the mapping is timed."""
    with sandbox_process(scale, 0.0, seed) as url:
        local = settings_for(settings, url)
        lines = {book: _parsed_lines(book, local) for book in COMPETITORS}
    mapper = MarketMapper(file_catalogue())
    started = time.perf_counter()
    results = {book: mapper.map_many(book_lines) for book, book_lines in lines.items()}
    elapsed = time.perf_counter() - started
    unmapped: Counter[tuple[str, str, str]] = Counter(
        (book.value, m.record.market_id, m.unmapped.reason.value)
        for book, mappings in results.items()
        for m in mappings
        if m.unmapped
    )
    total = sum(len(v) for v in lines.values())
    return {
        "lines": {book.value: len(lines[book]) for book in COMPETITORS},
        "coverage": {
            book.value: round(sum(m.ok for m in results[book]) / len(results[book]), 4) for book in COMPETITORS
        },
        "lines_per_s": round(total / elapsed),
        "top_unmapped": [[*key, count] for key, count in unmapped.most_common(10)],
    }
