"""The one HTTP layer every book's client uses: limits, pacing, retries that really retry, a size cap.

One ``BookHttp`` per book and run: one keep-alive httpx.AsyncClient per slot, as many slots as
concurrent requests allowed, a pause after each request where the book asks for one, and retries with
exponential backoff and jitter on timeouts, connection errors, 5xx, 429 (honouring Retry-After)
and, where the book uses it that way, 403.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import heapq
import itertools
import logging
import random
import ssl
import time
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import orjson

from odds_pipeline.bookmakers.errors import (
    BookmakerRejectedError,
    BookmakerUnavailableError,
    MalformedResponseError,
    NotFoundError,
    ResponseTooLargeError,
)
from odds_pipeline.domain import Book

log = logging.getLogger(__name__)

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/144.0.0.0 Safari/537.36"
)


@dataclass(frozen=True)
class ClientLimits:
    """How hard one book may be asked: the settings' part (settings.py holds their defaults) and the
    transport's own constants."""

    concurrency: int
    pace_s: float  # pause after each request, holding the slot (Bet9ja: 25 ms)
    timeout_s: float
    max_response_bytes: int
    max_attempts: int
    connect_timeout_s: float = 5.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 10.0
    retry_after_cap_s: float = 30.0


@dataclass(frozen=True)
class RawResponse:
    """One answer, kept byte for byte: the landing store keeps these, parsers read them."""

    book: Book
    endpoint: str  # catalogue | events | event
    ref: str  # what was asked for: a competition/tournament/group id, an event id
    url: str
    status: int
    body: bytes = field(repr=False)  # a repr of hundreds of answers must not print their bodies
    fetched_at: datetime
    elapsed_ms: float
    attempts: int = 1
    rejected: str | None = None  # why the answer was refused when it arrived, e.g. "MalformedResponseError: ..."
    # The body as the book gzip-compressed it, when it did: the landing store keeps these bytes
    # as they came instead of compressing the body a second time.
    gzipped: bytes | None = field(default=None, repr=False, compare=False)
    _decoded: list[Any] = field(default_factory=list, repr=False, compare=False)
    _syntax_ok: list[bool] = field(default_factory=list, repr=False, compare=False)  # checked once, then known

    def json(self) -> Any:
        """The body decoded to Python objects (kept: lists and catalogues are read more than once)."""
        if not self._decoded:
            try:
                self._decoded.append(orjson.loads(self.body))
            except orjson.JSONDecodeError as exc:
                raise self.not_json(exc) from exc
        return self._decoded[0]

    def check_json(self) -> None:
        """That the body is JSON, without building it: a full event is read by its parser later."""
        if self._syntax_ok:
            return
        try:
            _JSON_SYNTAX.decode(self.body)
        except msgspec.DecodeError as exc:
            raise self.not_json(exc) from exc
        self._syntax_ok.append(True)

    def is_json(self) -> bool:
        try:
            self.check_json()
        except MalformedResponseError:
            return False
        return True

    def not_json(self, problem: Exception) -> MalformedResponseError:
        return MalformedResponseError(
            self.book, f"{self.endpoint} answer is not JSON ({problem})", ref=self.ref, url=self.url
        )


# Decoding into Raw checks the syntax of the whole answer and builds nothing.
_JSON_SYNTAX = msgspec.json.Decoder(msgspec.Raw)


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after_s: float | None = None, answer: RawResponse | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.answer = answer  # a 200 whose body did not decode: kept if no attempt does better


# Which requests a slot goes to first: those that name the events (the catalogue and the lists)
# before the events themselves, so that a capture knows early how many events it must fetch and
# its progress counts against the real total.
DISCOVERY_FIRST = {"catalogue": 0, "events": 0}
LATER = 1


class _Slots:
    """The book's clients, lent one per request: a client given back goes straight to the next
    request in line, by priority, then in order of asking. (An asyncio.Queue lets a request that
    has just arrived take a client before the one woken for it, which then queues again at the
    back: lists waited behind events until the capture's last seconds.)"""

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self._free = list(clients)
        self._waiting: list[tuple[int, int, asyncio.Future[httpx.AsyncClient]]] = []
        self._order = itertools.count()

    async def take(self, priority: int) -> httpx.AsyncClient:
        if self._free:  # `give` frees a client only when nobody waits for it
            return self._free.pop()
        handed: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), handed))
        try:
            return await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self.give(handed.result())  # handed over as the request was cancelled: pass it on
            raise

    def give(self, client: httpx.AsyncClient) -> None:
        while self._waiting:
            handed = heapq.heappop(self._waiting)[2]
            if not handed.done():
                handed.set_result(client)
                return
        self._free.append(client)


class BookHttp:
    def __init__(
        self,
        book: Book,
        base_url: str,
        headers: dict[str, str],
        limits: ClientLimits,
        *,
        retry_on_forbidden: bool = False,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.book = book
        self.limits = limits
        self.retry_on_forbidden = retry_on_forbidden
        self._rng = rng or random.Random()
        # One client per slot, each with one keep-alive connection: httpcore's pool looks at every
        # connection it holds on every request, which at 50 connections cost more CPU than the
        # request itself. A slot is a client taken from the queue and given back.
        # The CA bundle loads once per book, not once per client; plain http (the sandbox) needs none.
        tls = ssl.create_default_context() if base_url.startswith("https") else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._clients = [
            httpx.AsyncClient(
                base_url=base_url,
                headers={"user-agent": USER_AGENT, **headers},
                timeout=httpx.Timeout(limits.timeout_s, connect=limits.connect_timeout_s),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                follow_redirects=False,
                verify=tls,
                transport=transport,
            )
            for _ in range(limits.concurrency)
        ]
        self._slots = _Slots(self._clients)

    async def __aenter__(self) -> BookHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        ref: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> RawResponse:
        """Send one request, retrying what is worth retrying; raise a typed BookmakerError otherwise.

        Timeouts, connection errors, 5xx, 429 (and 403 where the book means "too fast") are retried,
        and so is a 200 whose body is not JSON: a truncated answer is as transient as a 502. When
        the last attempt still brings a broken body, it comes with the MalformedResponseError.
        """
        last: _Retryable | None = None
        for attempt in range(1, self.limits.max_attempts + 1):
            try:
                client = await self._slots.take(DISCOVERY_FIRST.get(endpoint, LATER))
                try:
                    return await self._attempt(client, method, path, endpoint, ref, params, json_body, attempt)
                finally:
                    try:
                        if self.limits.pace_s:
                            await asyncio.sleep(self.limits.pace_s)
                    finally:
                        self._slots.give(client)  # even when cancelled: the slot is never lost
            except _Retryable as retry:
                last = retry
                if attempt == self.limits.max_attempts:
                    break
                delay = self._backoff(attempt, retry.retry_after_s)
                log.debug("%s %s: %s; retry %d in %.2fs", self.book, ref, retry, attempt, delay)
                await asyncio.sleep(delay)
        message = f"{endpoint} failed after {self.limits.max_attempts} attempts: {last}"
        if last is not None and last.answer is not None:
            error = MalformedResponseError(self.book, message, ref=ref, endpoint=endpoint)
            error.response = replace(last.answer, rejected=error.summary)
            raise error
        raise BookmakerUnavailableError(self.book, message, ref=ref, endpoint=endpoint, path=path)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        endpoint: str,
        ref: str,
        params: Any,
        json_body: Any,
        attempt: int,
    ) -> RawResponse:
        started = time.perf_counter()
        try:
            async with client.stream(method, path, params=params, json=json_body) as response:
                status = response.status_code
                if status == 200:
                    body, gzipped = await self._read_capped(response, ref)
                else:
                    await response.aclose()
                    self._classify_failure(response, endpoint, ref)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error ({type(exc).__name__}: {exc})") from exc
        answer = RawResponse(
            book=self.book,
            endpoint=endpoint,
            ref=ref,
            url=str(response.url),
            status=status,
            body=body,
            fetched_at=datetime.now(UTC),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            attempts=attempt,
            gzipped=gzipped,
        )
        try:
            answer.check_json()
        except MalformedResponseError as exc:
            raise _Retryable(f"malformed answer ({exc.args[0]})", answer=answer) from exc
        return answer

    def _classify_failure(self, response: httpx.Response, endpoint: str, ref: str) -> None:
        status = response.status_code
        if status == 404:
            raise NotFoundError(self.book, f"{endpoint}: HTTP 404", ref=ref)
        if status == 429:
            raise _Retryable("HTTP 429", retry_after_s=self._retry_after(response))
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status == 403 and self.retry_on_forbidden:
            raise _Retryable("HTTP 403 (too fast)", retry_after_s=self._retry_after(response))
        raise BookmakerRejectedError(self.book, f"{endpoint}: HTTP {status}", ref=ref, status=status)

    async def _read_capped(self, response: httpx.Response, ref: str) -> tuple[bytes, bytes | None]:
        """The body, and the body as the book compressed it when that was gzip."""
        cap = self.limits.max_response_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLargeError(self.book, f"answer of {declared} bytes exceeds the {cap}-byte cap", ref=ref)
        if response.headers.get("content-encoding", "").strip().lower() == "gzip":
            return await self._read_gzip(response, ref, cap)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise ResponseTooLargeError(self.book, f"answer exceeds the {cap}-byte cap", ref=ref)
            chunks.append(chunk)
        return b"".join(chunks), None

    async def _read_gzip(self, response: httpx.Response, ref: str, cap: int) -> tuple[bytes, bytes]:
        """Inflate a gzip body ourselves (what httpx would do), keeping the compressed bytes too."""
        inflate = zlib.decompressobj(wbits=31)
        packed: list[bytes] = []
        chunks, size, more = [], 0, False
        try:
            async for chunk in response.aiter_raw():
                packed.append(chunk)
                if inflate.eof:  # a second member follows: rare, inflated whole below
                    more = True
                    continue
                data = inflate.decompress(chunk)
                size += len(data)
                if size > cap:
                    raise ResponseTooLargeError(self.book, f"answer exceeds the {cap}-byte cap", ref=ref)
                chunks.append(data)
            if not inflate.eof:
                raise _Retryable("truncated answer (its gzip stream ends early)")
            gzipped = b"".join(packed)
            if more or inflate.unused_data:
                body = gzip.decompress(gzipped)
                if len(body) > cap:
                    raise ResponseTooLargeError(self.book, f"answer exceeds the {cap}-byte cap", ref=ref)
                return body, gzipped
        except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
            raise _Retryable(f"broken answer (its gzip stream does not inflate: {exc})") from exc
        return b"".join(chunks), gzipped

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        if value.strip().isdigit():
            seconds = float(value)
        else:
            try:
                seconds = (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                return None
        return max(0.0, min(seconds, self.limits.retry_after_cap_s))

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        """Exponential backoff with jitter, capped; a server's Retry-After wins when it asks for longer."""
        ceiling = min(self.limits.backoff_cap_s, self.limits.backoff_base_s * 2 ** (attempt - 1))
        delay = self._rng.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after_s) if retry_after_s is not None else delay
