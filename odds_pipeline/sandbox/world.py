"""One deterministic synthetic football world, seen through three books.

Everything follows from (seed, scale, anchor): tournaments, matches with SportRadar ids, which
book lists which match, team-name spellings, and every price at every moment of world time.
Prices come from a goal model per match (true probabilities) and a margin per book; a share of
prices moves every 15 minutes of world time.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property

from odds_pipeline.domain import Book
from odds_pipeline.sandbox.inventory import Family, LineKind, MarketTemplate, templates_for

EPOCH = timedelta(minutes=15)
LISTING_HORIZON = timedelta(days=4)
NEAR_KICKOFF = timedelta(hours=24)
BOOK_MARGIN = {Book.BETPAWA: 0.060, Book.SPORTYBET: 0.055, Book.BET9JA: 0.070}
EXOTIC_MARGIN_FACTOR = 2.0


class Scale(StrEnum):
    DEMO = "demo"
    FULL = "full"


# (tournaments, matches in the world). About 79% of matches are on a given book and two thirds
# of kickoffs fall inside the listing horizon, which gives ~150 / ~1,250 listed events per book.
SCALE_SIZES = {Scale.DEMO: (30, 285), Scale.FULL: (200, 2370)}

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
    home_goals: float  # expected goals (Poisson means) of the goal model
    away_goals: float
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

    @cached_property
    def result_probabilities(self) -> tuple[float, float, float]:
        home = _poisson(self.home_goals)
        away = _poisson(self.away_goals)
        p_home = sum(home[h] * away[a] for h in range(len(home)) for a in range(len(away)) if h > a)
        p_draw = sum(home[g] * away[g] for g in range(min(len(home), len(away))))
        return p_home, p_draw, 1.0 - p_home - p_draw

    def over_probability(self, line: float) -> float:
        total = _poisson(self.home_goals + self.away_goals)
        return sum(p for goals, p in enumerate(total) if goals > line)

    @property
    def btts_probability(self) -> float:
        return (1 - math.exp(-self.home_goals)) * (1 - math.exp(-self.away_goals))


def _poisson(mean: float, top: int = 12) -> list[float]:
    return [math.exp(-mean) * mean**k / math.factorial(k) for k in range(top)]


@dataclass(frozen=True)
class PricedOutcome:
    label: str
    odds: float
    suspended: bool


@dataclass(frozen=True)
class PricedLine:
    template: MarketTemplate
    line: float | None  # total or home handicap; the index for INDEX/PLAYER lines
    outcomes: tuple[PricedOutcome, ...]


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


ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def floor_to_window(moment: datetime, window: timedelta = EPOCH) -> datetime:
    return ORIGIN + ((moment - ORIGIN) // window) * window


class World:
    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        anchor = config.anchor or floor_to_window(datetime.now(UTC))
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
            kickoff = floor_to_window(anchor + timedelta(minutes=30 + unit(seed, "kickoff", m) * 6 * 24 * 60))
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
                    home_goals=0.7 + unit(seed, "lh", m) * 1.5,
                    away_goals=0.5 + unit(seed, "la", m) * 1.3,
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

    def priced_lines(
        self, book: Book, match: MatchSpec, now: datetime | None = None, only: set[str] | None = None
    ) -> list[PricedLine]:
        """The lines ``book`` offers for ``match`` now; ``only`` restricts them to some market ids."""
        now = now or self.now()
        epoch = self.epoch(now)
        near = match.kickoff - now <= NEAR_KICKOFF
        seed = self.config.seed
        lines: list[PricedLine] = []
        for template in templates_for(book):
            if only is not None and template.market_id not in only:
                continue
            if template.near_kickoff_only and not near:
                continue
            if (
                template.presence < 1.0
                and unit(seed, "offered", match.index, book, template.market_id) >= template.presence
            ):
                continue
            values: tuple[float | None, ...]
            if template.line_kind in (LineKind.NONE, LineKind.VARIANT, LineKind.TIME):
                values = (None,)
            else:
                values = template.line_candidates[: template.lines_per_event]
            for value in values:
                lines.append(self._price(book, match, template, value, epoch))
        return lines

    def _price(
        self, book: Book, match: MatchSpec, template: MarketTemplate, line: float | None, epoch: int
    ) -> PricedLine:
        line_hash = key_hash(self.config.seed, book, match.index, template.market_id, line)
        probabilities = self._true_probabilities(match, template, line)
        margin = BOOK_MARGIN[book] * (1 if template.family is not Family.GENERIC else EXOTIC_MARGIN_FACTOR)
        changed_at = self._last_change(line_hash, epoch)
        suspended = mix(line_hash, 1_000_000 + epoch) < self.config.suspend_share
        outcomes = []
        for i, (outcome, p) in enumerate(zip(template.outcomes, probabilities, strict=True)):
            drift = 1 + 0.08 * (mix(line_hash, changed_at * 64 + i) - 0.5)
            odds = max(1.01, round(drift / (p * (1 + margin)), 2))
            outcomes.append(PricedOutcome(outcome.label, odds, suspended))
        return PricedLine(template, line, tuple(outcomes))

    def _last_change(self, line_hash: int, epoch: int) -> int:
        """The latest epoch at or before ``epoch`` in which this price moved."""
        share = self.config.drift_share
        if share <= 0:
            return 0
        period = max(1, round(1 / share))
        offset = int(mix(line_hash, -1) * period)
        return epoch - ((epoch + offset) % period)

    def _true_probabilities(self, match: MatchSpec, template: MarketTemplate, line: float | None) -> list[float]:
        labels = [o.canonical for o in template.outcomes]
        if template.family is Family.RESULT and labels == ["home", "draw", "away"]:
            return list(match.result_probabilities)
        if template.family is Family.DOUBLE_CHANCE:
            home, draw, away = match.result_probabilities
            pairs = {"home_draw": home + draw, "draw_away": draw + away, "home_away": home + away}
            if set(labels) <= set(pairs):
                return [pairs[label] for label in labels]
        if template.family is Family.TOTAL_GOALS and line is not None and labels == ["over", "under"]:
            over = match.over_probability(line)
            return [over, 1 - over]
        if template.family is Family.BTTS and labels == ["yes", "no"]:
            return [match.btts_probability, 1 - match.btts_probability]
        # Keyed without the book, so the same market is priced alike everywhere.
        shared = key_hash(self.config.seed, match.index, template.shared_key, line)
        weights = [0.25 + mix(shared, sum(map(ord, c)) * 131 + len(c)) for c in labels]
        total = sum(weights)
        return [w / total for w in weights]

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
