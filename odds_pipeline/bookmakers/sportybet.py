"""SportyBet Nigeria: endpoints, headers and parsers (platform-apis.md §2)."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable
from typing import Any

import msgspec

from odds_pipeline.bookmakers import values
from odds_pipeline.bookmakers.base import BookClient, checked
from odds_pipeline.bookmakers.errors import (
    BookmakerError,
    MalformedResponseError,
    MissingFieldError,
    NotFoundError,
    ParseError,
)
from odds_pipeline.bookmakers.http import BookHttp, ClientLimits, RawResponse
from odds_pipeline.bookmakers.records import (
    EventRecord,
    MarketLineRecord,
    OutcomeRecord,
    ParsedEvent,
    TournamentRecord,
)
from odds_pipeline.domain import Book

BOOK = Book.SPORTYBET
FOOTBALL = "sr:sport:1"
PREMATCH_PRODUCT = 3
SUCCESS = 10000
MATCH_PREFIX = "sr:match:"
# Markets that come inline with each event of a list (1X2, O/U, DC, BTTS, DNB, odd/even, O/U & GG, 3-way hcp).
LIST_MARKETS = "1,18,10,29,11,26,36,14"
MAX_SPECIFIER_LENGTH = 1000
MAX_KNOWN_SPECIFIERS = 100_000  # a capture has a few hundred distinct ones
HEADERS = {"clientid": "web", "operid": "2", "platform": "web", "accept": "*/*", "accept-language": "en"}
# SportyBet says an outcome is off with isActive 0 and odds "0.00" (or "1.00", seen on market 900313).
SPORTYBET_OFF = (0.0, 1.0)


def _cache_buster() -> str:
    return str(int(time.time() * 1000))


def unwrap(raw: RawResponse) -> Any:
    """The ``data`` of a successful answer; bizCode other than 10000 is SportyBet's "not found / refused"."""
    payload = values.as_dict(BOOK, raw.json(), "$", raw.ref)
    if "bizCode" not in payload:
        raise MalformedResponseError(BOOK, "answer has no bizCode", ref=raw.ref)
    if payload["bizCode"] != SUCCESS:
        raise NotFoundError(BOOK, f"bizCode {payload['bizCode']}: {payload.get('message')}", ref=raw.ref)
    if "data" not in payload:
        raise MalformedResponseError(BOOK, "answer has no data", ref=raw.ref)
    return payload["data"]


class _Envelope(msgspec.Struct, gc=False):
    bizCode: Any = msgspec.UNSET
    message: Any = None
    data: msgspec.Raw = msgspec.UNSET  # type: ignore[assignment]


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def check_event(raw: RawResponse) -> None:
    """``unwrap``'s verdict on a full event, reading only its envelope (the event is parsed later)."""
    try:
        envelope = _ENVELOPE.decode(raw.body)
    except msgspec.DecodeError:
        unwrap(raw)  # not an object, or not JSON: unwrap names it
        return
    if envelope.bizCode is msgspec.UNSET:
        raise MalformedResponseError(BOOK, "answer has no bizCode", ref=raw.ref)
    if envelope.bizCode != SUCCESS:
        raise NotFoundError(BOOK, f"bizCode {envelope.bizCode}: {envelope.message}", ref=raw.ref)
    if envelope.data is msgspec.UNSET:
        raise MalformedResponseError(BOOK, "answer has no data", ref=raw.ref)


class SportyBetClient(BookClient):
    book = BOOK

    @classmethod
    def open(cls, base_url: str, limits: ClientLimits) -> SportyBetClient:
        return cls(BookHttp(BOOK, base_url, HEADERS, limits))

    async def catalogue(self) -> RawResponse:
        params = {"sportId": FOOTBALL, "timeline": "", "productId": PREMATCH_PRODUCT, "_t": _cache_buster()}
        raw = await self.http.request(
            "GET", "/api/ng/factsCenter/popularAndSportList", endpoint="catalogue", ref=FOOTBALL, params=params
        )
        return checked(raw, unwrap)

    async def event_list(self, ref: str) -> list[RawResponse]:
        body = [{"sportId": FOOTBALL, "marketId": LIST_MARKETS, "tournamentId": [[ref]]}]
        raw = await self.http.request(
            "POST", "/api/ng/factsCenter/pcEvents", endpoint="events", ref=ref, json_body=body
        )
        return [checked(raw, unwrap)]

    async def event(self, external_id: str) -> RawResponse:
        event_id = external_id if external_id.startswith(MATCH_PREFIX) else f"{MATCH_PREFIX}{external_id}"
        params = {"eventId": event_id, "productId": PREMATCH_PRODUCT, "_t": _cache_buster()}
        raw = await self.http.request("GET", "/api/ng/factsCenter/event", endpoint="event", ref=event_id, params=params)
        return checked(raw, check_event)

    def list_refs(self, catalogue: RawResponse) -> list[str]:
        return [t.external_id for t in self.parse_tournaments(catalogue)]

    def event_ids(self, event_list: RawResponse) -> list[str]:
        return [e.external_id for e in self.parse_event_list(event_list)]

    def parse_tournaments(self, catalogue: RawResponse) -> list[TournamentRecord]:
        return parse_catalogue(unwrap(catalogue))

    def parse_event_list(self, event_list: RawResponse) -> list[EventRecord]:
        return events_from_list(event_list)

    def parse_event(self, event: RawResponse) -> ParsedEvent:
        return event_from_response(event)


def events_from_list(event_list: RawResponse) -> list[EventRecord]:
    data = values.as_list(BOOK, unwrap(event_list), "data", event_list.ref)
    events = []
    for g, group in enumerate(data):
        group = values.as_dict(BOOK, group, f"data[{g}]", event_list.ref)
        for item in values.as_list(BOOK, group.get("events") or [], f"data[{g}].events", event_list.ref):
            events.append(parse_event_header(item, event_list.ref))
    return events


# The parts of a full-event answer the parser reads. msgspec decodes the answer straight into
# these and skips everything else unread (probabilities, market guides, icons: most of the bytes).
# Values stay Any: checking them is the parser's job, so a bad value costs its line, not the event.
# Decoded JSON holds no cycles, so the garbage collector need not track these (gc=False).
class _Outcome(msgspec.Struct, gc=False):
    id: Any = None
    odds: Any = None
    desc: Any = None
    isActive: Any = 1


class _Market(msgspec.Struct, gc=False):
    id: Any = None
    desc: Any = None
    name: Any = None
    specifier: Any = None
    outcomes: list[_Outcome] | None = None


class _Event(msgspec.Struct, gc=False):
    eventId: Any = None
    estimateStartTime: Any = None
    homeTeamName: Any = None
    awayTeamName: Any = None
    sport: Any = None
    markets: list[_Market] | None = None


class _Answer(msgspec.Struct, gc=False):
    bizCode: Any = None
    data: _Event | None = None


_ANSWER = msgspec.json.Decoder(_Answer)
_HEADER_FIELDS = ("eventId", "estimateStartTime", "homeTeamName", "awayTeamName", "sport")


class EventParser:
    """Parses full-event answers. One parser serves a whole capture: outcome labels repeat from event
    to event, so each desc's label is worked out once."""

    def __init__(self) -> None:
        # total as written → desc → (desc without its line, the same with regular spacing)
        self._labels: dict[str | None, dict[str, tuple[str, str]]] = {}
        self._specifiers: dict[str, tuple[tuple[tuple[str, str], ...], float | None, str | None, str | None]] = {}
        self._price = values.PriceReader(BOOK, SPORTYBET_OFF)

    def __call__(self, raw: RawResponse) -> ParsedEvent:
        try:
            answer = _ANSWER.decode(raw.body)
        except msgspec.DecodeError:
            answer = None
        event = None if answer is None or answer.bizCode != SUCCESS else answer.data
        if event is None or event.markets is None:
            # Not the usual shape somewhere: read it part by part, so only the broken part is lost.
            return self.parse(unwrap(raw), raw.ref)
        header = parse_event_header({name: getattr(event, name) for name in _HEADER_FIELDS}, raw.ref)
        return self._event(header, enumerate(event.markets))

    def parse(self, data: Any, ref: str | None = None) -> ParsedEvent:
        """A full event already decoded to Python objects (the ``data`` of the answer)."""
        header = parse_event_header(data, ref)
        markets = values.as_list(BOOK, data.get("markets"), "data.markets", header.external_id)
        return self._event(header, enumerate(markets))

    def _event(self, header: EventRecord, markets: Iterable[tuple[int, Any]]) -> ParsedEvent:
        teams = _team_words(header)
        ref = header.external_id
        lines: list[MarketLineRecord] = []
        problems: list[ParseError] = []
        # total as written → desc → its label in this event (team names as Home/Away)
        event_labels: dict[str | None, dict[str, str]] = {}
        for m, market in markets:
            try:
                if not isinstance(market, _Market):
                    market = _as_market(market, f"data.markets[{m}]", ref)
                lines.append(self._market_line(market, m, ref, teams, event_labels))
            except ParseError as problem:
                problems.append(problem)
            except BookmakerError as problem:
                problems.append(ParseError(BOOK, f"data.markets[{m}]", str(problem.args[0]), ref=ref))
        return ParsedEvent(event=header, lines=tuple(lines), problems=tuple(problems))

    def _market_line(
        self,
        market: _Market,
        m: int,
        ref: str,
        teams: list[tuple[str, str]],
        event_labels: dict[str | None, dict[str, str]],
    ) -> MarketLineRecord:
        """The line of ``market``, the m-th of the event (paths in errors are written only when one is raised)."""
        market_id = market.id
        if type(market_id) is not str or not market_id:
            market_id = values.ident(BOOK, market_id, f"data.markets[{m}].id", ref)
        specifier = market.specifier or None
        params: tuple[tuple[str, str], ...] = ()
        line = hcp = total = None
        if specifier:
            specifier = str(specifier)
            params, line, hcp, total = self._specifier(specifier, m, ref)
        labels = event_labels.get(total)
        if labels is None:
            labels = event_labels[total] = {}
        read, known = self._price, self._price.known
        outcomes = []
        # The hot loop of a capture (every outcome of every line): plain checks, each value read once.
        for o, outcome in enumerate(market.outcomes or ()):
            desc = outcome.desc
            if type(desc) is not str or not desc:
                if desc is None or desc == "":
                    raise MissingFieldError(BOOK, f"data.markets[{m}].outcomes[{o}].desc", "missing", ref=ref)
                desc = str(desc)
            active = outcome.isActive == 1
            value = outcome.odds
            odds = known.get(value) if active and type(value) is str else None
            if odds is None:
                try:
                    odds = read(value, "odds", ref, not active)
                except ParseError as problem:
                    raise problem.within(f"data.markets[{m}].outcomes[{o}]") from None
            outcome_id = outcome.id
            if outcome_id is not None and type(outcome_id) is not str:
                outcome_id = None if isinstance(outcome_id, bool) else str(outcome_id)
            label = labels.get(desc)
            if label is None:
                label = labels[desc] = self._label(desc, total, teams)
            outcomes.append(OutcomeRecord(desc, odds, not active, outcome_id, label))
        return MarketLineRecord(
            book=BOOK,
            market_id=market_id,
            market_name=market.desc or market.name,
            outcomes=tuple(outcomes),
            specifier=specifier,
            line=line,
            handicap=hcp,
            params=params,
        )

    def _label(self, desc: str, total: str | None, teams: list[tuple[str, str]]) -> str:
        """What the outcome is: the desc without its line, team names written as Home/Away."""
        labels = self._labels.get(total)
        if labels is None:
            labels = self._labels[total] = {}
        known_label = labels.get(desc)
        if known_label is None:
            known_label = labels[desc] = _without_line(desc, total)
        bare, label = known_label
        (first, first_word), (second, second_word) = teams
        if (first and first in bare) or (second and second in bare):
            if first:
                bare = bare.replace(first, first_word)
            if second:
                bare = bare.replace(second, second_word)
            label = " ".join(bare.split())
        return label

    def _specifier(
        self, specifier: str, m: int, ref: str
    ) -> tuple[tuple[tuple[str, str], ...], float | None, str | None, str | None]:
        """``parse_specifier`` plus the total as written, once per distinct specifier (of the m-th market)."""
        known = self._specifiers.get(specifier)
        if known is None:
            params, line, hcp = parse_specifier(specifier, f"data.markets[{m}].specifier", ref)
            known = (params, line, hcp, dict(params).get("total") or None)
            if len(self._specifiers) < MAX_KNOWN_SPECIFIERS:
                self._specifiers[specifier] = known
        return known


def _as_market(market: Any, path: str, ref: str) -> _Market:
    values.as_dict(BOOK, market, path, ref)
    try:
        return msgspec.convert(market, _Market)
    except msgspec.ValidationError as problem:
        raise ParseError(BOOK, path, str(problem), ref=ref) from None


def event_from_response(event: RawResponse) -> ParsedEvent:
    return EventParser()(event)


def parse_catalogue(data: Any) -> list[TournamentRecord]:
    sports = values.as_list(BOOK, values.as_dict(BOOK, data, "data").get("sportList"), "data.sportList")
    tournaments = []
    for sport in sports:
        if not isinstance(sport, dict) or sport.get("id") != FOOTBALL:
            continue
        for c, category in enumerate(values.as_list(BOOK, sport.get("categories") or [], "categories")):
            category = values.as_dict(BOOK, category, f"categories[{c}]")
            for t, item in enumerate(values.as_list(BOOK, category.get("tournaments") or [], "tournaments")):
                item = values.as_dict(BOOK, item, f"categories[{c}].tournaments[{t}]")
                external_id = values.ident(BOOK, item.get("id"), f"categories[{c}].tournaments[{t}].id")
                tournaments.append(_tournament(external_id, item, category))
    return tournaments


def _tournament(external_id: str, item: dict[str, Any], category: dict[str, Any]) -> TournamentRecord:
    """SportyBet's tournament ids are SportRadar's (sr:tournament:17): keep the bare number too."""
    prefix = "sr:tournament:"
    return TournamentRecord(
        book=BOOK,
        external_id=external_id,
        name=str(item.get("name") or ""),
        country=category.get("name"),
        sportradar_id=external_id.removeprefix(prefix) if external_id.startswith(prefix) else None,
    )


def parse_event_header(payload: Any, ref: str | None = None) -> EventRecord:
    event = values.as_dict(BOOK, payload, "data", ref)
    external_id = values.ident(BOOK, event.get("eventId"), "eventId", ref)
    sportradar_id = external_id.removeprefix(MATCH_PREFIX) if external_id.startswith(MATCH_PREFIX) else None
    kickoff = values.kickoff_epoch_ms(BOOK, event.get("estimateStartTime"), "estimateStartTime", external_id)
    home = values.require(BOOK, event, "homeTeamName", "data", external_id)
    away = values.require(BOOK, event, "awayTeamName", "data", external_id)
    tournament = None
    category = ((event.get("sport") or {}) if isinstance(event.get("sport"), dict) else {}).get("category")
    if isinstance(category, dict) and isinstance(category.get("tournament"), dict):
        raw = category["tournament"]
        tournament_id = str(raw.get("id") or "")
        if tournament_id:
            tournament = _tournament(tournament_id, raw, category)
    return EventRecord(
        book=BOOK,
        external_id=external_id,
        sportradar_id=sportradar_id if sportradar_id and sportradar_id.isdigit() else None,
        kickoff=kickoff,
        home_team=str(home),
        away_team=str(away),
        tournament=tournament,
    )


def parse_specifier(
    specifier: str, path: str, ref: str | None
) -> tuple[tuple[tuple[str, str], ...], float | None, str | None]:
    """``total=2.5`` / ``hcp=-0.5`` / ``hcp=0:1`` / ``variant=…`` / ``a=1|b=2`` → (params, line, raw hcp).

    The line is the total, or the home side's handicap: ``0:1`` (a head start of one goal for the away
    side) is -1 for home.
    """
    if len(specifier) > MAX_SPECIFIER_LENGTH:
        raise ParseError(BOOK, path, f"specifier longer than {MAX_SPECIFIER_LENGTH} characters", ref=ref)
    params = []
    for part in specifier.split("|"):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ParseError(BOOK, path, f"not key=value: {part!r}", ref=ref)
        params.append((key.strip().lower(), value.strip()))
    found = dict(params)
    line, hcp = None, None
    if "total" in found:
        line = values.line_value(BOOK, found["total"], f"{path}.total", ref)
    elif "hcp" in found:
        hcp = found["hcp"]
        if ":" in hcp:
            line = values.head_start_to_home_line(BOOK, hcp, f"{path}.hcp", ref)
        else:
            line = values.line_value(BOOK, hcp, f"{path}.hcp", ref)
    return tuple(params), line, hcp


def parse_event(data: Any, ref: str | None = None) -> ParsedEvent:
    return EventParser().parse(data, ref)


# SportyBet writes the line into each outcome's desc: "Over 2.5", "Home (-0.5)", "Home (0:1)",
# "Home & Under 1.5", and some combos name the teams: "Arsenal/draw & over 1.5".
HANDICAP_IN_DESC = re.compile(r"\s*\((?:[+-]?\d+(?:\.\d+)?|\d+:\d+)\)")
# Most descs with a "(" name a player's team, "Tony Leone (Pumas) 50+": this cheap search (a literal
# first) rules them out before the full pattern, whose leading \s* is tried at every position.
MAY_HOLD_HANDICAP = re.compile(r"\([+-]?\d")


def _team_words(header: EventRecord) -> list[tuple[str, str]]:
    """The team names as they may appear in descs, longest first, with the word that replaces them."""
    names = [(header.home_team, "Home"), (header.away_team, "Away")]
    return sorted(names, key=lambda pair: len(pair[0]), reverse=True)


@functools.lru_cache(maxsize=4096)
def _total_in_desc(total: str) -> re.Pattern[str]:
    """The total as a word of its own ("Over 2.5", not the 2.5 of "12.5"), with the space before it."""
    return re.compile(rf"\s*(?<![\w.]){re.escape(total)}(?![\w.])")


def _without_line(desc: str, total: str | None) -> tuple[str, str]:
    """The desc without its line, as is and with its spacing made regular."""
    label = HANDICAP_IN_DESC.sub("", desc) if "(" in desc and MAY_HOLD_HANDICAP.search(desc) else desc
    if total and total in label:
        label = _total_in_desc(total).sub("", label)
    if label.isprintable() and "  " not in label and label[:1] != " " and label[-1:] != " ":
        return label, label  # regular already: no whitespace but single inner spaces (other kinds are not printable)
    return label, " ".join(label.split())


def outcome_label(desc: str, params: dict[str, str], teams: list[tuple[str, str]]) -> str:
    """The desc with the line taken out and team names written as Home/Away: what the outcome is."""
    label, _ = _without_line(desc, params.get("total") or None)
    for team, word in teams:
        if team:
            label = label.replace(team, word)
    return " ".join(label.split())
