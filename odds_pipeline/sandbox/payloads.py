"""The world rendered as each book's JSON, in the shapes of the reference document (platform-apis.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from odds_pipeline.domain import Book
from odds_pipeline.sandbox.inventory import LineKind
from odds_pipeline.sandbox.world import MatchSpec, PricedLine, World, unit

BETPAWA_PAGE_MAX = 100
SPORTYBET_OK = 10000
SPORTYBET_NOT_FOUND = 19004


def _number(value: float) -> str:
    return f"{value:g}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- BetPawa ----------------------------------------------------------------------------------


def betpawa_catalogue(world: World) -> dict[str, Any]:
    regions: dict[str, dict[str, Any]] = {}
    listed = world.tournaments_listed(Book.BETPAWA)
    for tournament in world.tournaments:
        if tournament.index not in listed:
            continue
        region = regions.setdefault(
            tournament.country,
            {"region": {"id": tournament.betpawa_region_id, "name": tournament.country}, "competitions": []},
        )
        region["competitions"].append(
            {
                "competition": {"id": tournament.betpawa_id, "name": tournament.name_on(Book.BETPAWA)},
                "eventCount": len(listed[tournament.index]),
            }
        )
    return {"withRegions": [{"category": {"id": "2", "name": "Football"}, "regions": list(regions.values())}]}


def _betpawa_event_head(match: MatchSpec) -> dict[str, Any]:
    home, away = match.home.name_on(Book.BETPAWA), match.away.name_on(Book.BETPAWA)
    widgets = [{"id": f"g{match.index}", "type": "GENIUSSPORTS", "retention": "PREMATCH"}]
    if match.sportradar_id:
        widgets.insert(0, {"id": match.sportradar_id, "type": "SPORTRADAR", "retention": "PREMATCH"})
    return {
        "id": match.betpawa_id,
        "name": f"{home} - {away}",
        "startTime": _iso(match.kickoff),
        "widgets": widgets,
        "participants": [
            {"id": str(600_000 + match.index * 2), "name": home, "position": 1},
            {"id": str(600_001 + match.index * 2), "name": away, "position": 2},
        ],
        "competition": {"id": match.tournament.betpawa_id, "name": match.tournament.name_on(Book.BETPAWA)},
        "region": {"id": match.tournament.betpawa_region_id, "name": match.tournament.country},
    }


def betpawa_event_list(world: World, competition_id: str, skip: int, take: int) -> dict[str, Any]:
    matches = [m for m in world.listed_matches(Book.BETPAWA) if m.tournament.betpawa_id == competition_id]
    matches.sort(key=lambda m: (m.kickoff, m.index))
    page = matches[skip : skip + min(take, BETPAWA_PAGE_MAX)]
    return {"responses": [{"responses": [_betpawa_event_head(m) for m in page], "total": len(matches)}]}


def betpawa_event(world: World, match: MatchSpec) -> dict[str, Any]:
    markets: dict[str, dict[str, Any]] = {}
    for priced in world.priced_lines(Book.BETPAWA, match):
        template = priced.template
        market = markets.get(template.market_id)
        if market is None:
            handicap_type = {LineKind.ASIAN: "ASIAN", LineKind.EUROPEAN: "EUROPEAN"}.get(template.line_kind, "")
            market = markets[template.market_id] = {
                "marketType": {
                    "id": template.market_id,
                    "name": template.name,
                    "displayName": template.name.replace(" - ", " | "),
                    "priority": len(markets) + 1,
                    "tabs": list(template.tabs),
                    "handicapType": handicap_type,
                    "priceColumnCount": min(3, len(template.outcomes)),
                },
                "row": [],
                "additionalInfo": {"boosted": False, "cashoutable": True, "twoUp": False},
            }
        row_number = len(market["row"])
        is_total = template.line_kind is LineKind.TOTAL
        formatted = None if is_total or priced.line is None else _number(priced.line)
        market["row"].append(
            {
                "id": f"{match.betpawa_id}-{template.market_id}-{row_number}",
                "handicap": row_number,
                "formattedHandicap": formatted,
                "prices": [
                    {
                        "id": f"{match.betpawa_id}-{template.market_id}-{row_number}-{i}",
                        "name": outcome.label,
                        "typeId": str(i),
                        "price": outcome.odds,
                        "suspended": outcome.suspended,
                        "handicap": _number(priced.line) if is_total and priced.line is not None else None,
                        "displayName": outcome.label,
                        "additionalInfo": {"hot": False, "twoUp": False, "anyUp": "NO_UP"},
                    }
                    for i, outcome in enumerate(priced.outcomes)
                ],
            }
        )
    return {**_betpawa_event_head(match), "results": None, "markets": list(markets.values())}


# --- SportyBet --------------------------------------------------------------------------------


def sportybet_catalogue(world: World) -> dict[str, Any]:
    listed = world.tournaments_listed(Book.SPORTYBET)
    categories: dict[str, dict[str, Any]] = {}
    for tournament in world.tournaments:
        if tournament.index not in listed:
            continue
        category = categories.setdefault(
            tournament.country,
            {
                "id": tournament.sportybet_category_id,
                "name": tournament.country,
                "eventSize": 0,
                "tournaments": [],
            },
        )
        size = len(listed[tournament.index])
        category["eventSize"] += size
        category["tournaments"].append(
            {"id": tournament.sportybet_id, "name": tournament.name_on(Book.SPORTYBET), "eventSize": size}
        )
    total = sum(c["eventSize"] for c in categories.values())
    football = {
        "id": "sr:sport:1",
        "name": "Football",
        "eventSize": total,
        "categories": list(categories.values()),
    }
    return {"bizCode": SPORTYBET_OK, "message": "0#0", "data": {"sportList": [football]}}


def sportybet_specifier(priced: PricedLine) -> str | None:
    template, line = priced.template, priced.line
    kind = template.line_kind
    if kind is LineKind.TOTAL:
        return f"total={_number(line)}"
    if kind is LineKind.ASIAN:
        return f"hcp={_number(line)}"
    if kind is LineKind.EUROPEAN:
        # European handicaps are written as a virtual head start, home goals : away goals.
        head_start = round(abs(line))
        return f"hcp=0:{head_start}" if line < 0 else f"hcp={head_start}:0"
    if kind is LineKind.VARIANT:
        return f"variant={template.variant}"
    if kind is LineKind.TIME:
        return "from=1|to=10"
    if kind is LineKind.PLAYER:
        return f"player=sr:player:{900_000 + round(line)}"
    if kind is LineKind.INDEX:
        return f"variant=sr:line:{round(line)}"
    return None


def _sportybet_market(match: MatchSpec, priced: PricedLine, seed: int) -> dict[str, Any]:
    template = priced.template
    market: dict[str, Any] = {
        "id": template.market_id,
        "product": 3,
        "desc": template.name,
        "status": 0,
        "banned": False,
        "marketGuide": template.name,
        "favourite": 0,
        "marketExtendVOS": [],
        "earlyPayoutMarkets": [],
        "outcomes": [
            {
                "id": str(i + 1),
                "desc": outcome.label,
                "odds": f"{outcome.odds:.2f}",
                "probability": f"{1 / outcome.odds:.10f}",
                "voidProbability": "0E-10",
                "isActive": 0 if outcome.suspended else 1,
                "cashOutIsActive": 1,
            }
            for i, outcome in enumerate(priced.outcomes)
        ],
    }
    specifier = sportybet_specifier(priced)
    if specifier is not None:
        market["specifier"] = specifier
    # The reference found these fields missing on some markets; leave them out here and there too.
    if unit(seed, "sb-optional", match.index, template.market_id, priced.line) >= 0.1:
        market.update(
            group="Main",
            groupId="1001",
            title=template.name,
            name=template.name,
            farNearOdds=0,
            sourceType="BET_RADAR",
            lastOddsChangeTime=int(match.kickoff.timestamp() * 1000) - 3_600_000,
        )
    return market


def _sportybet_event_head(match: MatchSpec) -> dict[str, Any]:
    tournament = match.tournament
    return {
        "eventId": match.sportybet_id,
        "gameId": str(20_000 + match.index),
        "productStatus": "0#0",
        "estimateStartTime": int(match.kickoff.timestamp() * 1000),
        "status": 0,
        "matchStatus": "Not start",
        "homeTeamId": f"sr:competitor:{5000 + match.index * 2}",
        "homeTeamName": match.home.name_on(Book.SPORTYBET),
        "awayTeamId": f"sr:competitor:{5001 + match.index * 2}",
        "awayTeamName": match.away.name_on(Book.SPORTYBET),
        "sport": {
            "id": "sr:sport:1",
            "name": "Football",
            "category": {
                "id": tournament.sportybet_category_id,
                "name": tournament.country,
                "tournament": {"id": tournament.sportybet_id, "name": tournament.name_on(Book.SPORTYBET)},
            },
        },
    }


def sportybet_pc_events(world: World, tournament_ids: list[str], market_ids: set[str]) -> dict[str, Any]:
    groups = []
    for tournament_id in tournament_ids:
        matches = [m for m in world.listed_matches(Book.SPORTYBET) if m.tournament.sportybet_id == tournament_id]
        matches.sort(key=lambda m: (m.kickoff, m.index))
        events = []
        for match in matches:
            inline = [
                _sportybet_market(match, p, world.config.seed)
                for p in world.priced_lines(Book.SPORTYBET, match)
                if p.template.market_id in market_ids
            ]
            events.append({**_sportybet_event_head(match), "markets": inline})
        groups.append({"id": tournament_id, "events": events})
    return {"bizCode": SPORTYBET_OK, "message": "0#0", "data": groups}


def sportybet_event(world: World, match: MatchSpec) -> dict[str, Any]:
    markets = [_sportybet_market(match, p, world.config.seed) for p in world.priced_lines(Book.SPORTYBET, match)]
    return {
        "bizCode": SPORTYBET_OK,
        "message": "0#0",
        "data": {**_sportybet_event_head(match), "markets": markets},
    }


def sportybet_failure(message: str, biz_code: int = SPORTYBET_NOT_FOUND) -> dict[str, Any]:
    return {"bizCode": biz_code, "message": message, "data": None}


# --- Bet9ja -----------------------------------------------------------------------------------


def bet9ja_catalogue(world: World) -> dict[str, Any]:
    listed = world.tournaments_listed(Book.BET9JA)
    sport_groups: dict[str, dict[str, Any]] = {}
    for tournament in world.tournaments:
        if tournament.index not in listed:
            continue
        size = len(listed[tournament.index])
        group = sport_groups.setdefault(
            tournament.bet9ja_sport_group_id, {"SG_DESC": tournament.country, "NUM": 0, "G": {}}
        )
        group["NUM"] += size
        group["G"][tournament.bet9ja_group_id] = {"G_DESC": tournament.name_on(Book.BET9JA), "NUM": size}
    soccer = {"S_DESC": "Soccer", "NUM": sum(g["NUM"] for g in sport_groups.values()), "SG": sport_groups}
    # Bet9ja returns every sport; the clients must keep only "1" (Soccer).
    basketball = {"S_DESC": "Basketball", "NUM": 3, "SG": {"21001": {"SG_DESC": "USA", "NUM": 3, "G": {}}}}
    return {"R": "OK", "D": {"PAL": {"1": soccer, "2": basketball}}}


def bet9ja_param(priced: PricedLine) -> str | None:
    kind, line = priced.template.line_kind, priced.line
    if kind in (LineKind.TOTAL, LineKind.ASIAN, LineKind.EUROPEAN, LineKind.INDEX, LineKind.PLAYER):
        return _number(line)
    return None


def _bet9ja_odds(lines: list[PricedLine]) -> dict[str, str]:
    odds: dict[str, str] = {}
    for priced in lines:
        param = bet9ja_param(priced)
        prefix = f"S_{priced.template.market_id}" + (f"@{param}" if param is not None else "")
        for outcome in priced.outcomes:
            if outcome.suspended:
                continue  # Bet9ja has no suspension flag: a suspended selection is simply absent
            odds[f"{prefix}_{outcome.label}"] = f"{outcome.odds:.2f}"
    return odds


def _bet9ja_start(match: MatchSpec, zone: ZoneInfo) -> str:
    return match.kickoff.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _bet9ja_event_head(match: MatchSpec, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "ID": match.bet9ja_id,
        "C": match.bet9ja_code,
        "EXTID": match.sportradar_id or "",
        "DS": f"{match.home.name_on(Book.BET9JA)} - {match.away.name_on(Book.BET9JA)}",
        "STARTDATE": _bet9ja_start(match, zone),
        "SID": 1,
    }


def bet9ja_group_events(world: World, group_id: str, zone: ZoneInfo) -> dict[str, Any] | None:
    if not any(t.bet9ja_group_id == group_id for t in world.tournaments):
        return None
    matches = [m for m in world.listed_matches(Book.BET9JA) if m.tournament.bet9ja_group_id == group_id]
    matches.sort(key=lambda m: (m.kickoff, m.index))
    events = []
    for match in matches:
        main = world.priced_lines(Book.BET9JA, match, only={"1X2"})
        events.append({**_bet9ja_event_head(match, zone), "O": _bet9ja_odds(main)})
    return {"R": "OK", "D": {"E": events}}


def bet9ja_event(world: World, match: MatchSpec, zone: ZoneInfo) -> dict[str, Any]:
    lines = world.priced_lines(Book.BET9JA, match)
    metadata: dict[str, dict[str, Any]] = {}
    for priced in lines:
        template = priced.template
        metadata.setdefault(
            template.market_id,
            {
                "ID": f"S_{template.market_id}",
                "DS": template.name,
                "GCAT": "POPULAR" if template.shared_key.startswith("m") else "OTHER",
                "MARKETID": str(int(unit("marketid", template.market_id) * 100_000)),
                "SGN": [o.canonical.replace("_", " ").title() for o in template.outcomes],
                "SGNK": [o.label for o in template.outcomes],
            },
        )
    tournament = match.tournament
    return {
        "R": "OK",
        "D": {
            **_bet9ja_event_head(match, zone),
            "GN": tournament.name_on(Book.BET9JA),
            "GID": tournament.bet9ja_group_id,
            "SG": tournament.country,
            "O": _bet9ja_odds(lines),
            "MK": list(metadata.values()),
        },
    }


def bet9ja_not_found() -> dict[str, Any]:
    return {"R": "E", "D": None}
