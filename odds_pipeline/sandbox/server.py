"""The sandbox's HTTP server: the nine bookmaker endpoints and the control endpoints, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import json
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odds_pipeline.domain import Book
from odds_pipeline.sandbox import payloads
from odds_pipeline.sandbox.faults import Fault, FaultPlan, FaultSpecError
from odds_pipeline.sandbox.world import MatchSpec, World, WorldConfig

BETPAWA_BRAND = "betpawa-nigeria"
SLOW_EXTRA_S = 1.0
# Renames that "drift" applies, one per book: the kind of change that silently broke the reference.
SHAPE_DRIFT = {
    Book.BETPAWA: ("markets", "marketList"),
    Book.SPORTYBET: ("data", "payload"),
    Book.BET9JA: ("D", "DATA"),
}


@dataclass(frozen=True)
class Packed:
    """An answer already serialized and gzip-compressed, as a book's server sends it."""

    gzipped: bytes


@dataclass
class SandboxOptions:
    world: WorldConfig = field(default_factory=WorldConfig)
    latency_ms: float = 0.0
    faults: str | None = None
    hang_s: float = 60.0  # how long a "timeout" fault holds the answer back
    bet9ja_timezone: str = "UTC"  # the zone Bet9ja's STARTDATE is written in


class Sandbox:
    """The world, the fault plan and the request counters behind the HTTP routes."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.world = World(options.world)
        self.faults = FaultPlan.parse(options.faults, seed=options.world.seed)
        self.bet9ja_zone = ZoneInfo(options.bet9ja_timezone)
        self.requests: Counter[tuple[str, str]] = Counter()
        self._events: dict[tuple[Book, int], tuple[int, Packed]] = {}  # the latest epoch's answer per event
        self.rendered: Counter[str] = Counter()  # full events rendered, per book
        self.render_s = 0.0  # time spent rendering them
        self.faults_injected: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------

    def packed_event(self, book: Book, match: MatchSpec, build: Callable[[], Any]) -> Packed:
        """A full event's answer, rendered once per world epoch: prices only move between epochs."""
        epoch = self.world.epoch(self.world.now())
        cached = self._events.get((book, match.index))
        if cached is None or cached[0] != epoch:
            started = time.perf_counter()
            cached = (epoch, Packed(gzip.compress(orjson.dumps(build()), compresslevel=1, mtime=0)))
            self._events[(book, match.index)] = cached
            self.rendered[book.value] += 1
            self.render_s += time.perf_counter() - started
        return cached[1]

    def full_event(self, book: Book, match: MatchSpec) -> Packed:
        if book is Book.BETPAWA:
            return self.packed_event(book, match, lambda: payloads.betpawa_event(self.world, match))
        if book is Book.SPORTYBET:
            return self.packed_event(book, match, lambda: payloads.sportybet_event(self.world, match))
        return self.packed_event(book, match, lambda: payloads.bet9ja_event(self.world, match, self.bet9ja_zone))

    def render_ahead(self) -> dict[str, Any]:
        """Render every listed event's answer for the current epoch now, as a book's servers have
        theirs ready: a benchmark then measures the pipeline, not the stand-in's rendering."""
        started, before = time.perf_counter(), sum(self.rendered.values())
        now = self.world.now()
        for book in Book:
            for match in self.world.listed_matches(book, now):
                self.full_event(book, match)
        return {"rendered": sum(self.rendered.values()) - before, "seconds": round(time.perf_counter() - started, 3)}

    async def answer(self, request: Request, book: Book, endpoint: str, render: Any) -> Response:
        """Count the request, wait the configured latency, inject a fault or render the payload."""
        with self._lock:
            self.requests[(book.value, endpoint)] += 1
        fault = self.faults.draw(book, endpoint)
        if fault is not None:
            with self._lock:
                self.faults_injected[(book.value, fault.value)] += 1
        delay = self.options.latency_ms / 1000
        if fault is Fault.SLOW:
            delay += SLOW_EXTRA_S
        if fault is Fault.TIMEOUT:
            delay += self.options.hang_s
        if delay:
            await asyncio.sleep(delay)
        if fault in (Fault.SERVER_ERROR, Fault.DOWN):
            status = 503 if fault is Fault.DOWN else (500, 502, 503)[self.requests[(book.value, endpoint)] % 3]
            return Response("upstream unavailable", status_code=status, media_type="text/plain")
        if fault is Fault.TOO_MANY_REQUESTS:
            return Response("slow down", status_code=429, headers={"Retry-After": "1"}, media_type="text/plain")
        if fault is Fault.FORBIDDEN_BURST:
            return Response("<html><body>403 Forbidden</body></html>", status_code=403, media_type="text/html")

        result = render()
        if isinstance(result, Response):
            return result
        if isinstance(result, Packed):
            if fault is None and "gzip" in request.headers.get("accept-encoding", ""):
                return Response(result.gzipped, media_type="application/json", headers={"content-encoding": "gzip"})
            body = gzip.decompress(result.gzipped)
        else:
            body = orjson.dumps(result)
        if fault is Fault.MALFORMED:
            body = body[: max(1, len(body) // 2)]
        elif fault is Fault.SHAPE_DRIFT:
            old, new = SHAPE_DRIFT[book]
            body = body.replace(f'"{old}":'.encode(), f'"{new}":'.encode(), 1)
        return Response(body, media_type="application/json")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            requests: dict[str, dict[str, int]] = {}
            for (book, endpoint), count in sorted(self.requests.items()):
                requests.setdefault(book, {})[endpoint] = count
            faults: dict[str, dict[str, int]] = {}
            for (book, kind), count in sorted(self.faults_injected.items()):
                faults.setdefault(book, {})[kind] = count
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "world_time": self.world.now().isoformat(),
            # What the stand-in itself cost: its process's CPU (meaningful when it has a process of its
            # own, as in the benchmarks) and the time spent rendering full events.
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "rendered": dict(self.rendered),
            "render_s": round(self.render_s, 3),
            "requests": requests,
            "totals": {book: sum(v.values()) for book, v in requests.items()},
            "faults_injected": faults,
            "faults": self.faults.describe(),
        }

    # --- BetPawa ---------------------------------------------------------------------------

    async def betpawa_catalogue(self, request: Request) -> Response:
        if (denied := self._betpawa_brand_missing(request)) is not None:
            return denied
        if request.path_params["category_id"] != "2":
            return await self.answer(request, Book.BETPAWA, "catalogue", lambda: {"withRegions": []})
        return await self.answer(request, Book.BETPAWA, "catalogue", lambda: payloads.betpawa_catalogue(self.world))

    async def betpawa_event_list(self, request: Request) -> Response:
        if (denied := self._betpawa_brand_missing(request)) is not None:
            return denied
        try:
            query = json.loads(request.query_params["q"])["queries"][0]
            competition = str(query["query"]["zones"]["competitions"][0])
            skip, take = int(query.get("skip", 0)), int(query.get("take", 20))
        except (KeyError, IndexError, TypeError, ValueError):
            return JSONResponse({"message": "invalid query"}, status_code=400)
        return await self.answer(
            request, Book.BETPAWA, "events", lambda: payloads.betpawa_event_list(self.world, competition, skip, take)
        )

    async def betpawa_event(self, request: Request) -> Response:
        if (denied := self._betpawa_brand_missing(request)) is not None:
            return denied

        def render() -> Any:
            match = self.world.find(Book.BETPAWA, request.path_params["event_id"])
            if match is None:
                return JSONResponse({"message": "event not found"}, status_code=404)
            return self.full_event(Book.BETPAWA, match)

        return await self.answer(request, Book.BETPAWA, "event", render)

    @staticmethod
    def _betpawa_brand_missing(request: Request) -> Response | None:
        if request.headers.get("x-pawa-brand") != BETPAWA_BRAND:
            return JSONResponse({"message": "unknown brand"}, status_code=400)
        return None

    # --- SportyBet -------------------------------------------------------------------------

    async def sportybet_catalogue(self, request: Request) -> Response:
        sport = request.query_params.get("sportId")
        if sport != "sr:sport:1":
            return await self.answer(
                request, Book.SPORTYBET, "catalogue", lambda: payloads.sportybet_failure("unknown sport")
            )
        return await self.answer(request, Book.SPORTYBET, "catalogue", lambda: payloads.sportybet_catalogue(self.world))

    async def sportybet_pc_events(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            tournament_ids = [str(t) for group in body[0]["tournamentId"] for t in group]
            market_ids = set(str(body[0].get("marketId", "")).split(","))
        except (ValueError, KeyError, IndexError, TypeError):
            return await self.answer(
                request, Book.SPORTYBET, "events", lambda: payloads.sportybet_failure("invalid request", 4000)
            )
        return await self.answer(
            request,
            Book.SPORTYBET,
            "events",
            lambda: payloads.sportybet_pc_events(self.world, tournament_ids, market_ids),
        )

    async def sportybet_event(self, request: Request) -> Response:
        def render() -> Any:
            event_id = request.query_params.get("eventId", "")
            match = self.world.find(Book.SPORTYBET, event_id) if event_id.startswith("sr:match:") else None
            if match is None:
                return payloads.sportybet_failure("Event does not exist")
            return self.full_event(Book.SPORTYBET, match)

        return await self.answer(request, Book.SPORTYBET, "event", render)

    # --- Bet9ja ----------------------------------------------------------------------------

    async def bet9ja_catalogue(self, request: Request) -> Response:
        return await self.answer(request, Book.BET9JA, "catalogue", lambda: payloads.bet9ja_catalogue(self.world))

    async def bet9ja_group_events(self, request: Request) -> Response:
        group_id = request.query_params.get("GROUPID", "")

        def render() -> Any:
            return payloads.bet9ja_group_events(self.world, group_id, self.bet9ja_zone) or payloads.bet9ja_not_found()

        return await self.answer(request, Book.BET9JA, "events", render)

    async def bet9ja_event(self, request: Request) -> Response:
        def render() -> Any:
            match = self.world.find(Book.BET9JA, request.query_params.get("EVENTID", ""))
            if match is None:
                return payloads.bet9ja_not_found()
            return self.full_event(Book.BET9JA, match)

        return await self.answer(request, Book.BET9JA, "event", render)

    # --- control ---------------------------------------------------------------------------

    async def control_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats())

    async def control_truth(self, request: Request) -> Response:
        return JSONResponse({"world_time": self.world.now().isoformat(), "matches": self.world.truth()})

    async def control_advance(self, request: Request) -> Response:
        try:
            minutes = float(request.query_params["minutes"])
        except (KeyError, ValueError):
            return JSONResponse({"error": "minutes=N is required"}, status_code=400)
        return JSONResponse({"world_time": self.world.clock.advance(minutes).isoformat()})

    async def control_render_ahead(self, request: Request) -> Response:
        return JSONResponse(self.render_ahead())  # holds the loop: no request is served half-rendered

    async def control_faults(self, request: Request) -> Response:
        try:
            self.faults = FaultPlan.parse(request.query_params.get("spec", ""), seed=self.options.world.seed)
        except FaultSpecError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"faults": self.faults.describe()})

    def app(self) -> Starlette:
        bp, sb, b9 = "/api/sportsbook/v3", "/api/ng/factsCenter", "/desktop/feapi/PalimpsestAjax"
        return Starlette(
            routes=[
                Route(f"{bp}/categories/list/{{category_id}}", self.betpawa_catalogue),
                Route(f"{bp}/events/lists/by-queries", self.betpawa_event_list),
                Route(f"{bp}/events/{{event_id}}", self.betpawa_event),
                Route(f"{sb}/popularAndSportList", self.sportybet_catalogue),
                Route(f"{sb}/pcEvents", self.sportybet_pc_events, methods=["POST"]),
                Route(f"{sb}/event", self.sportybet_event),
                Route(f"{b9}/GetSports", self.bet9ja_catalogue),
                Route(f"{b9}/GetEventsInGroupV2", self.bet9ja_group_events),
                Route(f"{b9}/GetEvent", self.bet9ja_event),
                Route("/__sandbox/stats", self.control_stats),
                Route("/__sandbox/truth", self.control_truth),
                Route("/__sandbox/advance", self.control_advance, methods=["POST"]),
                Route("/__sandbox/faults", self.control_faults, methods=["POST"]),
                Route("/__sandbox/render-ahead", self.control_render_ahead, methods=["POST"]),
            ]
        )


def _uvicorn_config(sandbox: Sandbox, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        sandbox.app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=2048,
        timeout_keep_alive=60,
        timeout_graceful_shutdown=1,
        lifespan="off",
    )


def serve(options: SandboxOptions, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.Server(_uvicorn_config(Sandbox(options), port)).run()


class RunningSandbox:
    """A sandbox served from a background thread of this process (tests and in-process demos)."""

    def __init__(self, options: SandboxOptions, port: int = 0) -> None:
        self.sandbox = Sandbox(options)
        self._server = uvicorn.Server(_uvicorn_config(self.sandbox, port))
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    def __enter__(self) -> RunningSandbox:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    @property
    def port(self) -> int:
        return self._server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
