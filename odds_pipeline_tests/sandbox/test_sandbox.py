"""The sandbox as the clients see it: the nine endpoints, the control endpoints, the world's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from odds_pipeline.bench import sandbox_process
from odds_pipeline.domain import Book
from odds_pipeline.sandbox import payloads
from odds_pipeline.sandbox.faults import Fault, FaultPlan, FaultSpecError
from odds_pipeline.sandbox.server import RunningSandbox, Sandbox, SandboxOptions
from odds_pipeline.sandbox.templates import (
    audit_rates,
    expected_lines_per_event,
    expected_markets_per_event,
    templates_for,
)
from odds_pipeline.sandbox.world import Scale, World, WorldConfig

BP, SB, B9 = "/api/sportsbook/v3", "/api/ng/factsCenter", "/desktop/feapi/PalimpsestAjax"


def test_the_cli_serves_all_nine_endpoints_in_the_documented_shapes() -> None:
    with sandbox_process("demo", 0, 3) as sandbox, httpx.Client(base_url=sandbox.url, timeout=10) as http:
        brand = {"x-pawa-brand": "betpawa-nigeria"}
        catalogue = http.get(f"{BP}/categories/list/2", headers=brand).json()
        competition = catalogue["withRegions"][0]["regions"][0]["competitions"][0]["competition"]["id"]
        query = {"queries": [{"query": {"zones": {"competitions": [competition]}}, "skip": 0, "take": 100}]}
        listing = http.get(f"{BP}/events/lists/by-queries", params={"q": json.dumps(query)}, headers=brand).json()
        event_id = listing["responses"][0]["responses"][0]["id"]
        event = http.get(f"{BP}/events/{event_id}", headers=brand).json()
        assert {"id", "startTime", "widgets", "participants", "markets"} <= set(event)
        assert http.get(f"{BP}/events/{event_id}").status_code == 400, "x-pawa-brand is required"

        sports = http.get(f"{SB}/popularAndSportList", params={"sportId": "sr:sport:1", "productId": 3}).json()
        tournament = sports["data"]["sportList"][0]["categories"][0]["tournaments"][0]["id"]
        body = [{"sportId": "sr:sport:1", "marketId": "1,18", "tournamentId": [[tournament]]}]
        events = http.post(f"{SB}/pcEvents", json=body).json()
        match_id = events["data"][0]["events"][0]["eventId"]
        full = http.get(f"{SB}/event", params={"eventId": match_id, "productId": 3}).json()
        assert full["bizCode"] == 10000 and full["data"]["markets"]
        numeric = http.get(f"{SB}/event", params={"eventId": match_id.removeprefix("sr:match:")}).json()
        assert numeric["bizCode"] != 10000, "a numeric id without sr:match: fails, as on the real site"

        palimpsest = http.get(f"{B9}/GetSports", params={"DISP": 0}).json()["D"]["PAL"]
        group = next(iter(next(iter(palimpsest["1"]["SG"].values()))["G"]))
        group_events = http.get(f"{B9}/GetEventsInGroupV2", params={"GROUPID": group}).json()
        b9_event = group_events["D"]["E"][0]
        detail = http.get(f"{B9}/GetEvent", params={"EVENTID": b9_event["ID"]}).json()
        assert detail["R"] == "OK" and detail["D"]["O"] and detail["D"]["MK"]
        assert http.get(f"{B9}/GetEvent", params={"EVENTID": b9_event["C"]}).json()["R"] == "E"

        stats = http.get("/__sandbox/stats").json()
        assert stats["totals"] == {"betpawa": 3, "sportybet": 4, "bet9ja": 4}


def test_truth_and_advance(sandbox) -> None:
    with httpx.Client(base_url=sandbox.url, timeout=10) as http:
        truth = http.get("/__sandbox/truth").json()["matches"]
        shared = [m for m in truth if sum(m[b.value] is not None for b in Book) >= 2]
        assert 0.65 <= len(shared) / len(truth) <= 0.85, "about three quarters of matches on two or more books"
        assert any(m["sportradar_id"] is None for m in truth)
        before = http.get("/__sandbox/stats").json()["world_time"]
        after = http.post("/__sandbox/advance", params={"minutes": 15}).json()["world_time"]
        assert after > before
        assert http.post("/__sandbox/advance").status_code == 400


def _prices(world: World, book: Book, match) -> dict[str, tuple[float | None, ...]]:
    """Each offered line's prices now, by line key."""
    prices = {}
    for template in world.offered(book, match):
        for line in template.lines:
            state = world.line_state(book, match, line.key)
            prices[line.key] = tuple(
                None if state.off or real is None else world.odds(state, i, real) for i, real in enumerate(line.odds)
            )
    return prices


def test_a_share_of_prices_moves_per_fifteen_minutes() -> None:
    world = World(WorldConfig(seed=3, drift_share=0.1, follow_wall_clock=False))
    changed = common = 0
    for match in world.listed_matches(Book.SPORTYBET)[:5]:
        before = _prices(world, Book.SPORTYBET, match)
        world.clock.advance(15)
        after = _prices(world, Book.SPORTYBET, match)
        world.clock.advance(-15)
        keys = before.keys() & after.keys()
        common += len(keys)
        changed += sum(before[k] != after[k] for k in keys)
    assert 0.05 <= changed / common <= 0.15


def test_prices_stay_near_the_books_real_prices() -> None:
    """Each match moves a real price by a few percent at most: the books still agree on a match."""
    world = World(WorldConfig(seed=4, follow_wall_clock=False))
    match = world.listed_matches(Book.BETPAWA)[0]
    for template in world.offered(Book.BETPAWA, match):
        for line in template.lines:
            state = world.line_state(Book.BETPAWA, match, line.key)
            for i, real in enumerate(line.odds):
                if real is not None and real > 1.05:
                    assert abs(world.odds(state, i, real) / real - 1) <= 0.055


def test_the_world_is_deterministic() -> None:
    config = WorldConfig(seed=9, follow_wall_clock=False)
    a, b = World(config), World(config)
    match = a.listed_matches(Book.BET9JA)[3]
    zone = ZoneInfo("UTC")
    assert payloads.bet9ja_event(a, match, zone) == payloads.bet9ja_event(b, b.matches[match.index], zone)


def test_events_disappear_at_kickoff_and_appear_within_the_horizon() -> None:
    world = World(WorldConfig(seed=2, follow_wall_clock=False))
    listed = {m.index for m in world.listed_matches(Book.BETPAWA)}
    world.clock.advance(24 * 60)
    later = {m.index for m in world.listed_matches(Book.BETPAWA)}
    assert listed - later and later - listed


@pytest.mark.parametrize("book", list(Book))
def test_inventory_volumes_follow_the_audit(book: Book) -> None:
    """The audit's mean per event: market types on BetPawa, market objects or key groups elsewhere."""
    target = audit_rates()["per_event"][book.value]
    measured = expected_markets_per_event(book) if book is Book.BETPAWA else expected_lines_per_event(book)
    assert measured == pytest.approx(target, rel=0.02)


def test_inventory_comes_from_the_real_answers_with_its_traps() -> None:
    sportybet = {t.market_id: t for t in templates_for(Book.SPORTYBET)}
    assert [o["desc"] for o in sportybet["60100"].body[0]["outcomes"]] == ["Home", "Draw", "Away"]
    assert "800117" in sportybet  # Player To Be Booked: only in the second real SportyBet answer
    assert {"OUA", "1X21", "HAOU"} <= {t.market_id for t in templates_for(Book.BET9JA)}
    assert len(templates_for(Book.BETPAWA)) == 79


def test_scales() -> None:
    full = World(WorldConfig(scale=Scale.FULL, follow_wall_clock=False))
    per_book = [len(full.listed_matches(book)) for book in Book]
    assert all(1150 <= n <= 1350 for n in per_book)
    assert 150 <= len(full.tournaments) <= 250


def test_fault_specs() -> None:
    plan = FaultPlan.parse("5xx=0.5,bet9ja.down=1")
    assert plan.draw(Book.BET9JA) is Fault.DOWN
    assert {plan.draw(Book.BETPAWA) for _ in range(50)} == {Fault.SERVER_ERROR, None}
    for bad in ("5xx", "nonsense=0.1", "5xx=2", "mars.5xx=0.1", "sportybet.lists.5xx=1", "a.b.c.5xx=1"):
        with pytest.raises(FaultSpecError):
            FaultPlan.parse(bad)


def test_fault_specs_can_aim_at_one_endpoint() -> None:
    plan = FaultPlan.parse("sportybet.events.5xx=1,event.malformed=1")
    assert plan.draw(Book.SPORTYBET, "events") is Fault.SERVER_ERROR
    assert plan.draw(Book.BETPAWA, "events") is None and plan.draw(Book.SPORTYBET, "catalogue") is None
    assert plan.draw(Book.BET9JA, "event") is Fault.MALFORMED
    assert plan.describe() == "sportybet.events.5xx=1,event.malformed=1"


def test_answers_rendered_ahead_are_the_answers_rendered_on_demand() -> None:
    anchor = datetime(2026, 11, 23, 12, tzinfo=UTC)
    options = SandboxOptions(world=WorldConfig(seed=5, scale=Scale.TINY, anchor=anchor, follow_wall_clock=False))
    on_demand = Sandbox(options)
    with RunningSandbox(options) as ahead:
        with httpx.Client(base_url=ahead.url, timeout=10) as http:
            rendered = http.post("/__sandbox/render-ahead").json()["rendered"]
            listed = sum(len(ahead.sandbox.world.listed_matches(book)) for book in Book)
            assert rendered == listed > 0
            assert http.post("/__sandbox/render-ahead").json()["rendered"] == 0, "once per epoch"
        for book in Book:
            match = ahead.sandbox.world.listed_matches(book)[-1]
            assert ahead.sandbox.full_event(book, match) == on_demand.full_event(book, match)
        assert sum(ahead.sandbox.rendered.values()) == listed, "served from what was rendered ahead"
        ahead.sandbox.world.clock.advance(15)
        assert ahead.sandbox.render_ahead()["rendered"] == listed, "a new epoch renders again"
