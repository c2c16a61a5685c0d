"""Bet9ja: endpoints, parameters and parsers (platform-apis.md §3).

STARTDATE carries no time zone. The real answers show it is written in UTC: on the same match,
Bet9ja's "2026-05-06 11:00:00" is BetPawa's 11:00Z and SportyBet's 1778065200000 ms. The zone
stays a setting, ``BET9JA_STARTDATE_TZ`` (default UTC), so a change on Bet9ja's side is one
setting away; the parser never guesses.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from odds_pipeline.bookmakers import values
from odds_pipeline.bookmakers.base import BookClient, checked
from odds_pipeline.bookmakers.errors import (
    BookmakerRejectedError,
    InvalidOddsError,
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

BOOK = Book.BET9JA
SOCCER = "1"
HEADERS = {"accept": "*/*", "accept-language": "en-GB,en-US;q=0.9,en;q=0.8"}
# Bet9ja says a selection is off with a bare "1": shown, but taking no bets.
BET9JA_OFF = (1.0,)
MAX_KEY_LENGTH = 500
EVENT_OK = ("OK", "D")  # the reference saw both codes for a successful GetEvent
MAX_KNOWN_KEYS = 200_000  # odds keys a parser remembers; a capture has a few thousand distinct ones
ODDS_KEY = re.compile(r"^S_(?P<market>[A-Z0-9\-]+)(?:@(?P<param>[^_]+))?_(?P<suffix>.+)$")


def unwrap(raw: RawResponse, accepted: tuple[str, ...] = ("OK",)) -> dict[str, Any]:
    payload = values.as_dict(BOOK, raw.json(), "$", raw.ref)
    code = payload.get("R")
    if code == "E":
        raise NotFoundError(BOOK, f'{raw.endpoint}: R == "E"', ref=raw.ref)
    if code not in accepted:
        raise BookmakerRejectedError(BOOK, f"{raw.endpoint}: unexpected R {code!r}", ref=raw.ref)
    return values.as_dict(BOOK, payload.get("D"), "D", raw.ref)


class _Envelope(msgspec.Struct, gc=False):
    R: Any = None
    D: msgspec.Raw = msgspec.UNSET  # type: ignore[assignment]


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def check_event(raw: RawResponse) -> None:
    """``unwrap``'s verdict on GetEvent's answer, reading only its envelope (the event is parsed later)."""
    try:
        envelope = _ENVELOPE.decode(raw.body)
    except msgspec.DecodeError:
        unwrap(raw, accepted=EVENT_OK)  # not an object, or not JSON: unwrap names it
        return
    if envelope.R == "E":
        raise NotFoundError(BOOK, f'{raw.endpoint}: R == "E"', ref=raw.ref)
    if envelope.R not in EVENT_OK:
        raise BookmakerRejectedError(BOOK, f"{raw.endpoint}: unexpected R {envelope.R!r}", ref=raw.ref)
    if envelope.D is msgspec.UNSET or bytes(envelope.D)[:1] != b"{":
        unwrap(raw, accepted=EVENT_OK)  # D missing or not an object: unwrap names it


class Bet9jaClient(BookClient):
    book = BOOK

    def __init__(self, http: BookHttp, *, startdate_zone: tzinfo, cache_version: str) -> None:
        super().__init__(http)
        self.startdate_zone = startdate_zone
        self.cache_version = cache_version

    @classmethod
    def open(
        cls,
        base_url: str,
        limits: ClientLimits,
        *,
        startdate_zone: str,
        cache_version: str,
    ) -> Bet9jaClient:
        # Bet9ja answers requests that come too fast with 403: worth a retry, unlike elsewhere.
        http = BookHttp(BOOK, base_url, HEADERS, limits, retry_on_forbidden=True)
        return cls(http, startdate_zone=ZoneInfo(startdate_zone), cache_version=cache_version)

    def _params(self, **params: Any) -> dict[str, Any]:
        return {**params, "v_cache_version": self.cache_version}

    async def catalogue(self) -> RawResponse:
        raw = await self.http.request(
            "GET",
            "/desktop/feapi/PalimpsestAjax/GetSports",
            endpoint="catalogue",
            ref="GetSports",
            params=self._params(DISP=0),
        )
        return checked(raw, unwrap)

    async def event_list(self, ref: str) -> list[RawResponse]:
        raw = await self.http.request(
            "GET",
            "/desktop/feapi/PalimpsestAjax/GetEventsInGroupV2",
            endpoint="events",
            ref=ref,
            params=self._params(GROUPID=ref, DISP=0, GROUPMARKETID=1),
        )
        return [checked(raw, lambda page: values.as_list(BOOK, unwrap(page).get("E"), "D.E", ref))]

    async def event(self, external_id: str) -> RawResponse:
        raw = await self.http.request(
            "GET",
            "/desktop/feapi/PalimpsestAjax/GetEvent",
            endpoint="event",
            ref=external_id,
            params=self._params(EVENTID=external_id),
        )
        return checked(raw, check_event)

    def list_refs(self, catalogue: RawResponse) -> list[str]:
        return [t.external_id for t in self.parse_tournaments(catalogue)]

    def event_ids(self, event_list: RawResponse) -> list[str]:
        items = values.as_list(BOOK, unwrap(event_list).get("E"), "D.E", event_list.ref)
        # ID is the only id GetEvent accepts (not C, not EXTID).
        return [values.ident(BOOK, (i or {}).get("ID") if isinstance(i, dict) else None, "D.E[].ID") for i in items]

    def parse_tournaments(self, catalogue: RawResponse) -> list[TournamentRecord]:
        return parse_catalogue(unwrap(catalogue))

    def parse_event_list(self, event_list: RawResponse) -> list[EventRecord]:
        return events_from_list(event_list, self.startdate_zone)

    def parse_event(self, event: RawResponse) -> ParsedEvent:
        return event_from_response(event, self.startdate_zone)


def events_from_list(event_list: RawResponse, zone: tzinfo) -> list[EventRecord]:
    items = values.as_list(BOOK, unwrap(event_list).get("E"), "D.E", event_list.ref)
    return [parse_event_header(item, zone, event_list.ref) for item in items]


def event_from_response(event: RawResponse, zone: tzinfo) -> ParsedEvent:
    return EventParser(zone)(event)


def parse_catalogue(data: dict[str, Any]) -> list[TournamentRecord]:
    palimpsest = values.as_dict(BOOK, data.get("PAL"), "D.PAL")
    soccer = palimpsest.get(SOCCER)
    if soccer is None:
        return []
    groups = values.as_dict(BOOK, values.as_dict(BOOK, soccer, "D.PAL.1").get("SG") or {}, "D.PAL.1.SG")
    tournaments = []
    for group_id, sport_group in groups.items():
        sport_group = values.as_dict(BOOK, sport_group, f"SG.{group_id}")
        members = values.as_dict(BOOK, sport_group.get("G") or {}, f"SG.{group_id}.G")
        for tournament_id, item in members.items():
            item = values.as_dict(BOOK, item, f"SG.{group_id}.G.{tournament_id}")
            tournaments.append(
                TournamentRecord(
                    book=BOOK,
                    external_id=str(tournament_id),
                    name=str(item.get("G_DESC") or ""),
                    country=sport_group.get("SG_DESC"),
                )
            )
    return tournaments


def parse_event_header(payload: Any, zone: tzinfo, ref: str | None = None) -> EventRecord:
    event = values.as_dict(BOOK, payload, "D", ref)
    external_id = values.ident(BOOK, event.get("ID"), "ID", ref)
    home, away = values.split_teams(BOOK, event.get("DS"), "DS", external_id)
    extid = str(event.get("EXTID") or "").strip()
    tournament = None
    if event.get("GID"):
        country = event.get("SG") if isinstance(event.get("SG"), str) else event.get("SGN")
        tournament = TournamentRecord(
            book=BOOK,
            external_id=str(event["GID"]),
            name=str(event.get("GN") or ""),
            country=country if isinstance(country, str) else None,
        )
    return EventRecord(
        book=BOOK,
        external_id=external_id,
        sportradar_id=extid if extid.isdigit() else None,
        kickoff=values.kickoff_local(BOOK, event.get("STARTDATE"), zone, "STARTDATE", external_id),
        home_team=home,
        away_team=away,
        tournament=tournament,
    )


# The parts of GetEvent's answer the parser reads; msgspec skips the rest (TRANS, AUX, market
# descriptions, ...) unread. Values stay Any, checked by the parser. Decoded JSON holds no cycles: gc=False.
class _MarketName(msgspec.Struct, gc=False):
    ID: Any = ""
    DS: Any = None


class _Event(msgspec.Struct, gc=False):
    ID: Any = None
    DS: Any = None
    EXTID: Any = None
    GID: Any = None
    GN: Any = None
    SG: Any = None
    SGN: Any = None
    STARTDATE: Any = None
    odds: dict[str, Any] | None = msgspec.field(default=None, name="O")
    MK: list[_MarketName] | None = None


class _Answer(msgspec.Struct, gc=False):
    R: Any = None
    D: _Event | None = None


_ANSWER = msgspec.json.Decoder(_Answer)
_HEADER_FIELDS = ("ID", "DS", "EXTID", "GID", "GN", "SG", "SGN", "STARTDATE")


class EventParser:
    """Parses full-event answers. One parser serves a whole capture: odds keys repeat from event to
    event, so each key is split into market, param and outcome once."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._keys: dict[str, tuple[tuple[str, str | None], str] | None] = {}
        self._lines: dict[str, float] = {}  # @param → its line
        self._price = values.PriceReader(BOOK, BET9JA_OFF)

    def __call__(self, raw: RawResponse) -> ParsedEvent:
        try:
            answer = _ANSWER.decode(raw.body)
        except msgspec.DecodeError:
            answer = None
        event = None if answer is None or answer.R not in EVENT_OK else answer.D
        if event is None or event.odds is None:
            # Not the usual shape somewhere: read it the slow way, which names what is wrong.
            return self.parse(unwrap(raw, accepted=EVENT_OK), raw.ref)
        header = parse_event_header({name: getattr(event, name) for name in _HEADER_FIELDS}, self.zone, raw.ref)
        names = {str(m.ID).removeprefix("S_"): m.DS for m in event.MK or ()}
        return self._event(header, event.odds, names)

    def parse(self, data: dict[str, Any], ref: str | None = None) -> ParsedEvent:
        """A full event already decoded to Python objects (the ``D`` of the answer)."""
        header = parse_event_header(data, self.zone, ref)
        odds = values.as_dict(BOOK, data.get("O"), "D.O", header.external_id)
        markets = data.get("MK") or []
        names = {str(m.get("ID", "")).removeprefix("S_"): m.get("DS") for m in markets if isinstance(m, dict)}
        return self._event(header, odds, names)

    def _key(self, key: str) -> tuple[tuple[str, str | None], str] | None:
        """``S_<MARKET>[@<PARAM>]_<OUTCOME>`` → ((market, param), outcome), or None when it is not one."""
        parsed = ODDS_KEY.match(key) if len(key) <= MAX_KEY_LENGTH else None
        split = None
        if parsed is not None:
            market, param, suffix = parsed.groups()
            split = ((market, param), suffix)
        if len(self._keys) < MAX_KNOWN_KEYS:
            self._keys[key] = split
        return split

    def _event(self, header: EventRecord, odds: dict[str, Any], names: dict[str, Any]) -> ParsedEvent:
        """``names``: market id (without S_) → its display name."""
        ref = header.external_id
        problems: list[ParseError] = []
        groups: dict[tuple[str, str | None], list[OutcomeRecord]] = {}
        broken: set[tuple[str, str | None]] = set()
        read, known, keys, unseen = self._price, self._price.known_off, self._keys, values.UNSEEN
        for key, value in odds.items():
            split = keys.get(key, unseen)  # each key is split once per capture
            if split is unseen:
                split = self._key(key)
            if split is None:
                problems.append(ParseError(BOOK, f"D.O.{key}", "not an S_<MARKET>[@<PARAM>]_<OUTCOME> key", ref=ref))
                continue
            group, suffix = split  # type: ignore[misc]
            price = known.get(value, unseen) if type(value) is str else unseen
            if price is unseen:
                try:
                    price = read(value, key, ref, may_be_off=True)
                except InvalidOddsError as problem:
                    problems.append(problem.within("D.O"))
                    broken.add(group)  # a line missing one price would give a wrong margin: drop it whole
                    continue
            outcomes = groups.get(group)
            if outcomes is None:
                outcomes = groups[group] = []
            outcomes.append(OutcomeRecord(suffix, price, price is None))
        lines = []
        known_lines = self._lines
        for group, outcomes in groups.items():
            if broken and group in broken:
                continue
            market, param = group
            line = None
            if param is not None:
                line = known_lines.get(param)
                if line is None:
                    try:
                        line = values.line_value(BOOK, param, f"D.O.S_{market}@{param}", ref)
                    except ParseError as problem:
                        problems.append(problem)
                        continue
                    if len(known_lines) < MAX_KNOWN_KEYS:
                        known_lines[param] = line
            lines.append(
                MarketLineRecord(
                    book=BOOK,
                    market_id=market,
                    market_name=names.get(market),
                    outcomes=tuple(outcomes),
                    specifier=param,
                    line=line,
                    handicap=param,
                )
            )
        return ParsedEvent(event=header, lines=tuple(lines), problems=tuple(problems))


def parse_event(data: dict[str, Any], zone: tzinfo, ref: str | None = None) -> ParsedEvent:
    return EventParser(zone).parse(data, ref)
