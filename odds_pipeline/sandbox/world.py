"""One deterministic synthetic football world, seen through three books.

Everything follows from (seed, scale, anchor): tournaments, matches with SportRadar ids, which
book lists which match, team-name spellings, which markets each book offers on each match, and
every price at every moment of world time. A price is the book's real price for that outcome
(`templates`), moved by a spread of its own per match and by drift: a share of prices moves every
15 minutes of world time, and a share of lines is off at any moment.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from odds_pipeline.domain import WINDOW_ORIGIN, Book, floor_to_window
from odds_pipeline.sandbox.templates import MarketTemplate, templates_for

EPOCH = timedelta(minutes=15)
LISTING_HORIZON = timedelta(days=4)
NEAR_KICKOFF = timedelta(hours=24)
MATCH_SPREAD = 0.06  # each match's prices lie within ±3% of the real ones
DRIFT_SPREAD = 0.04  # a move takes a price within ±2% of its match level


class Scale(StrEnum):
    TINY = "tiny"  # a few dozen events per book: whole batches in seconds, for tests of failure modes
    DEMO = "demo"
    FULL = "full"


# (tournaments, matches in the world). About 79% of matches are on a given book and two thirds
# of kickoffs fall inside the listing horizon, which gives ~25 / ~150 / ~1,250 listed events per book.
SCALE_SIZES = {Scale.TINY: (8, 48), Scale.DEMO: (30, 285), Scale.FULL: (200, 2370)}

COUNTRIES = (
    "England", "Spain", "Italy", "Germany", "France", "Netherlands", "Portugal", "Belgium", "Turkey",
    "Scotland", "Nigeria", "Ghana", "Egypt", "South Africa", "Morocco", "Algeria", "Brazil", "Argentina",
    "Mexico", "USA", "Japan", "Korea Republic", "China", "Australia", "Sweden", "Norway", "Denmark",
    "Poland", "Czech Republic", "Austria", "Switzerland", "Greece", "Hungary", "Romania", "Croatia",
    "Serbia", "Ukraine", "Russia", "Israel", "Saudi Arabia", "Qatar", "Kenya", "Tanzania", "Colombia",
    "Chile", "Peru", "Uruguay", "Paraguay", "Ecuador", "Finland",
)  # fmt: skip
LEAGUE_NAMES = (
    "Premier League", "Championship", "League One", "Super League", "First Division", "Second Division",
    "Cup", "Women's League", "U21 League", "Reserve League", "Premier Division", "National League",
)  # fmt: skip
SYLLABLES = ("ka", "ro", "lin", "va", "mor", "den", "tu", "sa", "bel", "gra", "no", "vi", "ster", "ha", "lo")
CLUB_SUFFIXES = ("FC", "United", "City", "Athletic", "Rovers", "Sporting", "SC", "Wanderers")


def key_hash(*parts: object) -> int:
    """A deterministic 64-bit number for the given key (stable across processes, unlike hash())."""
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) for the given key."""
    return key_hash(*parts) / 2**64


_MASK = (1 << 64) - 1


def mix(base: int, salt: int) -> float:
    """A number in [0, 1) derived from a key hash and a small salt (splitmix64 finaliser): cheap per outcome."""
    z = (base + (salt + 1) * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) / 2**64


def _place_name(*key: object) -> str:
    count = 2 + int(unit("syl", *key) * 2)
    word = "".join(SYLLABLES[int(unit("s", i, *key) * len(SYLLABLES))] for i in range(count))
    return word.capitalize()


@dataclass(frozen=True)
class TournamentSpec:
    index: int
    country: str
    name: str
    sportradar_id: str

    @property
    def betpawa_id(self) -> str:
        return str(10_000 + self.index * 3)

    @property
    def betpawa_region_id(self) -> str:
        return str(100 + COUNTRIES.index(self.country))

    @property
    def sportybet_id(self) -> str:
        return f"sr:tournament:{self.sportradar_id}"

    @property
    def sportybet_category_id(self) -> str:
        return f"sr:category:{300 + COUNTRIES.index(self.country)}"

    @property
    def bet9ja_group_id(self) -> str:
        return str(170_000 + self.index * 7)

    @property
    def bet9ja_sport_group_id(self) -> str:
        return str(11_000 + COUNTRIES.index(self.country))

    def name_on(self, book: Book) -> str:
        # Bet9ja prefixes a few competitions with the country; the others use the bare name.
        if book is Book.BET9JA and self.index % 4 == 0:
            return f"{self.country} {self.name}"
        return self.name


@dataclass(frozen=True)
class Team:
    base: str
    suffix: str

    def name_on(self, book: Book) -> str:
        if book is Book.BETPAWA:
            return f"{self.base} {self.suffix}"
        if book is Book.SPORTYBET:
            return self.base if self.suffix in ("FC", "SC") else f"{self.base} {self.suffix}"
        return self.base


@dataclass(frozen=True)
class MatchSpec:
    index: int
    sportradar_id: str | None
    tournament: TournamentSpec
    kickoff: datetime
    home: Team
    away: Team
    books: frozenset[Book]

    @property
    def betpawa_id(self) -> str:
        return str(32_000_000 + self.index * 11)

    @property
    def sportybet_id(self) -> str:
        return f"sr:match:{self.sportradar_id}"

    @property
    def bet9ja_id(self) -> str:
        return str(707_000_000 + self.index * 13)

    @property
    def bet9ja_code(self) -> str:
        return str(1000 + self.index % 9000)

    def external_id(self, book: Book) -> str:
        return {
            Book.BETPAWA: self.betpawa_id,
            Book.SPORTYBET: self.sportybet_id,
            Book.BET9JA: self.bet9ja_id,
        }[book]


@dataclass(frozen=True)
class LineState:
    """A line of one book on one match at one epoch: what its prices are drawn from, and whether it is off."""

    seed: int
    epoch: int
    changed_at: int  # the latest epoch at or before ``epoch`` in which its prices moved
    off: bool


@dataclass
class WorldClock:
    """World time: the anchor plus wall time elapsed since start, plus every advance."""

    anchor: datetime
    started_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    advanced: timedelta = timedelta(0)
    follow_wall_clock: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        with self._lock:
            elapsed = datetime.now(UTC) - self.started_wall if self.follow_wall_clock else timedelta(0)
            return self.anchor + elapsed + self.advanced

    def advance(self, minutes: float) -> datetime:
        with self._lock:
            self.advanced += timedelta(minutes=minutes)
        return self.now()


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 7
    scale: Scale = Scale.DEMO
    anchor: datetime | None = None  # default: now, floored to the 15-minute window
    drift_share: float = 0.05  # share of prices that move per 15 minutes of world time
    suspend_share: float = 0.0005  # share of lines suspended at any moment
    follow_wall_clock: bool = True


ORIGIN = WINDOW_ORIGIN  # epochs are the domain's 15-minute windows


class World:
    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        anchor = config.anchor or floor_to_window(datetime.now(UTC), EPOCH)
        self.clock = WorldClock(anchor=anchor, follow_wall_clock=config.follow_wall_clock)
        self.tournaments, self.matches = self._build()
        self._by_external = {book: {m.external_id(book): m for m in self.matches if book in m.books} for book in Book}

    # --- construction ------------------------------------------------------------------------

    def _build(self) -> tuple[list[TournamentSpec], list[MatchSpec]]:
        seed = self.config.seed
        tournament_count, match_count = SCALE_SIZES[self.config.scale]
        tournaments = []
        for t in range(tournament_count):
            country = COUNTRIES[int(unit(seed, "country", t) * len(COUNTRIES))]
            league = LEAGUE_NAMES[int(unit(seed, "league", t) * len(LEAGUE_NAMES))]
            tournaments.append(TournamentSpec(t, country, league, str(100 + t * 17)))
        # Real palimpsests are skewed: a few big competitions, a long tail of small ones. The first
        # tournament is the club-friendlies bucket that runs past one BetPawa page of 100 events.
        weights = [1.0 / (1 + t) ** 0.6 for t in range(tournament_count)]
        weights[0] = sum(weights) * (0.12 if self.config.scale is Scale.FULL else 0.02)
        cumulative, acc = [], 0.0
        for w in weights:
            acc += w
            cumulative.append(acc)

        anchor = self.clock.anchor
        matches = []
        for m in range(match_count):
            pick = unit(seed, "tournament-of", m) * acc
            tournament = tournaments[next(i for i, c in enumerate(cumulative) if c >= pick)]
            kickoff = floor_to_window(anchor + timedelta(minutes=30 + unit(seed, "kickoff", m) * 6 * 24 * 60), EPOCH)
            home = Team(_place_name(seed, "home", m), CLUB_SUFFIXES[int(unit(seed, "hs", m) * len(CLUB_SUFFIXES))])
            away = Team(_place_name(seed, "away", m), CLUB_SUFFIXES[int(unit(seed, "as", m) * len(CLUB_SUFFIXES))])
            has_sportradar = unit(seed, "sr", m) >= 0.02
            matches.append(
                MatchSpec(
                    index=m,
                    sportradar_id=str(61_000_000 + m * 97 + 13) if has_sportradar else None,
                    tournament=tournament,
                    kickoff=kickoff,
                    home=home,
                    away=away,
                    books=self._books_of(m, has_sportradar),
                )
            )
        return tournaments, matches

    def _books_of(self, m: int, has_sportradar: bool) -> frozenset[Book]:
        u = unit(self.config.seed, "books", m)
        if not has_sportradar:
            # SportyBet's event id is the SportRadar id; events without one exist only elsewhere.
            return frozenset({Book.BETPAWA} if u < 0.5 else {Book.BET9JA})
        if u < 0.62:
            return frozenset(Book)
        if u < 0.76:
            pairs = (
                (Book.BETPAWA, Book.SPORTYBET),
                (Book.BETPAWA, Book.BET9JA),
                (Book.SPORTYBET, Book.BET9JA),
            )
            return frozenset(pairs[int(unit(self.config.seed, "pair", m) * 3)])
        return frozenset({tuple(Book)[int(unit(self.config.seed, "single", m) * 3)]})

    # --- what is listed now ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def is_listed(self, match: MatchSpec, book: Book, now: datetime) -> bool:
        return book in match.books and now < match.kickoff <= now + LISTING_HORIZON

    def listed_matches(self, book: Book, now: datetime | None = None) -> list[MatchSpec]:
        now = now or self.now()
        return [m for m in self.matches if self.is_listed(m, book, now)]

    def tournaments_listed(self, book: Book, now: datetime | None = None) -> dict[int, list[MatchSpec]]:
        by_tournament: dict[int, list[MatchSpec]] = {}
        for match in self.listed_matches(book, now):
            by_tournament.setdefault(match.tournament.index, []).append(match)
        return by_tournament

    def find(self, book: Book, external_id: str, now: datetime | None = None) -> MatchSpec | None:
        match = self._by_external[book].get(external_id)
        if match is None or not self.is_listed(match, book, now or self.now()):
            return None
        return match

    # --- prices ------------------------------------------------------------------------------

    def epoch(self, now: datetime) -> int:
        # Counted from a fixed origin, not from the anchor: a sandbox started later sees the prices
        # that have moved since, as a bookmaker would, instead of the same prices again.
        return (now - ORIGIN) // EPOCH

    def offered(self, book: Book, match: MatchSpec, now: datetime | None = None) -> list[MarketTemplate]:
        """The markets ``book`` offers on ``match`` in this epoch, in the order of its real answer."""
        near = match.kickoff - floor_to_window(now or self.now(), EPOCH) <= NEAR_KICKOFF
        seed = self.config.seed
        return [
            template
            for template in templates_for(book)
            if (near or not template.near_kickoff_only)
            and (
                template.presence >= 1.0
                or unit(seed, "offered", match.index, book, template.market_id) < template.presence
            )
        ]

    def line_state(self, book: Book, match: MatchSpec, key: str, now: datetime | None = None) -> LineState:
        epoch = self.epoch(now or self.now())
        line_seed = key_hash(self.config.seed, book, match.index, key)
        off = mix(line_seed, 1_000_000 + epoch) < self.config.suspend_share
        return LineState(line_seed, epoch, self._last_change(line_seed, epoch), off)

    @staticmethod
    def odds(state: LineState, position: int, real: float) -> float:
        """The price of the line's outcome at ``position``, from the book's real price for it."""
        level = 1 + MATCH_SPREAD * (mix(state.seed, position) - 0.5)
        drift = 1 + DRIFT_SPREAD * (mix(state.seed, state.changed_at * 64 + position + 1) - 0.5)
        return max(1.01, round(real * level * drift, 2))

    def _last_change(self, line_seed: int, epoch: int) -> int:
        """The latest epoch at or before ``epoch`` in which this line's prices moved."""
        share = self.config.drift_share
        if share <= 0:
            return 0
        period = max(1, round(1 / share))
        offset = int(mix(line_seed, -1) * period)
        return epoch - ((epoch + offset) % period)

    # --- ground truth ------------------------------------------------------------------------

    def truth(self, now: datetime | None = None) -> list[dict[str, str | None]]:
        """Which listings are the same match, for the events listed now."""
        now = now or self.now()
        rows = []
        for match in self.matches:
            listed = {book: self.is_listed(match, book, now) for book in Book}
            if not any(listed.values()):
                continue
            row: dict[str, str | None] = {"sportradar_id": match.sportradar_id}
            for book in Book:
                row[book.value] = match.external_id(book) if listed[book] else None
            rows.append(row)
        return rows
