"""The world rendered as each book's JSON: full events in the shapes of the books' real answers.

A full event is its book's real answer (`templates`) with this match's ids, teams, kick-off,
tournament and prices; markets keep their real fields, outcome ids, labels, lines and the
book's own way of saying an outcome is off. Catalogues and lists follow the reference
document (platform-apis.md), for which no real answer was recorded. An answer shares its
unchanged parts with the templates: serialize it, never change it in place.
"""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from odds_pipeline.domain import Book
from odds_pipeline.sandbox import templates
from odds_pipeline.sandbox.templates import AWAY, HOME, MarketTemplate
from odds_pipeline.sandbox.world import EPOCH, ORIGIN, MatchSpec, World, mix

BETPAWA_PAGE_MAX = 100
SPORTYBET_OK = 10000
SPORTYBET_NOT_FOUND = 19004


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_ms(epoch: int) -> int:
    return int((ORIGIN + epoch * EPOCH).timestamp() * 1000)


def _named(node: Any, home: str, away: str) -> Any:
    """The template's JSON with its team markers replaced by this match's names."""
    if isinstance(node, str):
        return node.replace(HOME, home).replace(AWAY, away)
    if isinstance(node, list):
        return [_named(v, home, away) for v in node]
    if isinstance(node, dict):
        return {k: _named(v, home, away) for k, v in node.items()}
    return node


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
    widgets: list[dict[str, Any]] = [{"id": str(13_000_000 + match.index), "type": "GENIUSSPORTS", "retention": None}]
    if match.sportradar_id:
        widgets[:0] = [
            {"id": match.sportradar_id, "type": "SPORTRADAR", "retention": "PREMATCH"},
            {"id": match.sportradar_id, "type": "SPORTRADAR", "retention": "INPLAY"},
        ]
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
    now = world.now()
    ids = count(1_400_000_000 + match.index * 2_000)
    markets = [_betpawa_market(world, match, t, now, ids) for t in world.offered(Book.BETPAWA, match, now)]
    return {
        **templates.betpawa_header(),
        **_betpawa_event_head(match),
        "markets": markets,
        "totalMarketCount": len(markets) + int(mix(match.index, 7) * 40),
        "score": round(20 + mix(match.index, 8) * 60, 6),
        "version": 1 + world.epoch(now) % 500,
    }


def _betpawa_market(world: World, match: MatchSpec, template: MarketTemplate, now: datetime, ids: Any) -> dict:
    market = template.body["market"]
    states = [world.line_state(Book.BETPAWA, match, line.key, now) for line in template.lines]
    positions = [0] * len(template.lines)
    rows = []
    for row, line_index in zip(market["row"], template.body["row_lines"], strict=True):
        state, real = states[line_index], template.lines[line_index].odds
        prices = []
        for price in row["prices"]:
            position = positions[line_index]
            positions[line_index] += 1
            off = state.off or real[position] is None
            prices.append(
                {
                    **price,
                    "id": str(next(ids)),
                    # BetPawa's way of saying "off": a price of 0 on a suspended outcome.
                    "price": 0.0 if off else world.odds(state, position, real[position]),
                    "suspended": off,
                }
            )
        rows.append({**row, **({"id": str(next(ids))} if "id" in row else {}), "prices": prices})
    return {**market, "row": rows}


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


def _sportybet_markets(world: World, match: MatchSpec, template: MarketTemplate, now: datetime) -> list[dict]:
    """The market's objects, one per line, priced for this match."""
    body = template.body
    if template.names_teams:
        body = _named(body, match.home.name_on(Book.SPORTYBET), match.away.name_on(Book.SPORTYBET))
    objects = []
    for market, line in zip(body, template.lines, strict=True):
        state = world.line_state(Book.SPORTYBET, match, line.key, now)
        outcomes = []
        for position, outcome in enumerate(market["outcomes"]):
            real = line.odds[position]
            if state.off or real is None:
                # SportyBet's way of saying "off": odds "0.00" on an inactive outcome.
                outcomes.append({**outcome, "odds": "0.00", "isActive": 0})
                continue
            odds = world.odds(state, position, real)
            # SportyBet's probability is its own fair price: it moves with the odds.
            probability = min(1.0, float(outcome.get("probability") or 0) * real / odds)
            outcomes.append({**outcome, "odds": f"{odds:.2f}", "isActive": 1, "probability": f"{probability:.10f}"})
        priced = {**market, "outcomes": outcomes}
        if "lastOddsChangeTime" in market:
            priced["lastOddsChangeTime"] = _epoch_ms(state.changed_at)
        objects.append(priced)
    return objects


def _sportybet_event_head(match: MatchSpec) -> dict[str, Any]:
    tournament = match.tournament
    home_id, away_id = 5000 + match.index * 2, 5001 + match.index * 2
    return {
        "eventId": match.sportybet_id,
        "gameId": str(20_000 + match.index),
        "estimateStartTime": int(match.kickoff.timestamp() * 1000),
        "homeTeamId": f"sr:competitor:{home_id}",
        "homeTeamName": match.home.name_on(Book.SPORTYBET),
        "awayTeamName": match.away.name_on(Book.SPORTYBET),
        "awayTeamId": f"sr:competitor:{away_id}",
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


def _sportybet_event_data(match: MatchSpec, markets: list[dict[str, Any]]) -> dict[str, Any]:
    head = _sportybet_event_head(match)
    home_id, away_id = (head[k].removeprefix("sr:competitor:") for k in ("homeTeamId", "awayTeamId"))
    return {
        **templates.sportybet_header(),
        **head,
        "markets": markets,
        "homeTeamIcon": f"https://sandbox.invalid/icons/{home_id}.png",
        "awayTeamIcon": f"https://sandbox.invalid/icons/{away_id}.png",
        "topicId": 44_000_000 + match.index,
        "fixtureVenue": {"name": f"{match.home.base} Stadium"},
        "eventSource": {
            "preMatchSource": {"sourceType": "BET_RADAR", "sourceId": match.sportybet_id},
            "liveSource": {"sourceType": "BET_RADAR", "sourceId": match.sportybet_id},
        },
    }


def sportybet_pc_events(world: World, tournament_ids: list[str], market_ids: set[str]) -> dict[str, Any]:
    now = world.now()
    groups = []
    for tournament_id in tournament_ids:
        matches = [m for m in world.listed_matches(Book.SPORTYBET, now) if m.tournament.sportybet_id == tournament_id]
        matches.sort(key=lambda m: (m.kickoff, m.index))
        events = []
        for match in matches:
            inline = [
                market
                for template in world.offered(Book.SPORTYBET, match, now)
                if template.market_id in market_ids
                for market in _sportybet_markets(world, match, template, now)
            ]
            events.append({**_sportybet_event_head(match), "markets": inline})
        groups.append({"id": tournament_id, "events": events})
    return {"bizCode": SPORTYBET_OK, "message": "0#0", "data": groups}


def sportybet_event(world: World, match: MatchSpec) -> dict[str, Any]:
    now = world.now()
    markets = [m for t in world.offered(Book.SPORTYBET, match, now) for m in _sportybet_markets(world, match, t, now)]
    return {"bizCode": SPORTYBET_OK, "message": "0#0", "data": _sportybet_event_data(match, markets)}


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


def _bet9ja_price(odds: float) -> str:
    """Bet9ja's way of writing a price: "1.5", "4", "11.75"."""
    return f"{odds:.2f}".rstrip("0").rstrip(".")


def _bet9ja_odds(world: World, match: MatchSpec, template: MarketTemplate, now: datetime, into: dict) -> None:
    for (param, suffixes), line in zip(template.body["params"], template.lines, strict=True):
        state = world.line_state(Book.BET9JA, match, line.key, now)
        prefix = f"S_{template.market_id}" + ("" if param is None else f"@{param}")
        for position, suffix in enumerate(suffixes):
            real = line.odds[position]
            # Bet9ja's way of saying "off": a bare "1".
            off = state.off or real is None
            into[f"{prefix}_{suffix}"] = "1" if off else _bet9ja_price(world.odds(state, position, real))


def _bet9ja_start(match: MatchSpec, zone: ZoneInfo) -> str:
    return match.kickoff.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _bet9ja_event_head(match: MatchSpec, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "ID": int(match.bet9ja_id),
        "C": match.bet9ja_code,
        "EXTID": match.sportradar_id or "",
        "DS": f"{match.home.name_on(Book.BET9JA)} - {match.away.name_on(Book.BET9JA)}",
        "STARTDATE": _bet9ja_start(match, zone),
        "SID": 1,
    }


def bet9ja_group_events(world: World, group_id: str, zone: ZoneInfo) -> dict[str, Any] | None:
    if not any(t.bet9ja_group_id == group_id for t in world.tournaments):
        return None
    now = world.now()
    matches = [m for m in world.listed_matches(Book.BET9JA, now) if m.tournament.bet9ja_group_id == group_id]
    matches.sort(key=lambda m: (m.kickoff, m.index))
    events = []
    for match in matches:
        odds: dict[str, str] = {}
        for template in world.offered(Book.BET9JA, match, now):
            if template.market_id == "1X2":
                _bet9ja_odds(world, match, template, now, odds)
        events.append({**_bet9ja_event_head(match, zone), "O": odds})
    return {"R": "OK", "D": {"E": events}}


def bet9ja_event(world: World, match: MatchSpec, zone: ZoneInfo) -> dict[str, Any]:
    now = world.now()
    odds: dict[str, str] = {}
    descriptions, lines_offered = [], {}
    for template in world.offered(Book.BET9JA, match, now):
        _bet9ja_odds(world, match, template, now, odds)
        if template.body["MK"] is not None:
            descriptions.append(template.body["MK"])
        if template.body["AUX"] is not None:
            lines_offered[f"S_{template.market_id}"] = template.body["AUX"]
    tournament = match.tournament
    start = _bet9ja_start(match, zone)
    return {
        "R": "OK",
        "D": {
            **templates.bet9ja_header(),
            **_bet9ja_event_head(match, zone),
            "ENDVISIBILITYDATE": start,
            "GID": int(tournament.bet9ja_group_id),
            "GN": tournament.name_on(Book.BET9JA),
            "SG": tournament.country,
            "SGID": int(tournament.bet9ja_sport_group_id),
            "SPORTCAST_FIXTURE_ID": str(500_000 + match.index),
            "PLAYER_EID": 9_000_000 + match.index,
            "O": odds,
            "AUX": lines_offered,
            "MK": descriptions,
            "MKNUM": len(descriptions),
        },
    }


def bet9ja_not_found() -> dict[str, Any]:
    return {"R": "E", "D": None}
