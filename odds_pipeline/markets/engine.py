"""The mapping engine: a book's market line as a BetPawa market line, or the typed reason it is not.

A competitor line is looked up by (book, market id or key). Each catalogue source for that market
is tried: its carrier says how the line must be written, its labels say which outcome is which.
One line can yield several BetPawa lines (Bet9ja's combined team totals split into home and away).
Nothing is matched by position, and nothing raises: every input gives a mapping or a reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from odds_pipeline.bookmakers.records import MarketLineRecord
from odds_pipeline.domain import Book
from odds_pipeline.markets import margins
from odds_pipeline.markets.catalogue import (
    Carrier,
    Catalogue,
    CatalogueEntry,
    Evidence,
    LineKind,
    OutcomeSet,
    Source,
)

# Python 3.11 finds an enum member through its class each time it is named (about 60 ns, where a
# module name takes 6): the per-line paths below name these instead.
_BETPAWA, _SPORTYBET, _BET9JA = Book.BETPAWA, Book.SPORTYBET, Book.BET9JA
_AS_SENT, _LINELESS, _VARIANT, _PARAMS = Carrier.AS_SENT, (Carrier.NONE, Carrier.FIXED), Carrier.VARIANT, Carrier.PARAMS
_GOAL_NUMBER, _TOTAL, _ASIAN, _EUROPEAN = Carrier.GOAL_NUMBER, Carrier.TOTAL, Carrier.ASIAN, Carrier.EUROPEAN
_DISAGREES = Evidence.DISAGREES


class MappingReason(StrEnum):
    UNKNOWN_MARKET = "UNKNOWN_MARKET"  # no catalogue entry knows this market id / key
    UNSUPPORTED_PLATFORM = "UNSUPPORTED_PLATFORM"  # not a book the mapper maps from
    NO_BETPAWA_EQUIVALENT = "NO_BETPAWA_EQUIVALENT"  # known market, deliberately competitor-only
    UNKNOWN_PARAM = "UNKNOWN_PARAM"  # a specifier the entry does not expect (e.g. another time range)
    BAD_LINE = "BAD_LINE"  # the line is missing, malformed, or not a valid line of its kind
    UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"  # no outcome label is known for this market
    UNCONFIRMED = "UNCONFIRMED"  # the same bet by its labels, but its prices disagreed with BetPawa's on record


# When sources disagree, report the most specific reason.
REASON_ORDER = [
    MappingReason.BAD_LINE,
    MappingReason.UNKNOWN_PARAM,
    MappingReason.UNKNOWN_OUTCOME,
    MappingReason.UNCONFIRMED,
    MappingReason.NO_BETPAWA_EQUIVALENT,
]


class MappedOutcome(msgspec.Struct, frozen=True, gc=False):
    name: str  # BetPawa's label
    odds: float | None  # None: the book marks the outcome off
    suspended: bool
    source_name: str  # the book's own label


class MappedLine(msgspec.Struct, frozen=True, gc=False):
    entry_id: str
    betpawa_market_id: str
    line: float | None
    handicap_type: LineKind | None  # asian or european for handicap markets
    outcomes: tuple[MappedOutcome, ...]
    complete: bool  # every BetPawa outcome of the market is here and none is suspended
    outcome_set: OutcomeSet

    @property
    def handicap_home(self) -> float | None:
        return self.line if self.handicap_type else None

    @property
    def handicap_away(self) -> float | None:
        return -self.line if self.handicap_type and self.line is not None else None

    @property
    def priced_set(self) -> bool:
        """Whether a margin over these outcomes means something."""
        return self.complete and self.outcome_set is OutcomeSet.EXCLUSIVE

    @property
    def margin(self) -> float | None:
        return margins.margin([o.odds for o in self.outcomes]) if self.priced_set else None

    def fair(self) -> dict[str, dict[str, float]] | None:
        if not self.priced_set:
            return None
        odds = [o.odds for o in self.outcomes]
        return {
            method: {o.name: round(p, 6) for o, p in zip(self.outcomes, fn(odds), strict=True)}
            for method, fn in margins.FAIR_METHODS.items()
        }

    def to_json(self) -> dict[str, Any]:
        margin = self.margin
        return {
            "betpawa_market_id": self.betpawa_market_id,
            "entry": self.entry_id,
            "line": self.line,
            **({"handicap": {"type": self.handicap_type.value, "home": self.line, "away": self.handicap_away}}
               if self.handicap_type else {}),
            "outcomes": [
                {"name": o.name, "odds": o.odds, **({"suspended": True} if o.suspended else {}), "from": o.source_name}
                for o in self.outcomes
            ],
            "margin": None if margin is None else round(margin, 6),
            "fair": self.fair(),
        }  # fmt: skip


class Unmapped(msgspec.Struct, frozen=True, gc=False):
    reason: MappingReason
    detail: str


class LineMapping(msgspec.Struct, frozen=True, gc=False):
    record: MarketLineRecord
    mapped: tuple[MappedLine, ...] = ()
    unmapped: Unmapped | None = None
    unknown_outcomes: tuple[str, ...] = ()  # labels of a mapped line that BetPawa has no outcome for

    @property
    def ok(self) -> bool:
        return bool(self.mapped)

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {"book": self.record.book.value, "market": self.record.market_id}
        if self.record.specifier is not None:
            head["specifier"] = self.record.specifier
        if self.record.market_name:
            head["name"] = self.record.market_name
        if self.unmapped:
            return {**head, "reason": self.unmapped.reason.value, "detail": self.unmapped.detail}
        body: dict[str, Any] = {"mapped": [m.to_json() for m in self.mapped]}
        if self.unknown_outcomes:
            body["unknown_outcomes"] = list(self.unknown_outcomes)
        return {**head, **body}


def normalize_label(book: Book, label: str) -> str:
    """Bet9ja suffixes are codes and compare exactly; display names ignore case and spacing."""
    return label if book is _BET9JA else " ".join(label.split()).casefold()


def _is_step(value: float, step: float) -> bool:
    steps = value / step  # a finite line near the float limit still overflows here
    return math.isfinite(steps) and abs(steps - round(steps)) < 1e-9


@dataclass(frozen=True, slots=True)
class _Shape:
    """What every mapped line of one entry shares, worked out once per mapper."""

    entry: CatalogueEntry
    wanted: frozenset[str]  # BetPawa's outcome names of the entry: a line with all of them active is complete
    handicap: LineKind | None  # asian or european for handicap markets

    @classmethod
    def of(cls, entry: CatalogueEntry) -> _Shape:
        handicap = entry.line_kind if entry.line_kind in (LineKind.ASIAN, LineKind.EUROPEAN) else None
        return cls(entry, frozenset(entry.betpawa_names()), handicap)

    def line(self, line: float | None, outcomes: list[MappedOutcome], active: set[str] | None = None) -> MappedLine:
        """``active``: the names of the unsuspended outcomes, when the caller has them already."""
        if active is None:
            active = {o.name for o in outcomes if not o.suspended}
        complete = bool(self.wanted) and self.wanted <= active and len(outcomes) == len(active)
        entry = self.entry
        return MappedLine(
            entry.id, entry.betpawa_id or "", line, self.handicap, tuple(outcomes), complete, entry.outcome_set
        )


@dataclass(frozen=True, slots=True)
class _Candidate:
    shape: _Shape
    source: Source
    names: dict[str, str | None]  # normalized label → BetPawa's outcome name (None: BetPawa has no such outcome)
    ids: dict[str, str | None]  # the book's outcome id → BetPawa's outcome name
    refused: Unmapped | None  # why any line of this source is refused, whatever it holds

    @classmethod
    def of(cls, shape: _Shape, source: Source) -> _Candidate:
        entry = shape.entry
        names = {normalize_label(source.book, k): entry.betpawa_name(v) for k, v in source.outcomes.items()}
        ids = {k: entry.betpawa_name(v) for k, v in source.outcome_ids.items()}
        refused = None
        if entry.betpawa_id is None:
            refused = Unmapped(MappingReason.NO_BETPAWA_EQUIVALENT, entry.note or entry.name)
        return cls(shape, source, names, ids, refused)


class MarketMapper:
    """Maps lines of any book with one catalogue (the file catalogue plus any user overrides)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._candidates: dict[tuple[Book, str], list[_Candidate]] = {}
        self._books = {source.book for entry in catalogue.entries.values() for source in entry.sources}
        self._shapes = {entry.id: _Shape.of(entry) for entry in catalogue.entries.values()}
        self._labels: dict[Book, dict[str, str]] = {book: {} for book in Book}  # label as written → normalized
        for entry in catalogue.entries.values():
            for source in entry.sources:
                candidate = _Candidate.of(self._shapes[entry.id], source)
                self._candidates.setdefault((source.book, source.market), []).append(candidate)

    def map_many(self, records: Iterable[MarketLineRecord]) -> list[LineMapping]:
        return [self.map(record) for record in records]

    def map(self, record: MarketLineRecord) -> LineMapping:
        if record.book is _BETPAWA:
            return self._map_betpawa(record)
        candidates = self._candidates.get((record.book, record.market_id))
        if not candidates:
            if record.book not in self._books:
                return LineMapping(record, unmapped=Unmapped(MappingReason.UNSUPPORTED_PLATFORM, record.book.value))
            return LineMapping(record, unmapped=_NOT_IN_CATALOGUE)
        claimed: set[int] = set()  # positions of the outcomes some candidate gave a BetPawa name
        labels = self._labels_of(record)
        params = dict(record.params) if record.params else {}
        # One candidate is the usual case, done without the general lists; a line with outcomes it
        # does not know goes on to the general case, which maps it again and names them.
        if len(candidates) == 1:
            outcome = candidates[0].refused or self._map_candidate(record, params, candidates[0], labels, claimed)
            if type(outcome) is not MappedLine:
                return LineMapping(record, unmapped=outcome)  # type: ignore[arg-type]
            if len(claimed) == len(record.outcomes):
                return LineMapping(record, mapped=(outcome,))
        failures: list[Unmapped] = []
        mapped: list[MappedLine] = []
        claimed.clear()
        for candidate in candidates:
            outcome = candidate.refused or self._map_candidate(record, params, candidate, labels, claimed)
            (mapped if type(outcome) is MappedLine else failures).append(outcome)
        if mapped:
            unknown: tuple[str, ...] = ()
            if len(claimed) < len(record.outcomes):
                unknown = tuple(o.name for i, o in enumerate(record.outcomes) if i not in claimed)
                # The book splits the result space differently: no margin over a part of it.
                mapped = [msgspec.structs.replace(m, complete=False) for m in mapped]
            return LineMapping(record, mapped=tuple(mapped), unknown_outcomes=unknown)
        failures.sort(key=lambda f: REASON_ORDER.index(f.reason))
        return LineMapping(record, unmapped=failures[0])

    def _labels_of(self, record: MarketLineRecord) -> list[str]:
        """Each outcome's label, normalized (once per distinct label the book writes)."""
        known = self._labels[record.book]
        labels = []
        for outcome in record.outcomes:
            label = outcome.name if outcome.label is None else outcome.label  # match_label, inlined: hot
            normalized = known.get(label)
            if normalized is None:
                normalized = known[label] = normalize_label(record.book, label)
            labels.append(normalized)
        return labels

    def _map_candidate(
        self,
        record: MarketLineRecord,
        params: dict[str, str],
        candidate: _Candidate,
        labels: list[str],
        claimed: set[int],
    ) -> MappedLine | Unmapped:
        entry, source = candidate.shape.entry, candidate.source
        line = resolve_line(record, params, source)
        if isinstance(line, Unmapped):
            return line
        if source.evidence is _DISAGREES:
            return Unmapped(MappingReason.UNCONFIRMED, f"{entry.id}: {source.note or 'prices disagree with BetPawa'}")
        outcomes = []
        active = set()
        ids, names = candidate.ids, candidate.names
        for position, outcome in enumerate(record.outcomes):
            # By identity, never by position: the outcome's id where the catalogue knows it, else its label.
            outcome_id = outcome.outcome_id
            name = _NO_ID if outcome_id is None else ids.get(outcome_id, _NO_ID)
            if name is _NO_ID:
                name = names.get(labels[position])
            if name is None:
                continue
            claimed.add(position)
            suspended = outcome.suspended
            outcomes.append(MappedOutcome(name, outcome.odds, suspended, outcome.name))
            if not suspended:
                active.add(name)
        if not outcomes:
            labels = ", ".join(o.name for o in record.outcomes) or "none"
            return Unmapped(MappingReason.UNKNOWN_OUTCOME, f"{entry.id}: no known label among {labels}")
        return candidate.shape.line(line, outcomes, active)

    def _map_betpawa(self, record: MarketLineRecord) -> LineMapping:
        """BetPawa is the vocabulary: its lines map onto themselves; the catalogue says what set they form."""
        if not record.market_id:
            return LineMapping(record, unmapped=Unmapped(MappingReason.UNKNOWN_MARKET, "no market id"))
        if not record.outcomes:
            return LineMapping(record, unmapped=Unmapped(MappingReason.UNKNOWN_OUTCOME, "a line without outcomes"))
        entry = self.catalogue.by_betpawa_id(record.market_id)
        outcomes = [MappedOutcome(o.name, o.odds, o.suspended, o.name) for o in record.outcomes]
        if entry is None:
            mapped = MappedLine(
                "uncatalogued", record.market_id, record.line, None, tuple(outcomes), False, OutcomeSet.EXCLUSIVE
            )
            return LineMapping(record, mapped=(mapped,))
        return LineMapping(record, mapped=(self._shapes[entry.id].line(record.line, outcomes),))


_NOT_IN_CATALOGUE = Unmapped(MappingReason.UNKNOWN_MARKET, "not in the catalogue")
_NO_ID = object()  # an outcome without an id the candidate knows (a known id may map to None)


def resolve_line(record: MarketLineRecord, params: dict[str, str], source: Source) -> float | Unmapped | None:
    """The line of ``record`` (its specifier read as ``params``) as ``source`` carries it, or why it is unreadable."""
    sent = record.specifier is not None
    carrier = source.carrier
    if carrier is _AS_SENT:
        return record.line
    if carrier in _LINELESS:
        if sent:
            return Unmapped(MappingReason.UNKNOWN_PARAM, f"{record.specifier!r} on a market without lines")
        return source.fixed_line
    if carrier is _VARIANT:
        extra = set(params) - {"variant"}
        if extra or (sent and record.book is not _SPORTYBET):
            return Unmapped(MappingReason.UNKNOWN_PARAM, f"unexpected {record.specifier!r}")
        return None
    if carrier is _PARAMS:
        if params != dict(source.params):
            return Unmapped(MappingReason.UNKNOWN_PARAM, f"{record.specifier!r} is not {dict(source.params)}")
        return source.fixed_line
    if carrier is _GOAL_NUMBER:
        goal = params.get("goalnr", "")
        if set(params) != {"goalnr"} or not goal.isdigit() or int(goal) < 1:
            return Unmapped(MappingReason.BAD_LINE, f"no goal number in {record.specifier!r}")
        return float(goal)
    if record.book is _SPORTYBET:
        return _sportybet_line(record, carrier, params)
    return _bet9ja_line(record, carrier)


def _sportybet_line(record: MarketLineRecord, carrier: Carrier, params: dict[str, str]) -> float | Unmapped:
    if carrier is _TOTAL:
        if "total" not in params or record.line is None:
            return Unmapped(MappingReason.BAD_LINE, f"no total in {record.specifier!r}")
        return _checked(record.line, 0.25, "total", minimum=0.0)
    if "hcp" not in params or record.line is None:
        return Unmapped(MappingReason.BAD_LINE, f"no hcp in {record.specifier!r}")
    european = ":" in params["hcp"]
    if carrier is _EUROPEAN and not european:
        return Unmapped(MappingReason.BAD_LINE, f"hcp={params['hcp']} is not a 3-way head start (H:A)")
    if carrier is _ASIAN and european:
        return Unmapped(MappingReason.BAD_LINE, f"hcp={params['hcp']} is a 3-way head start on a 2-way market")
    return _checked(record.line, 1.0 if european else 0.25, "handicap")


def _bet9ja_line(record: MarketLineRecord, carrier: Carrier) -> float | Unmapped:
    if record.specifier is None or record.line is None:
        return Unmapped(MappingReason.BAD_LINE, "no @param on a market with lines")
    if carrier is _TOTAL:
        return _checked(record.line, 0.25, "total", minimum=0.0)
    return _checked(record.line, 1.0 if carrier is _EUROPEAN else 0.25, "handicap")


def _checked(line: float, step: float, what: str, minimum: float | None = None) -> float | Unmapped:
    if not _is_step(line, step) or (minimum is not None and line < minimum) or abs(line) > 1000:
        return Unmapped(MappingReason.BAD_LINE, f"{what} {line} is not a valid line (step {step})")
    return line + 0.0  # -0.0 → 0.0, so a level handicap has one key
