"""The canonical market catalogue: BetPawa's markets, and how each competitor carries the same bet.

BetPawa is the vocabulary. An entry is one BetPawa market type (or a competitor-only market that
has no BetPawa equivalent, kept so the reason is explicit). Each entry lists its sources: the
competitor market id or key, how that book carries the line, and which of its outcome labels is
which canonical outcome. Outcomes match by label only, never by position.

The file catalogue (`data/catalogue.json`, built by `markets.build`) is read once; rows in
user_market_mappings are layered on top at run time by `Catalogue.with_overrides`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from odds_pipeline.domain import Book

CATALOGUE_FILE = Path(__file__).with_name("data") / "catalogue.json"


class LineKind(StrEnum):
    """What the line of a market means, whatever the book calls it."""

    NONE = "none"
    TOTAL = "total"  # an over/under threshold
    ASIAN = "asian"  # 2-way handicap, as the home side's handicap
    EUROPEAN = "european"  # 3-way handicap (whole goals), as the home side's handicap
    NUMBER = "number"  # a count that names the bet: the goal of "next goal N"


class Carrier(StrEnum):
    """How one book writes the line of one market."""

    NONE = "none"  # no specifier / no @param allowed
    TOTAL = "total"  # SportyBet total=2.5, Bet9ja @2.5
    ASIAN = "asian"  # SportyBet hcp=-0.5, Bet9ja @-0.5: the home side's handicap
    EUROPEAN = "european"  # SportyBet hcp=0:1 (goals given to home:away), Bet9ja @-1 (home side)
    VARIANT = "variant"  # SportyBet variant=sr:exact_goals:6+: names the outcome set, carries no line
    PARAMS = "params"  # exact specifier values required, e.g. from=1|to=10
    FIXED = "fixed"  # no specifier: the bet is a fixed line of the entry, e.g. "to score" = over 0.5
    GOAL_NUMBER = "goal_number"  # SportyBet goalnr=N: the N-th goal
    AS_SENT = "as_sent"  # user mappings of new markets: whatever line the book sent, if any


class OutcomeSet(StrEnum):
    """Whether the outcomes of a line partition the result space (then a margin means something)."""

    EXCLUSIVE = "exclusive"
    DOUBLE = "double"  # every result wins exactly two outcomes: Double Chance and its combos
    OVERLAPPING = "overlapping"  # outcomes overlap freely: goal ranges, early payouts


class Evidence(StrEnum):
    """Why a source is believed to carry its entry's bet."""

    CHECKED = "checked"  # de-margined, it agrees with BetPawa's own prices on the recorded three-book match
    REFERENCE = "reference"  # the reference registry's; BetPawa does not offer it on the recorded match
    INFERRED = "inferred"  # by logic or key naming: no recorded answer to check it on
    DISAGREES = "disagrees"  # the same bet by its labels, but its prices disagree on the match: not mapped
    USER = "user"  # a user mapping: someone vouched for it


@dataclass(frozen=True, slots=True)
class CatalogueOutcome:
    id: str
    betpawa: str | None  # BetPawa's label; None = BetPawa has no such outcome


@dataclass(frozen=True, slots=True)
class Source:
    """One book's version of an entry's bet."""

    book: Book
    market: str  # SportyBet market id, or Bet9ja key without S_ (e.g. "OU")
    carrier: Carrier
    outcomes: Mapping[str, str]  # the book's label (without its line) → canonical outcome id
    params: Mapping[str, str] = field(default_factory=dict)  # for Carrier.PARAMS
    fixed_line: float | None = None  # for Carrier.FIXED and Carrier.PARAMS
    outcome_ids: Mapping[str, str] = field(default_factory=dict)  # SportyBet's SportRadar outcome id → outcome
    evidence: Evidence = Evidence.REFERENCE
    note: str | None = None  # what the evidence showed, when there is more to say


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    id: str
    name: str
    betpawa_id: str | None
    line_kind: LineKind
    outcomes: tuple[CatalogueOutcome, ...]
    sources: tuple[Source, ...]
    outcome_set: OutcomeSet = OutcomeSet.EXCLUSIVE
    tabs: tuple[str, ...] = ()
    origin: str = "reference"  # reference | audit | user
    note: str | None = None

    @property
    def betpawa_carrier(self) -> str:
        """Where BetPawa writes the line: the row's formattedHandicap or the prices' handicap."""
        return {
            LineKind.NONE: "none",
            LineKind.TOTAL: "price_handicap",
            LineKind.ASIAN: "home_price_handicap",
            LineKind.EUROPEAN: "row_handicap",
            LineKind.NUMBER: "row_handicap",
        }[self.line_kind]

    def betpawa_name(self, outcome_id: str) -> str | None:
        return next((o.betpawa for o in self.outcomes if o.id == outcome_id), None)

    def betpawa_names(self) -> tuple[str, ...]:
        return tuple(o.betpawa for o in self.outcomes if o.betpawa)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "betpawa_id": self.betpawa_id,
            "line_kind": self.line_kind.value,
            "betpawa_line": self.betpawa_carrier,  # derived from line_kind; written so the file says it
            "outcome_set": self.outcome_set.value,
            "tabs": list(self.tabs),
            "origin": self.origin,
            "note": self.note,
            "outcomes": [{"id": o.id, "betpawa": o.betpawa} for o in self.outcomes],
            "sources": [
                {
                    "book": s.book.value,
                    "market": s.market,
                    "carrier": s.carrier.value,
                    "outcomes": dict(s.outcomes),
                    **({"params": dict(s.params)} if s.params else {}),
                    **({"outcome_ids": dict(s.outcome_ids)} if s.outcome_ids else {}),
                    **({"fixed_line": s.fixed_line} if s.fixed_line is not None else {}),
                    "evidence": s.evidence.value,
                    **({"note": s.note} if s.note else {}),
                }
                for s in self.sources
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogueEntry:
        return cls(
            id=data["id"],
            name=data["name"],
            betpawa_id=data.get("betpawa_id"),
            line_kind=LineKind(data.get("line_kind", "none")),
            outcome_set=OutcomeSet(data.get("outcome_set", "exclusive")),
            tabs=tuple(data.get("tabs") or ()),
            origin=data.get("origin", "reference"),
            note=data.get("note"),
            outcomes=tuple(CatalogueOutcome(o["id"], o.get("betpawa")) for o in data["outcomes"]),
            sources=tuple(
                Source(
                    book=Book(s["book"]),
                    market=s["market"],
                    carrier=Carrier(s["carrier"]),
                    outcomes=dict(s["outcomes"]),
                    params=dict(s.get("params") or {}),
                    fixed_line=s.get("fixed_line"),
                    outcome_ids=dict(s.get("outcome_ids") or {}),
                    evidence=Evidence(s.get("evidence", "reference")),
                    note=s.get("note"),
                )
                for s in data["sources"]
            ),
        )


class Catalogue:
    """Entries by id and by BetPawa market id (the mapper indexes the competitor sources itself)."""

    def __init__(self, entries: Iterable[CatalogueEntry]) -> None:
        self.entries: dict[str, CatalogueEntry] = {}
        for entry in entries:
            self.entries[entry.id] = entry  # a later entry (a user override) replaces an earlier one
        self._by_betpawa: dict[str, CatalogueEntry] = {}
        for entry in self.entries.values():
            if entry.betpawa_id:
                self._by_betpawa.setdefault(entry.betpawa_id, entry)

    def __len__(self) -> int:
        return len(self.entries)

    def by_betpawa_id(self, betpawa_id: str) -> CatalogueEntry | None:
        return self._by_betpawa.get(betpawa_id)

    def with_overrides(self, overrides: Iterable[CatalogueEntry]) -> Catalogue:
        """A catalogue where each override replaces the file entry of the same id, or adds one."""
        overrides = list(overrides)
        if not overrides:
            return self
        replaced = {o.id for o in overrides}
        # An override that claims a competitor market takes it from whichever file entry had it.
        claimed = {(s.book, s.market) for o in overrides for s in o.sources}
        kept = []
        for entry in self.entries.values():
            if entry.id in replaced:
                continue
            sources = tuple(s for s in entry.sources if (s.book, s.market) not in claimed)
            kept.append(entry if sources == entry.sources else replace(entry, sources=sources))
        return Catalogue([*kept, *overrides])


@cache
def file_catalogue() -> Catalogue:
    return Catalogue(CatalogueEntry.from_json(e) for e in json.loads(CATALOGUE_FILE.read_text())["entries"])
