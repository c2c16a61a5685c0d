"""BetPawa Nigeria: endpoints, headers, paging and parsers (platform-apis.md §1)."""

from __future__ import annotations

import json
from typing import Any

from odds_pipeline.bookmakers import values
from odds_pipeline.bookmakers.base import BookClient
from odds_pipeline.bookmakers.errors import BookmakerError, MalformedResponseError, ParseError
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
DEFAULT_LIMITS = ClientLimits(concurrency=50)


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
    def open(cls, base_url: str, limits: ClientLimits = DEFAULT_LIMITS, **kwargs: Any) -> BetPawaClient:
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
            pages.append(page)
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
    return parse_event(event.json(), event.ref)


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
    for participant in event.get("participants") or []:
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


def parse_event(payload: Any, ref: str | None = None) -> ParsedEvent:
    header = parse_event_header(payload, ref)
    markets = values.as_list(BOOK, payload.get("markets"), "markets", header.external_id)
    lines: list[MarketLineRecord] = []
    problems: list[ParseError] = []
    for m, market in enumerate(markets):
        try:
            lines.extend(_market_lines(market, f"markets[{m}]", header.external_id, problems))
        except ParseError as problem:
            problems.append(problem)
        except BookmakerError as problem:  # a market of the wrong shape: name it, keep the rest
            problems.append(ParseError(BOOK, f"markets[{m}]", str(problem.args[0]), ref=header.external_id))
    return ParsedEvent(event=header, lines=tuple(lines), problems=tuple(problems))


def _market_lines(market: Any, path: str, ref: str, problems: list[ParseError]) -> list[MarketLineRecord]:
    """The market's rows as lines; a row with a bad value is reported in ``problems`` and left out."""
    market = values.as_dict(BOOK, market, path, ref)
    market_type = values.as_dict(BOOK, values.require(BOOK, market, "marketType", path, ref), f"{path}.marketType", ref)
    market_id = values.ident(BOOK, market_type.get("id"), f"{path}.marketType.id", ref)
    name = market_type.get("displayName") or market_type.get("name")
    groups = tuple(str(t) for t in market_type.get("tabs") or [] if t != "all")
    handicap_type = market_type.get("handicapType") or None
    lines = []
    for r, row in enumerate(values.as_list(BOOK, market.get("row") or [], f"{path}.row", ref)):
        try:
            lines.append(_row_line(market_id, name, groups, handicap_type, row, f"{path}.row[{r}]", ref))
        except ParseError as problem:
            problems.append(problem)
    return lines


def _row_line(
    market_id: str,
    name: str | None,
    groups: tuple[str, ...],
    handicap_type: str | None,
    row: Any,
    path: str,
    ref: str,
) -> MarketLineRecord:
    row = values.as_dict(BOOK, row, path, ref)
    prices = values.as_list(BOOK, row.get("prices") or [], f"{path}.prices", ref)
    outcomes = []
    for p, price in enumerate(prices):
        price_path = f"{path}.prices[{p}]"
        price = values.as_dict(BOOK, price, price_path, ref)
        outcome_name = values.require(BOOK, price, "name", price_path, ref)
        outcomes.append(
            OutcomeRecord(
                name=str(outcome_name),
                odds=values.odds(BOOK, price.get("price"), f"{price_path}.price", ref),
                suspended=bool(price.get("suspended", False)),
            )
        )
    # The line: the row's formattedHandicap, else (O/U markets) the prices' own handicap.
    raw_line = row.get("formattedHandicap")
    if raw_line in (None, "") and prices:
        raw_line = next((p.get("handicap") for p in prices if isinstance(p, dict) and p.get("handicap")), None)
    line = None
    if raw_line not in (None, ""):
        line = values.line_value(BOOK, str(raw_line).replace("+", ""), f"{path}.handicap", ref)
    return MarketLineRecord(
        book=BOOK,
        market_id=market_id,
        market_name=name,
        outcomes=tuple(outcomes),
        specifier=None if raw_line in (None, "") else str(raw_line),
        line=line,
        handicap=None if raw_line in (None, "") else str(raw_line),
        groups=groups or ("other",),
        handicap_type=handicap_type,
    )
