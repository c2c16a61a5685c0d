"""Small typed records shared by every book: what a parser makes of a book's JSON.

They are frozen msgspec Structs rather than frozen dataclasses: a batch builds millions of
outcomes, and a Struct is built about ten times faster. Outcomes and lines hold only values and
other records, never cycles, so the garbage collector need not track them (``gc=False``).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from odds_pipeline.bookmakers.errors import ParseError
from odds_pipeline.domain import Book


class TournamentRecord(msgspec.Struct, frozen=True):
    book: Book
    external_id: str
    name: str
    country: str | None
    sportradar_id: str | None = None


class EventRecord(msgspec.Struct, frozen=True):
    book: Book
    external_id: str  # the id this book's full-event endpoint accepts
    sportradar_id: str | None  # bare number, e.g. "61300947"
    kickoff: datetime  # aware, UTC
    home_team: str
    away_team: str
    tournament: TournamentRecord | None = None

    @property
    def name(self) -> str:
        return f"{self.home_team} - {self.away_team}"


class OutcomeRecord(msgspec.Struct, frozen=True, gc=False):
    """One outcome of a line. An outcome the book marks off stays on its line, suspended, without a price."""

    name: str  # the book's own label, as sent: BetPawa "1", SportyBet "Over 2.5", Bet9ja suffix "O"
    odds: float | None  # decimal, > 1.0; None when the book says the outcome is off
    suspended: bool = False
    outcome_id: str | None = None  # SportyBet: the SportRadar outcome id (1/2/3, 12/13, ...)
    label: str | None = None  # the name without the line and team names the book writes into it

    @property
    def match_label(self) -> str:
        """What identifies the outcome when no id does: the label, else the name."""
        return self.name if self.label is None else self.label


class MarketLineRecord(msgspec.Struct, frozen=True, gc=False):
    """One line of one market, as the book carries it."""

    book: Book
    market_id: str  # BetPawa marketType.id, SportyBet market id, Bet9ja key without S_ (e.g. "OU")
    market_name: str | None
    outcomes: tuple[OutcomeRecord, ...]
    specifier: str | None = None  # SportyBet specifier or Bet9ja @param, verbatim
    line: float | None = None  # the total, or the home side's handicap
    handicap: str | None = None  # SportyBet's raw hcp value ("-0.5" or "0:1"); Bet9ja/BetPawa: the line
    params: tuple[tuple[str, str], ...] = ()  # parsed specifier keys, e.g. (("total", "2.5"),)
    groups: tuple[str, ...] = ()  # BetPawa tabs other than "all"
    handicap_type: str | None = None  # BetPawa's marketType.handicapType when it names one


class ParsedEvent(msgspec.Struct, frozen=True):
    """A full event: its header, every line that parsed, and what did not (nothing is dropped silently)."""

    event: EventRecord
    lines: tuple[MarketLineRecord, ...]
    problems: tuple[ParseError, ...] = ()
