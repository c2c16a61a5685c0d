"""Each client against the sandbox over real HTTP: the happy path, paging and every fault kind."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from odds_pipeline.bookmakers.errors import (
    BookmakerUnavailableError,
    MalformedResponseError,
    NotFoundError,
    ResponseTooLargeError,
)
from odds_pipeline.bookmakers.http import BookHttp, ClientLimits
from odds_pipeline.bookmakers.palimpsest import fetch_palimpsest
from odds_pipeline.domain import Book
from odds_pipeline_tests.bookmakers.conftest import FAST, client_for


def run(coroutine):
    return asyncio.run(coroutine)


def http_answering(handler, limits: ClientLimits = FAST) -> BookHttp:
    """A BookHttp whose answers come from ``handler``: for timing and concurrency that a server cannot pin down."""
    return BookHttp(Book.BET9JA, "http://127.0.0.1:9", {}, limits, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("book", list(Book))
def test_whole_palimpsest_matches_the_sandbox(sandbox, book: Book) -> None:
    async def go():
        async with client_for(book, sandbox.url) as client:
            return await fetch_palimpsest(client)

    capture = run(go())
    listed = sandbox.sandbox.world.listed_matches(book)
    assert capture.errors == []
    assert len(capture.events) == len(listed) > 100
    assert {r.ref for r in capture.events} == {m.external_id(book) for m in listed}


def test_betpawa_pages_past_the_page_size_until_exhausted(sandbox) -> None:
    world = sandbox.sandbox.world
    biggest = max(world.tournaments_listed(Book.BETPAWA).values(), key=len)
    competition = biggest[0].tournament.betpawa_id

    async def go():
        async with client_for(Book.BETPAWA, sandbox.url, page_size=3) as client:
            pages = await client.event_list(competition)
            return pages, [i for page in pages for i in client.event_ids(page)]

    pages, ids = run(go())
    assert len(biggest) > 3
    assert len(pages) == len(biggest) // 3 + 1
    assert sorted(ids) == sorted(m.betpawa_id for m in biggest)


@pytest.mark.parametrize(
    ("book", "missing"), [(Book.BETPAWA, "99999999"), (Book.SPORTYBET, "sr:match:1"), (Book.BET9JA, "1")]
)
def test_unknown_event_is_a_typed_not_found_without_retry(sandbox, book: Book, missing: str) -> None:
    before = sandbox.sandbox.requests[(book.value, "event")]

    async def go():
        async with client_for(book, sandbox.url) as client:
            await client.event(missing)

    with pytest.raises(NotFoundError):
        run(go())
    assert sandbox.sandbox.requests[(book.value, "event")] == before + 1


@pytest.mark.parametrize(
    ("faulty_sandbox", "book"),
    [
        ("5xx=0.3", Book.BETPAWA),
        ("429=0.3", Book.SPORTYBET),
        ("bet9ja.403=0.1", Book.BET9JA),
        ("timeout=0.05", Book.SPORTYBET),
    ],
    indirect=["faulty_sandbox"],
)
def test_transient_faults_are_retried_and_recovered(faulty_sandbox, book: Book) -> None:
    limits = ClientLimits(**{**FAST.__dict__, "max_attempts": 8})

    async def go():
        async with client_for(book, faulty_sandbox.url, limits) as client:
            return await fetch_palimpsest(client)

    capture = run(go())
    injected = sum(faulty_sandbox.sandbox.faults_injected.values())
    assert injected > 0, "the fault never fired, so nothing was tested"
    assert capture.errors == []
    assert len(capture.events) == len(faulty_sandbox.sandbox.world.listed_matches(book))


def test_retry_after_is_honoured() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json={"ok": True})

    async def go():
        async with http_answering(handler) as http:
            return await http.request("GET", "/x", endpoint="event", ref="x")

    response = run(go())
    assert response.attempts == 2
    assert calls[1] - calls[0] >= 0.95


@pytest.mark.parametrize("faulty_sandbox", ["sportybet.down=1"], indirect=True)
def test_a_book_that_stays_down_is_unavailable_after_the_retry_cap(faulty_sandbox) -> None:
    async def go():
        async with client_for(Book.SPORTYBET, faulty_sandbox.url) as client:
            return await fetch_palimpsest(client)

    capture = run(go())
    assert capture.catalogue is None
    assert [type(e) for e in capture.errors] == [BookmakerUnavailableError]
    assert faulty_sandbox.sandbox.requests[("sportybet", "catalogue")] == FAST.max_attempts


def test_nothing_listening_is_unavailable_not_a_crash() -> None:
    async def go():
        async with client_for(Book.BET9JA, "http://127.0.0.1:9") as client:
            await client.catalogue()

    with pytest.raises(BookmakerUnavailableError, match="connection error"):
        run(go())


@pytest.mark.parametrize("faulty_sandbox", ["betpawa.malformed=0.2"], indirect=True)
def test_a_malformed_answer_is_retried_like_a_5xx(faulty_sandbox) -> None:
    # At 20% malformed, four attempts leave ~0.2% of requests failed: a few hundred requests would
    # then lose one about every fourth run. Eight attempts make that about one run in two thousand.
    limits = ClientLimits(**{**FAST.__dict__, "max_attempts": 8})

    async def go():
        async with client_for(Book.BETPAWA, faulty_sandbox.url, limits) as client:
            return await fetch_palimpsest(client)

    capture = run(go())
    assert faulty_sandbox.sandbox.faults_injected[("betpawa", "malformed")] > 10
    assert capture.errors == []
    assert len(capture.events) == len(faulty_sandbox.sandbox.world.listed_matches(Book.BETPAWA))
    assert max(r.attempts for r in capture.events) > 1


def test_an_answer_still_malformed_after_the_retries_comes_with_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"D": {"O": ')

    async def go():
        async with http_answering(handler) as http:
            await http.request("GET", "/x", endpoint="event", ref="707")

    with pytest.raises(MalformedResponseError) as raised:
        run(go())
    assert raised.value.response.body == b'{"D": {"O": '
    assert raised.value.response.attempts == FAST.max_attempts
    assert raised.value.response.rejected.startswith("MalformedResponseError")


@contextmanager
def answering_gzip(content: bytes) -> Iterator[str]:
    """A server on loopback that answers every GET with ``content`` as a gzip-encoded 200."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch_once(url: str, limits: ClientLimits = FAST):
    async def go():
        async with BookHttp(Book.BET9JA, url, {}, limits) as http:
            return await http.request("GET", "/x", endpoint="event", ref="707")

    return run(go())


def test_a_gzip_answer_keeps_the_bytes_the_book_compressed(sandbox) -> None:
    async def go():
        async with client_for(Book.SPORTYBET, sandbox.url) as client:
            return await fetch_palimpsest(client)

    capture = run(go())
    assert capture.events and all(answer.gzipped for answer in capture.events)
    assert all(gzip.decompress(answer.gzipped) == answer.body for answer in capture.events)


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (lambda packed: packed[: len(packed) // 2], BookmakerUnavailableError),  # cut off mid-stream
        (lambda packed: b"\x1f\x8b garbage, not deflate", BookmakerUnavailableError),
        (lambda packed: gzip.compress(b"[" + b"0," * 2000 + b"0]"), ResponseTooLargeError),  # small, inflates big
    ],
)
def test_a_broken_or_oversized_gzip_answer_is_a_typed_error(sent, error) -> None:
    tiny = ClientLimits(**{**FAST.__dict__, "max_response_bytes": 1000})
    content = sent(gzip.compress(b'{"ok": true, "pad": "' + b"x" * 500 + b'"}'))
    with answering_gzip(content) as url, pytest.raises(error):
        fetch_once(url, tiny)


def test_a_gzip_answer_of_two_members_reads_whole() -> None:
    packed = gzip.compress(b'{"D": [1, ') + gzip.compress(b"2]}")
    with answering_gzip(packed) as url:
        answer = fetch_once(url)
    assert (answer.body, answer.gzipped) == (b'{"D": [1, 2]}', packed)


@pytest.mark.parametrize("faulty_sandbox", ["sportybet.drift=1"], indirect=True)
def test_shape_drift_is_a_typed_error(faulty_sandbox) -> None:
    async def go():
        async with client_for(Book.SPORTYBET, faulty_sandbox.url) as client:
            await client.catalogue()

    with pytest.raises(MalformedResponseError, match="no data"):
        run(go())


def test_oversized_answers_are_cut_off(sandbox) -> None:
    tiny = ClientLimits(**{**FAST.__dict__, "max_response_bytes": 1000})

    async def go():
        async with client_for(Book.BETPAWA, sandbox.url, tiny) as client:
            await client.catalogue()

    with pytest.raises(ResponseTooLargeError):
        run(go())


def test_concurrency_cap_holds() -> None:
    active, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return httpx.Response(200, json={})

    async def go():
        async with http_answering(handler, ClientLimits(**{**FAST.__dict__, "concurrency": 3})) as http:
            await asyncio.gather(*(http.request("GET", "/", endpoint="event", ref=str(i)) for i in range(20)))

    run(go())
    assert peak == 3


def test_the_lists_go_before_the_events_and_each_in_order_of_asking() -> None:
    served: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path.strip("/"))
        await asyncio.sleep(0.005)
        return httpx.Response(200, json={})

    async def go():
        async with http_answering(handler, ClientLimits(**{**FAST.__dict__, "concurrency": 1})) as http:
            events = [
                asyncio.create_task(http.request("GET", f"/e{i}", endpoint="event", ref=str(i))) for i in range(4)
            ]
            await asyncio.sleep(0)  # the first event has the one slot; the others wait for it
            lists = [
                asyncio.create_task(http.request("GET", f"/l{i}", endpoint="events", ref=str(i))) for i in range(3)
            ]
            await asyncio.gather(*events, *lists)

    run(go())
    assert served == ["e0", "l0", "l1", "l2", "e1", "e2", "e3"]


def test_a_request_cancelled_while_it_waits_for_a_slot_does_not_take_it_with_it() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(200, json={})

    async def go():
        async with http_answering(handler, ClientLimits(**{**FAST.__dict__, "concurrency": 1})) as http:
            first = asyncio.create_task(http.request("GET", "/a", endpoint="event", ref="a"))
            await asyncio.sleep(0)
            waiting = asyncio.create_task(http.request("GET", "/b", endpoint="event", ref="b"))
            later = asyncio.create_task(http.request("GET", "/c", endpoint="event", ref="c"))
            await asyncio.sleep(0.005)
            waiting.cancel()
            await first
            await asyncio.wait_for(later, timeout=5)  # the slot came back and went on to "c"
            assert waiting.cancelled()

    run(go())
