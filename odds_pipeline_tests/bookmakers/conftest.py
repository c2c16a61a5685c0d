from __future__ import annotations

from collections.abc import Iterator

import pytest

from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.bet9ja import Bet9jaClient
from odds_pipeline.bookmakers.betpawa import BetPawaClient
from odds_pipeline.bookmakers.http import BookHttp, ClientLimits
from odds_pipeline.bookmakers.sportybet import SportyBetClient
from odds_pipeline.domain import Book
from odds_pipeline.sandbox.server import RunningSandbox, SandboxOptions
from odds_pipeline.sandbox.world import WorldConfig

# Short timeouts and backoffs keep the fault tests quick; the mechanism is the same as in production.
FAST = ClientLimits(
    concurrency=8,
    pace_s=0.0,
    timeout_s=0.5,
    max_response_bytes=16 * 1024 * 1024,
    max_attempts=4,
    connect_timeout_s=0.5,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
)


@pytest.fixture
def faulty_sandbox(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    with RunningSandbox(
        SandboxOptions(world=WorldConfig(seed=11, follow_wall_clock=False), faults=request.param, hang_s=5.0)
    ) as running:
        yield running


def client_for(book: Book, url: str, limits: ClientLimits = FAST, **kwargs: object) -> BookClient:
    if book is Book.BETPAWA:
        return BetPawaClient(BookHttp(book, url, {"x-pawa-brand": "betpawa-nigeria"}, limits), **kwargs)
    if book is Book.SPORTYBET:
        return SportyBetClient(BookHttp(book, url, {}, limits))
    return Bet9jaClient.open(url, limits, startdate_zone="UTC", cache_version="1.301.2.225")
