"""BetPawa Nigeria: endpoints, headers, paging and parsers (platform-apis.md §1)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from odds_pipeline.bookmakers import values
from odds_pipeline.bookmakers.base import BookClient, checked
from odds_pipeline.bookmakers.errors import BookmakerError, MalformedResponseError, MissingFieldError, ParseError
from odds_pipeline.bookmakers.http import BookHttp, ClientLimits, RawResponse
from odds_pipeline.bookmakers.records import (
    EventRecord,
    MarketLineRecord,
    OutcomeRecord,
    ParsedEvent,
    TournamentRecord,
)
from odds_pipeline.domain import Book

BOOK = Book.BETPAWA
FOOTBALL_CATEGORY = "2"
PAGE_SIZE = 100
HEADERS = {
    "x-pawa-brand": "betpawa-nigeria",
    "devicetype": "web",
    "accept": "*/*",
    "accept-language": "en-GB,en-US;q=0.9,en;q=0.8",
}
# BetPawa says an outcome is off with a price of 0 on a suspended price.
BETPAWA_OFF = (0.0,)


def events_query(competition_id: str, skip: int, take: int) -> str:
    query = {
        "queries": [
            {
                "query": {
                    "eventType": "UPCOMING",
                    "categories": [FOOTBALL_CATEGORY],
                    "zones": {"competitions": [competition_id]},
                    "hasOdds": True,
                },
                "view": {},
                "skip": skip,
                "take": take,
            }
        ]
    }
    return json.dumps(query, separators=(",", ":"))


class BetPawaClient(BookClient):
    book = BOOK

    def __init__(self, http: BookHttp, page_size: int = PAGE_SIZE) -> None:
        super().__init__(http)
        self.page_size = page_size

    @classmethod
    def open(cls, base_url: str, limits: ClientLimits, **kwargs: Any) -> BetPawaClient:
        return cls(BookHttp(BOOK, base_url, HEADERS, limits), **kwargs)

    async def catalogue(self) -> RawResponse:
        path = f"/api/sportsbook/v3/categories/list/{FOOTBALL_CATEGORY}"
        return await self.http.request("GET", path, endpoint="catalogue", ref=FOOTBALL_CATEGORY)

    async def event_list(self, ref: str) -> list[RawResponse]:
        """Every page of one competition: the reference read only the first 100 events."""
        pages: list[RawResponse] = []
        skip = 0
        while True:
            page = await self.http.request(
                "GET",
                "/api/sportsbook/v3/events/lists/by-queries",
                endpoint="events",
                ref=f"{ref}@{skip}",
                params={"q": events_query(ref, skip, self.page_size)},
            )
            pages.append(checked(page, lambda answer: _list_items(answer.json(), answer.ref)))
            count = len(_list_items(page.json(), page.ref))
            if count < self.page_size:
                return pages
            skip += count

    async def event(self, external_id: str) -> RawResponse:
        return await self.http.request(
            "GET", f"/api/sportsbook/v3/events/{external_id}", endpoint="event", ref=external_id
        )

    def list_refs(self, catalogue: RawResponse) -> list[str]:
        return [t.external_id for t in self.parse_tournaments(catalogue)]

    def event_ids(self, event_list: RawResponse) -> list[str]:
        items = _list_items(event_list.json(), event_list.ref)
        return [values.ident(BOOK, item.get("id") if isinstance(item, dict) else None, "event.id") for item in items]

    def parse_tournaments(self, catalogue: RawResponse) -> list[TournamentRecord]:
        return parse_catalogue(catalogue.json())

    def parse_event_list(self, event_list: RawResponse) -> list[EventRecord]:
        return events_from_list(event_list)

    def parse_event(self, event: RawResponse) -> ParsedEvent:
        return event_from_response(event)


def events_from_list(event_list: RawResponse) -> list[EventRecord]:
    return [parse_event_header(item, event_list.ref) for item in _list_items(event_list.json(), event_list.ref)]


def event_from_response(event: RawResponse) -> ParsedEvent:
    return EventParser()(event)


def _list_items(payload: Any, ref: str | None) -> list[Any]:
    responses = values.as_list(BOOK, values.as_dict(BOOK, payload, "$", ref).get("responses"), "responses", ref)
    if not responses:
        return []
    first = values.as_dict(BOOK, responses[0], "responses[0]", ref)
    return values.as_list(BOOK, first.get("responses", []), "responses[0].responses", ref)


def parse_catalogue(payload: Any) -> list[TournamentRecord]:
    with_regions = values.as_list(BOOK, values.as_dict(BOOK, payload, "$").get("withRegions"), "withRegions")
    if not with_regions:
        raise MalformedResponseError(BOOK, "withRegions is empty")
    tournaments = []
    regions = values.as_dict(BOOK, with_regions[0], "withRegions[0]").get("regions", [])
    for r, region in enumerate(values.as_list(BOOK, regions, "withRegions[0].regions")):
        region = values.as_dict(BOOK, region, f"regions[{r}]")
        country = (region.get("region") or {}).get("name")
        for c, item in enumerate(values.as_list(BOOK, region.get("competitions", []), f"regions[{r}].competitions")):
            competition = values.as_dict(BOOK, (item or {}).get("competition"), f"regions[{r}].competitions[{c}]")
            tournaments.append(
                TournamentRecord(
                    book=BOOK,
                    external_id=values.ident(BOOK, competition.get("id"), "competition.id"),
                    name=str(competition.get("name") or ""),
                    country=country,
                )
            )
    return tournaments


def _sportradar_id(event: dict[str, Any], ref: str | None = None) -> str | None:
    for widget in values.as_list(BOOK, event.get("widgets") or [], "widgets", ref):
        if isinstance(widget, dict) and widget.get("type") == "SPORTRADAR" and widget.get("id"):
            return str(widget["id"]).strip()
    return None


def parse_event_header(payload: Any, ref: str | None = None) -> EventRecord:
    event = values.as_dict(BOOK, payload, "event", ref)
    external_id = values.ident(BOOK, event.get("id"), "id", ref)
    kickoff = values.kickoff_iso(BOOK, event.get("startTime"), "startTime", external_id)
    teams = {}
    participants = event.get("participants")
    for participant in participants if isinstance(participants, list) else []:
        if isinstance(participant, dict) and participant.get("position") in (1, 2) and participant.get("name"):
            teams[participant["position"]] = str(participant["name"])
    if len(teams) == 2:
        home, away = teams[1], teams[2]
    else:
        home, away = values.split_teams(BOOK, event.get("name"), "name", external_id)
    competition = event.get("competition") if isinstance(event.get("competition"), dict) else {}
    region = event.get("region") if isinstance(event.get("region"), dict) else {}
    tournament = None
    if competition.get("id") is not None:
        tournament = TournamentRecord(
            book=BOOK,
            external_id=str(competition["id"]),
            name=str(competition.get("name") or ""),
            country=region.get("name"),
        )
    return EventRecord(
        book=BOOK,
        external_id=external_id,
        sportradar_id=_sportradar_id(event, external_id),
        kickoff=kickoff,
        home_team=home,
        away_team=away,
        tournament=tournament,
    )


# The parts of a full event the parser reads; msgspec skips the rest unread. Values stay Any,
# checked by the parser. Decoded JSON holds no cycles: gc=False.
class _Price(msgspec.Struct, gc=False):
    name: Any = None
    price: Any = None
    suspended: Any = None
    handicap: Any = None


class _Row(msgspec.Struct, gc=False):
    formattedHandicap: Any = None
    prices: list[_Price] | None = None


class _MarketType(msgspec.Struct, gc=False):
    id: Any = None
    displayName: Any = None
    name: Any = None
    tabs: Any = None
    handicapType: Any = None


class _Market(msgspec.Struct, gc=False):
    marketType: _MarketType | None = None
    row: list[_Row] | None = None


class _Event(msgspec.Struct, gc=False):
    id: Any = None
    startTime: Any = None
    name: Any = None
    participants: Any = None
    competition: Any = None
    region: Any = None
    widgets: Any = None
    markets: list[_Market] | None = None


_EVENT = msgspec.json.Decoder(_Event)
_HEADER_FIELDS = ("id", "startTime", "name", "participants", "competition", "region", "widgets")


class EventParser:
    """Parses full-event answers; one parser serves a whole capture and remembers the prices it read."""

    def __init__(self) -> None:
        self._price = values.PriceReader(BOOK, BETPAWA_OFF)

    def __call__(self, raw: RawResponse) -> ParsedEvent:
        try:
            event = _EVENT.decode(raw.body)
        except msgspec.DecodeError:
            event = None
        if event is None or event.markets is None:
            # Not the usual shape somewhere: read it part by part, so only the broken part is lost.
            return self.parse(raw.json(), raw.ref)
        header = parse_event_header({name: getattr(event, name) for name in _HEADER_FIELDS}, raw.ref)
        return self._event(header, enumerate(event.markets))

    def parse(self, payload: Any, ref: str | None = None) -> ParsedEvent:
        """A full event already decoded to Python objects."""
        header = parse_event_header(payload, ref)
        markets = values.as_list(BOOK, payload.get("markets"), "markets", header.external_id)
        return self._event(header, enumerate(markets))

    def _event(self, header: EventRecord, markets: Iterable[tuple[int, Any]]) -> ParsedEvent:
        ref = header.external_id
        lines: list[MarketLineRecord] = []
        problems: list[ParseError] = []
        for m, market in markets:
            path = f"markets[{m}]"
            try:
                if not isinstance(market, _Market):
                    market = _as_market(market, path, ref, problems)
                lines.extend(self._market_lines(market, path, ref, problems))
            except ParseError as problem:
                problems.append(problem)
            except BookmakerError as problem:  # a market of the wrong shape: name it, keep the rest
                problems.append(ParseError(BOOK, path, str(problem.args[0]), ref=ref))
        return ParsedEvent(event=header, lines=tuple(lines), problems=tuple(problems))

    def _market_lines(self, market: _Market, path: str, ref: str, problems: list[ParseError]) -> list[MarketLineRecord]:
        """The market's lines. BetPawa's rows are display rows: the rows of one line (Correct Score spans
        many, "1X2 and Totals" has one row of overs and one of unders per total) form one outcome set.
        A line with a bad value is reported in ``problems`` and left out whole, so no margin is taken
        over a part of it.
        """
        market_type = market.marketType
        if market_type is None:
            raise MissingFieldError(BOOK, f"{path}.marketType", "missing", ref=ref)
        market_id = values.ident(BOOK, market_type.id, f"{path}.marketType.id", ref)
        name = market_type.displayName or market_type.name
        tabs = values.as_list(BOOK, market_type.tabs or [], f"{path}.marketType.tabs", ref)
        groups = tuple(str(t) for t in tabs if t != "all")
        handicap_type = market_type.handicapType or None
        lines: dict[float | None, tuple[str | None, list[OutcomeRecord]]] = {}
        broken: set[float | None] = set()
        read = self._price
        for r, row in enumerate(market.row or ()):
            prices = row.prices or ()
            try:
                raw_line = _row_line(row, prices, handicap_type)
                line = None
                if raw_line is not None:
                    line = values.line_value(BOOK, raw_line.replace("+", ""), f"{path}.row[{r}]", ref)
            except ParseError as problem:
                problems.append(problem)
                continue
            outcomes = lines.setdefault(line, (raw_line, []))[1]
            for i, price in enumerate(prices):
                try:
                    name_sent = price.name
                    if name_sent is None or name_sent == "":
                        raise MissingFieldError(BOOK, "name", "missing", ref=ref)
                    suspended = price.suspended is True
                    odds = read(price.price, "price", ref, may_be_off=suspended)
                    outcomes.append(OutcomeRecord(str(name_sent), odds, suspended))
                except ParseError as problem:
                    problems.append(problem.within(f"{path}.row[{r}].prices[{i}]"))
                    broken.add(line)
        return [
            MarketLineRecord(
                book=BOOK,
                market_id=market_id,
                market_name=name,
                outcomes=tuple(outcomes),
                specifier=raw_line,
                line=line,
                handicap=raw_line,
                groups=groups or ("other",),
                handicap_type=handicap_type,
            )
            for line, (raw_line, outcomes) in lines.items()
            if line not in broken
        ]


def _as_market(market: Any, path: str, ref: str, problems: list[ParseError]) -> _Market:
    """A decoded market as the parser reads it; a row of the wrong shape is a problem, the other rows stay."""
    market = values.as_dict(BOOK, market, path, ref)
    market_type = values.as_dict(BOOK, values.require(BOOK, market, "marketType", path, ref), f"{path}.marketType", ref)
    rows = []
    for r, row in enumerate(values.as_list(BOOK, market.get("row") or [], f"{path}.row", ref)):
        try:
            rows.append(msgspec.convert(values.as_dict(BOOK, row, f"{path}.row[{r}]", ref), _Row))
        except msgspec.ValidationError as problem:
            problems.append(ParseError(BOOK, f"{path}.row[{r}]", str(problem), ref=ref))
        except ParseError as problem:
            problems.append(problem)
        except BookmakerError as problem:
            problems.append(ParseError(BOOK, f"{path}.row[{r}]", str(problem.args[0]), ref=ref))
    try:
        return _Market(marketType=msgspec.convert(market_type, _MarketType), row=rows)
    except msgspec.ValidationError as problem:
        raise ParseError(BOOK, f"{path}.marketType", str(problem), ref=ref) from None


def parse_event(payload: Any, ref: str | None = None) -> ParsedEvent:
    return EventParser().parse(payload, ref)


def _row_line(row: _Row, prices: Iterable[_Price], handicap_type: str | None) -> str | None:
    """The row's line as BetPawa writes it: the row's formattedHandicap (3-way handicaps, goal
    numbers), else the home price's handicap (Asian handicaps: home "-1.5", away "+1.5"), else the
    prices' handicap (totals)."""
    formatted = row.formattedHandicap
    if formatted not in (None, ""):
        return str(formatted)
    if handicap_type == "ASIAN":
        home = next((p for p in prices if p.name == "1" and p.handicap not in (None, "")), None)
        if home is not None:
            return str(home.handicap)
    found = next((p.handicap for p in prices if p.handicap not in (None, "")), None)
    return None if found is None else str(found)
