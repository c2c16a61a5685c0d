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
DEFAULT_CACHE_VERSION = "1.301.2.225"
HEADERS = {"accept": "*/*", "accept-language": "en-GB,en-US;q=0.9,en;q=0.8"}
DEFAULT_LIMITS = ClientLimits(concurrency=15, pace_s=0.025)
# Bet9ja says a selection is off with a bare "1": shown, but taking no bets.
BET9JA_OFF = (1.0,)
MAX_KEY_LENGTH = 500
EVENT_OK = ("OK", "D")  # the reference saw both codes for a successful GetEvent
ODDS_KEY = re.compile(r"^S_(?P<market>[A-Z0-9\-]+)(?:@(?P<param>[^_]+))?_(?P<suffix>.+)$")


def unwrap(raw: RawResponse, accepted: tuple[str, ...] = ("OK",)) -> dict[str, Any]:
    payload = values.as_dict(BOOK, raw.json(), "$", raw.ref)
    code = payload.get("R")
    if code == "E":
        raise NotFoundError(BOOK, f'{raw.endpoint}: R == "E"', ref=raw.ref)
    if code not in accepted:
        raise BookmakerRejectedError(BOOK, f"{raw.endpoint}: unexpected R {code!r}", ref=raw.ref)
    return values.as_dict(BOOK, payload.get("D"), "D", raw.ref)


class Bet9jaClient(BookClient):
    book = BOOK

    def __init__(self, http: BookHttp, *, startdate_zone: tzinfo, cache_version: str = DEFAULT_CACHE_VERSION) -> None:
        super().__init__(http)
        self.startdate_zone = startdate_zone
        self.cache_version = cache_version

    @classmethod
    def open(
        cls,
        base_url: str,
        limits: ClientLimits = DEFAULT_LIMITS,
        *,
        startdate_zone: str = "UTC",
        cache_version: str = DEFAULT_CACHE_VERSION,
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
        return checked(raw, lambda answer: unwrap(answer, accepted=EVENT_OK))

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
    return parse_event(unwrap(event, accepted=EVENT_OK), zone, event.ref)


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


def parse_event(data: dict[str, Any], zone: tzinfo, ref: str | None = None) -> ParsedEvent:
    header = parse_event_header(data, zone, ref)
    odds = values.as_dict(BOOK, data.get("O"), "D.O", header.external_id)
    names = {str(m.get("ID", "")).removeprefix("S_"): m.get("DS") for m in data.get("MK") or [] if isinstance(m, dict)}
    problems: list[ParseError] = []
    groups: dict[tuple[str, str | None], list[OutcomeRecord]] = {}
    broken: set[tuple[str, str | None]] = set()
    for key, value in odds.items():
        path = f"D.O.{key}"
        parsed = ODDS_KEY.match(key) if len(key) <= MAX_KEY_LENGTH else None
        if parsed is None:
            problems.append(ParseError(BOOK, path, "not an S_<MARKET>[@<PARAM>]_<OUTCOME> key", ref=header.external_id))
            continue
        group = (parsed["market"], parsed["param"])
        try:
            price = values.odds(BOOK, value, path, header.external_id, off_markers=BET9JA_OFF)
        except InvalidOddsError as problem:
            problems.append(problem)
            broken.add(group)  # a line missing one price would give a wrong margin: drop it whole
            continue
        groups.setdefault(group, []).append(OutcomeRecord(name=parsed["suffix"], odds=price, suspended=price is None))
    lines = []
    for (market, param), outcomes in groups.items():
        if (market, param) in broken:
            continue
        line = None
        if param is not None:
            try:
                line = values.line_value(BOOK, param, f"D.O.S_{market}@{param}", header.external_id)
            except ParseError as problem:
                problems.append(problem)
                continue
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
