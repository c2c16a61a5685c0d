"""Fault injection by spec: which share of a book's requests fail, and how.

A spec is a comma list of ``[book.]kind=share``, e.g. ``5xx=0.05,timeout=0.01,bet9ja.403=0.02`` or
``sportybet.down=1``. Kinds:

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


@dataclass
class FaultPlan:
    """Shares per book (None = every book) and kind, and the state of running 403 bursts."""

    shares: dict[Book | None, dict[Fault, float]] = field(default_factory=dict)
    seed: int = 0
    _rng: random.Random = field(init=False)
    _burst_left: dict[Book, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> FaultPlan:
        shares: dict[Book | None, dict[Fault, float]] = {}
        for item in filter(None, (part.strip() for part in (spec or "").split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise FaultSpecError(f"fault {item!r} has no '=share'")
            book_name, dot, kind_name = name.rpartition(".")
            try:
                book = Book(book_name) if dot else None
                kind = Fault(kind_name)
                share = float(value)
            except ValueError as exc:
                raise FaultSpecError(f"bad fault {item!r}: {exc}") from exc
            if not 0.0 <= share <= 1.0:
                raise FaultSpecError(f"fault share must lie in [0, 1]: {item!r}")
            shares.setdefault(book, {})[kind] = share
        return cls(shares=shares, seed=seed)

    def describe(self) -> str:
        parts = []
        for book, kinds in self.shares.items():
            parts += [f"{book.value + '.' if book else ''}{kind.value}={share:g}" for kind, share in kinds.items()]
        return ",".join(parts)

    def draw(self, book: Book) -> Fault | None:
        """The fault, if any, to inflict on this request to ``book``."""
        kinds = {**self.shares.get(None, {}), **self.shares.get(book, {})}
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
