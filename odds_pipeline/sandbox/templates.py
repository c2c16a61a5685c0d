"""What the sandbox's answers are made of: the books' real answers, market by market.

The full-event answers recorded from the three live APIs (`data/real/`) are the templates. The
sandbox replays their header fields, market objects, outcome ids and labels, lines and "off"
forms, and changes only what differs from match to match: ids, teams, kick-off and prices. A
market seen only in a book's second answer (SportyBet's player props, say) is taken from there.
How often a market is offered comes from the reference audit (`data/audit_rates.json`); markets
the audit does not count share one presence per book, set so that an event carries as many lines
as the audit measured on average.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from odds_pipeline.domain import Book

REAL_DIR = Path(__file__).with_name("data") / "real"
AUDIT_RATES_FILE = Path(__file__).with_name("data") / "audit_rates.json"
# The first answer of each book is the three-book match; later ones add the markets it lacks.
REAL_ANSWERS: dict[Book, tuple[str, ...]] = {
    Book.BETPAWA: ("betpawa_prematch.json",),
    Book.SPORTYBET: ("sportybet_prematch.json", "sportybet_2way_handicap_ft.json"),
    Book.BET9JA: ("bet9ja_prematch.json", "bet9ja_next_goal_and_team_ou.json"),
}
BET9JA_KEY = re.compile(r"^S_(?P<market>[A-Z0-9\-]+)(?:@(?P<param>[^_]+))?_(?P<suffix>.+)$")

# Markets on every event: the main ones, and SportyBet's list markets (pcEvents asks for them).
CORE_MARKETS: dict[Book, frozenset[str]] = {
    Book.BETPAWA: frozenset(
        {"3743", "4693", "3795", "5000", "4706", "4724", "3774", "4703", "4429", "4833", "3668", "4958"}
    ),
    Book.SPORTYBET: frozenset({"1", "18", "10", "29", "11", "26", "36", "14", "16", "45", "47", "60", "68"}),
    Book.BET9JA: frozenset({"1X2", "OU", "DC", "GGNG", "DNB", "1X2HND", "AH", "OE", "CSFT", "HTFT", "1X21T", "OU1T"}),
}
MIN_PRESENCE = 0.2

# What the templates' own teams are replaced by, in every string that names them.
HOME, AWAY = "\x00home\x00", "\x00away\x00"


@cache
def real_answer(name: str) -> Any:
    return json.loads((REAL_DIR / name).read_text())


def real_answers(book: Book) -> list[Any]:
    return [real_answer(name) for name in REAL_ANSWERS[book]]


@dataclass(frozen=True)
class LineTemplate:
    key: str  # what the line's prices and suspensions are drawn from: market and line
    odds: tuple[float | None, ...]  # the real prices in the order the book sends them; None: off


@dataclass(frozen=True)
class MarketTemplate:
    """One market as one book really sent it."""

    book: Book
    market_id: str  # BetPawa marketType.id, SportyBet market id, Bet9ja key without S_
    body: Any  # the real JSON: BetPawa market, SportyBet market objects, Bet9ja groups with MK and AUX
    lines: tuple[LineTemplate, ...]
    presence: float = 1.0
    near_kickoff_only: bool = False
    names_teams: bool = False  # some string in the body names the template's teams


def _price(value: Any, off: bool) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if off or number <= 1.0 else number


def _with_team_markers(node: Any, home: str, away: str) -> tuple[Any, bool]:
    """The JSON with the answer's team names replaced by markers, and whether any was found."""
    if isinstance(node, str):
        if home in node or away in node:
            return node.replace(home, HOME).replace(away, AWAY), True
        return node, False
    if isinstance(node, list):
        pairs = [_with_team_markers(v, home, away) for v in node]
        return [v for v, _ in pairs], any(found for _, found in pairs)
    if isinstance(node, dict):
        pairs = {k: _with_team_markers(v, home, away) for k, v in node.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(found for _, found in pairs.values())
    return node, False


# --- BetPawa ----------------------------------------------------------------------------------


def betpawa_row_line(row: dict[str, Any], handicap_type: str) -> str | None:
    """The line a BetPawa row belongs to, as BetPawa writes it (rows of one line form one outcome set)."""
    if row.get("formattedHandicap") not in (None, ""):
        return str(row["formattedHandicap"])
    prices = row.get("prices") or []
    if handicap_type == "ASIAN":
        home = next((p for p in prices if p.get("name") == "1"), None)
        if home is not None and home.get("handicap") not in (None, ""):
            return str(home["handicap"])
    return next((str(p["handicap"]) for p in prices if p.get("handicap") not in (None, "")), None)


def _betpawa_market(market: dict[str, Any]) -> MarketTemplate:
    """Body: the real market and, per row, the index of the line it belongs to."""
    market_id = str(market["marketType"]["id"])
    handicap_type = market["marketType"].get("handicapType") or ""
    order: list[str | None] = []
    odds: dict[str | None, list[float | None]] = {}
    row_lines = []
    for row in market["row"]:
        line = betpawa_row_line(row, handicap_type)
        if line not in odds:
            order.append(line)
            odds[line] = []
        row_lines.append(order.index(line))
        odds[line] += [_price(p.get("price"), p.get("suspended") is True) for p in row["prices"]]
    lines = tuple(LineTemplate(f"{market_id}|{line}", tuple(odds[line])) for line in order)
    return MarketTemplate(Book.BETPAWA, market_id, {"market": market, "row_lines": row_lines}, lines)


def betpawa_header() -> dict[str, Any]:
    return {k: v for k, v in real_answer(REAL_ANSWERS[Book.BETPAWA][0]).items() if k != "markets"}


# --- SportyBet --------------------------------------------------------------------------------


def _sportybet_markets(answer: dict[str, Any]) -> dict[str, MarketTemplate]:
    data = answer["data"]
    objects: dict[str, list[dict[str, Any]]] = {}
    for market in data["markets"]:
        objects.setdefault(str(market["id"]), []).append(market)
    templates = {}
    for market_id, markets in objects.items():
        body, names_teams = _with_team_markers(markets, data["homeTeamName"], data["awayTeamName"])
        lines = tuple(
            LineTemplate(
                f"{market_id}|{m.get('specifier') or ''}",
                tuple(_price(o.get("odds"), o.get("isActive") != 1) for o in m["outcomes"]),
            )
            for m in markets
        )
        templates[market_id] = MarketTemplate(Book.SPORTYBET, market_id, body, lines, names_teams=names_teams)
    return templates


def sportybet_header() -> dict[str, Any]:
    data = real_answer(REAL_ANSWERS[Book.SPORTYBET][0])["data"]
    return {k: v for k, v in data.items() if k != "markets"}


# --- Bet9ja -----------------------------------------------------------------------------------


def _bet9ja_markets(answer: dict[str, Any]) -> dict[str, MarketTemplate]:
    data = answer["D"]
    groups: dict[str, dict[str | None, list[tuple[str, str]]]] = {}
    for key, value in data["O"].items():
        parsed = BET9JA_KEY.match(key)
        if parsed is None:
            continue
        groups.setdefault(parsed["market"], {}).setdefault(parsed["param"], []).append((parsed["suffix"], value))
    descriptions = {str(m["ID"]).removeprefix("S_"): m for m in data.get("MK") or []}
    aux = data.get("AUX") or {}
    templates = {}
    for market, params in groups.items():
        body = {
            "MK": descriptions.get(market),
            "AUX": aux.get(f"S_{market}"),
            "params": [(param, [suffix for suffix, _ in prices]) for param, prices in params.items()],
        }
        lines = tuple(
            LineTemplate(f"{market}@{param}", tuple(_price(value, value == "1") for _, value in prices))
            for param, prices in params.items()
        )
        templates[market] = MarketTemplate(Book.BET9JA, market, body, lines)
    return templates


def bet9ja_header() -> dict[str, Any]:
    """Every header field any real answer carried (a second answer adds MKNUM, say), the first's values first."""
    header: dict[str, Any] = {}
    for answer in reversed(real_answers(Book.BET9JA)):
        header.update({k: v for k, v in answer["D"].items() if k not in ("O", "MK", "AUX")})
    return header


# --- the inventory ----------------------------------------------------------------------------


@cache
def audit_rates() -> dict[str, dict[str, dict[str, Any]]]:
    """Per book and market: occurrences per event and category, as the reference audit counted them."""
    return json.loads(AUDIT_RATES_FILE.read_text())


@cache
def templates_for(book: Book) -> tuple[MarketTemplate, ...]:
    found: dict[str, MarketTemplate] = {}
    for answer in real_answers(book):
        if book is Book.BETPAWA:
            markets = {str(m["marketType"]["id"]): _betpawa_market(m) for m in answer["markets"]}
        elif book is Book.SPORTYBET:
            markets = _sportybet_markets(answer)
        else:
            markets = _bet9ja_markets(answer)
        for market_id, template in markets.items():
            found.setdefault(market_id, template)  # the first answer that has a market gives it
    return tuple(_with_presence(book, list(found.values())))


def _with_presence(book: Book, templates: list[MarketTemplate]) -> list[MarketTemplate]:
    audit = audit_rates()
    rates = audit["markets"].get(book.value, {})
    core = CORE_MARKETS[book]
    fixed: dict[str, float] = {}
    for template in templates:
        if template.market_id in core:
            fixed[template.market_id] = 1.0
        elif template.market_id in rates:
            fixed[template.market_id] = min(1.0, rates[template.market_id]["per_event"] / len(template.lines))
    # One presence for the markets nobody counted, so that an event holds the audit's mean: of
    # market types on BetPawa, of lines (market objects, key groups) on the others.
    counted = sum(fixed[t.market_id] * _size(t) for t in templates if t.market_id in fixed)
    uncounted = sum(_size(t) for t in templates if t.market_id not in fixed)
    target = audit["per_event"][book.value]
    default = min(1.0, max(MIN_PRESENCE, (target - counted) / uncounted)) if uncounted else 1.0
    result = []
    for template in templates:
        category = rates.get(template.market_id, {}).get("category")
        result.append(
            MarketTemplate(
                **{
                    **template.__dict__,
                    "presence": fixed.get(template.market_id, default),
                    "near_kickoff_only": category == "Player Props",
                }
            )
        )
    return result


def _size(template: MarketTemplate) -> int:
    return 1 if template.book is Book.BETPAWA else len(template.lines)


def expected_lines_per_event(book: Book) -> float:
    """Mean market lines per event the inventory produces (before kickoff-window effects)."""
    return sum(t.presence * len(t.lines) for t in templates_for(book))


def expected_markets_per_event(book: Book) -> float:
    return sum(t.presence for t in templates_for(book))
