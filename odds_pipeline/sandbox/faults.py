"""Fault injection by spec: which share of a book's requests fail, and how.

A spec is a comma list of ``[book.][endpoint.]kind=share``, e.g. ``5xx=0.05,timeout=0.01,bet9ja.403=0.02``,
``sportybet.down=1`` or ``sportybet.events.5xx=1`` (every SportyBet event list fails). Endpoints are
``catalogue``, ``events`` (the lists) and ``event`` (full events). Kinds:

- ``5xx``: an HTTP 500/502/503 answer;
- ``timeout``: the answer is held back past any sensible client timeout;
- ``malformed``: HTTP 200 with a truncated JSON body;
- ``429``: HTTP 429 with ``Retry-After: 1``;
- ``403``: a burst of HTTP 403 answers (Bet9ja's reply to requests that come too fast);
- ``slow``: the answer comes, but a second late;
- ``drift``: HTTP 200 with one field renamed (the book changed its JSON shape);
- ``down``: every request answers HTTP 503, as if the book were offline.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from odds_pipeline.domain import Book


class Fault(StrEnum):
    SERVER_ERROR = "5xx"
    TIMEOUT = "timeout"
    MALFORMED = "malformed"
    TOO_MANY_REQUESTS = "429"
    FORBIDDEN_BURST = "403"
    SLOW = "slow"
    SHAPE_DRIFT = "drift"
    DOWN = "down"


class FaultSpecError(ValueError):
    pass


FORBIDDEN_BURST_LENGTH = 3


ENDPOINTS = ("catalogue", "events", "event")
Scope = tuple[Book | None, str | None]  # (book, endpoint); None is every book or every endpoint


@dataclass
class FaultPlan:
    """Shares per scope (book and endpoint) and kind, and the state of running 403 bursts."""

    shares: dict[Scope, dict[Fault, float]] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(init=False)
    _burst_left: dict[Book, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> FaultPlan:
        shares: dict[Scope, dict[Fault, float]] = {}
        for item in filter(None, (part.strip() for part in (spec or "").split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise FaultSpecError(f"fault {item!r} has no '=share'")
            *scope, kind_name = name.split(".")
            try:
                book = Book(scope.pop(0)) if scope and scope[0] not in ENDPOINTS else None
                endpoint = scope.pop(0) if scope else None
                if scope or (endpoint is not None and endpoint not in ENDPOINTS):
                    raise ValueError(f"not [book.][endpoint.]kind: {name!r}")
                kind = Fault(kind_name)
                share = float(value)
            except ValueError as exc:
                raise FaultSpecError(f"bad fault {item!r}: {exc}") from exc
            if not 0.0 <= share <= 1.0:
                raise FaultSpecError(f"fault share must lie in [0, 1]: {item!r}")
            shares.setdefault((book, endpoint), {})[kind] = share
        return cls(shares=shares, seed=seed)

    def describe(self) -> str:
        parts = []
        for (book, endpoint), kinds in self.shares.items():
            scope = "".join(f"{part}." for part in (book and book.value, endpoint) if part)
            parts += [f"{scope}{kind.value}={share:g}" for kind, share in kinds.items()]
        return ",".join(parts)

    def draw(self, book: Book, endpoint: str | None = None) -> Fault | None:
        """The fault, if any, to inflict on this request to ``book``'s ``endpoint``; the narrowest scope wins."""
        kinds: dict[Fault, float] = {}
        for scope in ((None, None), (book, None), (None, endpoint), (book, endpoint)):
            kinds.update(self.shares.get(scope, {}))
        with self._lock:
            if kinds.get(Fault.DOWN, 0.0) >= 1.0:
                return Fault.DOWN
            if self._burst_left.get(book, 0) > 0:
                self._burst_left[book] -= 1
                return Fault.FORBIDDEN_BURST
            roll = self._rng.random()
            for kind, share in kinds.items():
                if roll < share:
                    if kind is Fault.FORBIDDEN_BURST:
                        self._burst_left[book] = FORBIDDEN_BURST_LENGTH - 1
                    return kind
                roll -= share
        return None
