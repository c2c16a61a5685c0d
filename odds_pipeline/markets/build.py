"""Build `data/catalogue.json`: BetPawa's markets, and how each competitor carries the same bet.

Evidence comes first, the reference registry second:

1. ON_THE_MATCH declares every BetPawa market of the recorded three-book match (SportRadar
   68995116, `sandbox/data/real/`) with the competitor markets that carry it. BetPawa's outcome
   names, lines and tabs are read from its real answer; SportyBet's SportRadar outcome ids are read
   from SportyBet's real answers by their labels. `odds_pipeline_tests/markets/test_real_prices.py`
   checks that each competitor's de-margined prices agree with BetPawa's own there, within 0.05.
   A competitor market whose labels name the same bet but whose prices disagree is kept with
   evidence "disagrees", and the mapper leaves it unmapped (UNCONFIRMED) with the reason.
2. The reference registry (market_mappings.json) for BetPawa markets that are not on the match
   (corner handicaps, bookings, team totals by half...): taken as it is, evidence "reference".
   Its entries for markets on the match are replaced: the real answers showed wrong BetPawa
   names, swapped outcomes and Bet9ja keys that do not exist (README, "Market catalogue").
3. INFERRED: equivalences by logic or key naming with nothing recorded to check them on.

Run: ``python -m odds_pipeline.markets.build ../shared/reference``. The JSON is committed; the
pipeline only reads it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from odds_pipeline.bookmakers.sportybet import outcome_label
from odds_pipeline.domain import Book
from odds_pipeline.markets.catalogue import (
    CATALOGUE_FILE,
    Carrier,
    CatalogueEntry,
    CatalogueOutcome,
    Evidence,
    LineKind,
    OutcomeSet,
    Source,
)
from odds_pipeline.sandbox.templates import REAL_ANSWERS, real_answer

# --- the markets of the recorded three-book match ----------------------------------------------


@dataclass(frozen=True)
class Side:
    """One competitor market that carries a BetPawa market."""

    book: Book
    market: str
    labels: Mapping[str, str]  # BetPawa outcome name → the book's label (SportyBet desc without its line)
    carrier: Carrier = Carrier.NONE
    params: Mapping[str, str] = field(default_factory=dict)
    fixed_line: float | None = None
    evidence: Evidence = Evidence.CHECKED
    note: str | None = None
    by_rule: bool = False  # labels follow a rule (scores): the recorded answers need not hold every one


@dataclass(frozen=True)
class OnTheMatch:
    entry: str
    betpawa_id: str
    sides: tuple[Side, ...]
    line_kind: LineKind = LineKind.NONE
    outcome_set: OutcomeSet = OutcomeSet.EXCLUSIVE
    note: str | None = None


def sb(market: str, labels: Mapping[str, str], carrier: Carrier = Carrier.NONE, **kwargs: Any) -> Side:
    return Side(Book.SPORTYBET, market, labels, carrier, **kwargs)


def b9(key: str, suffixes: Mapping[str, str], carrier: Carrier = Carrier.NONE, **kwargs: Any) -> Side:
    return Side(Book.BET9JA, key, suffixes, carrier, **kwargs)


def same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


SB_1X2 = {"1": "Home", "X": "Draw", "2": "Away"}
B9_1X2 = same("1", "X", "2")
SB_YES_NO = same("Yes", "No")
B9_YES_NO = {"Yes": "Y", "No": "N"}
SB_OVER_UNDER = same("Over", "Under")
B9_OVER_UNDER = {"Over": "O", "Under": "U"}
SB_ODD_EVEN = same("Odd", "Even")
B9_ODD_EVEN = {"Odd": "OD", "Even": "EV"}
SB_DOUBLE_CHANCE = {"1X": "Home or Draw", "X2": "Draw or Away", "12": "Home or Away"}
B9_DOUBLE_CHANCE = same("1X", "X2", "12")
SB_DRAW_NO_BET = {"1": "Home", "2": "Away"}
SB_HALVES = {"First Half": "1st half", "Second Half": "2nd half", "Equal": "Equal"}
B9_HALVES = {"First Half": "1", "Second Half": "2", "Equal": "E"}
DOUBLE_CHANCES = (("1X", "Home/Draw"), ("12", "Home/Away"), ("X2", "Draw/Away"))
SB_DC_BTTS = {f"{dc} - {yn}": f"{name} & {yn}" for dc, name in DOUBLE_CHANCES for yn in ("Yes", "No")}
SB_GOAL_RANGES = same("1-2", "1-3", "2-3", "4+", "No goal")
RESULTS = {"1": "Home", "X": "Draw", "2": "Away"}
HTFT = [f"{h}/{f}" for h in "1X2" for f in "1X2"]
SCORES_1H = ["0-0", "0-1", "0-2", "1-0", "1-1", "1-2", "2-0", "2-1", "2-2"]


def _colon(score: str) -> str:
    return score.replace("-", ":")


def _scores(names: Iterable[str]) -> dict[str, str]:
    """BetPawa's "2-1" is SportyBet's and Bet9ja's "2:1"; HT/FT "0-0/1-0" is SportyBet's "0:0 1:0"."""
    return {name: _colon(name).replace("/", " ") for name in names}


def _betpawa_names(betpawa_id: str) -> list[str]:
    names: list[str] = []
    for market in real_answer(REAL_ANSWERS[Book.BETPAWA][0])["markets"]:
        if str(market["marketType"]["id"]) == betpawa_id:
            for row in market["row"]:
                names += [p["name"] for p in row["prices"] if p["name"] not in names]
    return names


CORRECT_SCORES_FT = [n for n in _betpawa_names("4429") if n != "Other"]
HTFT_SCORES = _betpawa_names("28000228")
MULTIGOALS_FT = _betpawa_names("28000047")
DISAGREE = "on the recorded match its de-margined prices were {diff} from BetPawa's on {where}: {why}"


def _dc_btts(suffix: str) -> dict[str, str]:
    """Bet9ja's double chance with goal/no goal: BetPawa "1X - Yes" is "1XGG" plus the period's suffix."""
    return {
        f"{dc} - {yn}": f"{dc}{code}{suffix}" for dc in ("1X", "12", "X2") for yn, code in (("Yes", "GG"), ("No", "NG"))
    }


# fmt: off
ON_THE_MATCH: list[OnTheMatch] = [
    OnTheMatch("1x2_ft", "3743", (sb("1", SB_1X2), b9("1X2", B9_1X2))),
    OnTheMatch("double_chance_ft", "4693", (sb("10", SB_DOUBLE_CHANCE), b9("DC", B9_DOUBLE_CHANCE)),
               outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("btts_ft", "3795", (sb("29", SB_YES_NO), b9("GGNG", B9_YES_NO))),
    OnTheMatch("next_goal", "28000224", (
        sb("8", {"1": "Home", "None": "None", "2": "Away"}, Carrier.GOAL_NUMBER),
        b9("1STGOAL", {"1": "1", "None": "X", "2": "2"}, Carrier.FIXED, fixed_line=1.0, note="the first goal only"),
    ), line_kind=LineKind.NUMBER, note='BetPawa\'s line is the goal\'s number: "Next Goal (Goal 1)" is the first goal'),
    OnTheMatch("over_under_ft", "5000", (sb("18", SB_OVER_UNDER, Carrier.TOTAL),
                                         b9("OU", B9_OVER_UNDER, Carrier.TOTAL)), line_kind=LineKind.TOTAL),
    OnTheMatch("home_over_under_ft", "5006", (
        sb("19", SB_OVER_UNDER, Carrier.TOTAL),
        sb("900015", {"Over": "Yes", "Under": "No"}, Carrier.FIXED, fixed_line=0.5,
           note="Home Team To Score Yes/No is home over/under 0.5"),
        b9("HAOU", {"Over": "OH", "Under": "UH"}, Carrier.TOTAL, note="home half of the combined team totals"),
        b9("HTS", {"Over": "Y", "Under": "N"}, Carrier.FIXED, fixed_line=0.5, note="Home To Score is over 0.5"),
    ), line_kind=LineKind.TOTAL),
    OnTheMatch("away_over_under_ft", "5003", (
        sb("20", SB_OVER_UNDER, Carrier.TOTAL),
        sb("900014", {"Over": "Yes", "Under": "No"}, Carrier.FIXED, fixed_line=0.5,
           note="Away Team To Score Yes/No is away over/under 0.5"),
        b9("HAOU", {"Over": "OA", "Under": "UA"}, Carrier.TOTAL, note="away half of the combined team totals"),
        b9("AWAYSCORE", {"Over": "Y", "Under": "N"}, Carrier.FIXED, fixed_line=0.5, note="Away to Score is over 0.5"),
    ), line_kind=LineKind.TOTAL),
    OnTheMatch("htft", "4706", (sb("47", {n: "/".join(RESULTS[r] for r in n.split("/")) for n in HTFT}),
                                b9("HTFT", same(*HTFT)))),
    OnTheMatch("handicap_3way_ft", "4724", (sb("14", SB_1X2, Carrier.EUROPEAN),
                                            b9("1X2HND", {"1": "1H", "X": "XH", "2": "2H"}, Carrier.EUROPEAN)),
               line_kind=LineKind.EUROPEAN),
    OnTheMatch("1x2_1h", "3668", (sb("60", SB_1X2), b9("1X21T", B9_1X2))),
    OnTheMatch("1x2_2h", "3685", (sb("83", SB_1X2), b9("1X22T", B9_1X2))),
    OnTheMatch("1x2_10min", "28000173", (sb("105", SB_1X2, Carrier.PARAMS, params={"from": "1", "to": "10"}),
                                         b9("1X21ST10MIN", B9_1X2))),
    OnTheMatch("over_under_1h", "4958", (sb("68", SB_OVER_UNDER, Carrier.TOTAL),
                                         b9("OU1T", B9_OVER_UNDER, Carrier.TOTAL)), line_kind=LineKind.TOTAL),
    OnTheMatch("over_under_2h", "4976", (sb("90", SB_OVER_UNDER, Carrier.TOTAL),
                                         b9("OU2T", B9_OVER_UNDER, Carrier.TOTAL)), line_kind=LineKind.TOTAL),
    OnTheMatch("handicap_3way_1h", "4716", (sb("65", SB_1X2, Carrier.EUROPEAN),
                                            b9("1X2HNDHT", B9_1X2, Carrier.EUROPEAN)), line_kind=LineKind.EUROPEAN),
    OnTheMatch("handicap_3way_2h", "4720", (sb("87", SB_1X2, Carrier.EUROPEAN),
                                            b9("1X2HND2TN", B9_1X2, Carrier.EUROPEAN)), line_kind=LineKind.EUROPEAN),
    OnTheMatch("asian_handicap_ft", "3774", (sb("16", SB_DRAW_NO_BET, Carrier.ASIAN),
                                             b9("AH", same("1", "2"), Carrier.ASIAN)), line_kind=LineKind.ASIAN),
    # Bet9ja sent no AH1T/AH2T on either recorded answer: the registry's keys stay, as reference.
    OnTheMatch("asian_handicap_1h", "3747", (
        sb("66", SB_DRAW_NO_BET, Carrier.ASIAN),
        b9("AH1T", same("1", "2"), Carrier.ASIAN, evidence=Evidence.REFERENCE),
    ), line_kind=LineKind.ASIAN),
    OnTheMatch("asian_handicap_2h", "3756", (
        sb("88", SB_DRAW_NO_BET, Carrier.ASIAN),
        b9("AH2T", same("1", "2"), Carrier.ASIAN, evidence=Evidence.REFERENCE),
    ), line_kind=LineKind.ASIAN),
    OnTheMatch("highest_scoring_half", "4728", (sb("52", SB_HALVES), b9("HIGHHALF", B9_HALVES))),
    OnTheMatch("1x2_over_under_ft", "1096755", (
        sb("37", {f"{r} - {t}": f"{RESULTS[r]} & {t}" for r in "1X2" for t in ("Over", "Under")}, Carrier.TOTAL),
        b9("1X2OU", {f"{r} - {t}": f"{r}{t[0]}" for r in "1X2" for t in ("Over", "Under")}, Carrier.TOTAL),
    ), line_kind=LineKind.TOTAL),
    OnTheMatch("draw_no_bet_ft", "4703", (sb("11", SB_DRAW_NO_BET), b9("DNB", same("1", "2")))),
    OnTheMatch("draw_no_bet_1h", "4697", (sb("64", SB_DRAW_NO_BET), b9("DNB1T", same("1", "2")))),
    OnTheMatch("draw_no_bet_2h", "4700", (sb("86", SB_DRAW_NO_BET), b9("DNB2T", same("1", "2")))),
    OnTheMatch("correct_score_ft", "4429", (
        sb("45", _scores(CORRECT_SCORES_FT), by_rule=True),
        b9("CSFT", _scores(CORRECT_SCORES_FT), by_rule=True),
    ), note='"Other" covers different scores on each book, so it is never mapped'),
    OnTheMatch("correct_score_1h", "3819", (
        sb("81", {**_scores(SCORES_1H), "Other": "Other"}),
        b9("CS1T", {**_scores(SCORES_1H), "Other": "OTH"}, evidence=Evidence.DISAGREES,
           note=DISAGREE.format(diff=0.065, where="0-0", why="Bet9ja puts no margin on 0:0 (priced as its first-half "
                                "under 0.5) and loads its 46% overround on the other scores")),
    )),
    OnTheMatch("correct_score_2h", "4063", (sb("98", {**_scores(SCORES_1H), "Other": "Other"}),
                                            b9("CS2T", {**_scores(SCORES_1H), "Other": "OTH"}))),
    OnTheMatch("double_chance_btts_ft", "28000014", (
        sb("546", SB_DC_BTTS), b9("DCGGNG", _dc_btts("")),
    ), outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("multiscores_ft", "28000035", (sb("551", {
        **same(*(n for n in _betpawa_names("28000035") if not n.startswith("Other"))),
        "Other Home Win": "Other Homewin", "Other Away Win": "Other Awaywin",
    }),)),
    OnTheMatch("home_clean_sheet_ft", "3816", (sb("31", SB_YES_NO), b9("CLEANSH", B9_YES_NO))),
    OnTheMatch("away_clean_sheet_ft", "3807", (sb("32", SB_YES_NO), b9("CLEANSA", B9_YES_NO))),
    OnTheMatch("exact_goals_ft", "4926", (
        sb("21", same("0", "1", "2", "3", "4", "5", "6+"), Carrier.VARIANT),
        b9("EXACTGOAL", same("1", "2", "3", "4", "5"), note="Bet9ja sends no 0, and whether its 6 means 6+ is unknown"),
    )),
    OnTheMatch("odd_even_ft", "4833", (sb("26", SB_ODD_EVEN), b9("OE", B9_ODD_EVEN))),
    OnTheMatch("odd_even_1h", "4794", (sb("74", SB_ODD_EVEN), b9("OE1T", B9_ODD_EVEN))),
    OnTheMatch("odd_even_2h", "4809", (sb("94", SB_ODD_EVEN), b9("OE2T", B9_ODD_EVEN))),
    OnTheMatch("home_odd_even_ft", "4842", (sb("27", SB_ODD_EVEN), b9("OEHOME", B9_ODD_EVEN))),
    OnTheMatch("away_odd_even_ft", "4836", (sb("28", SB_ODD_EVEN), b9("OEAWAY", B9_ODD_EVEN))),
    OnTheMatch("last_goal_ft", "4870", (sb("9", {"1": "Home", "2": "Away", "No Goal": "None"}),
                                        b9("LASTSCORE", {"1": "1", "2": "2", "No Goal": "N"}))),
    OnTheMatch("which_team_to_score", "1096782", (
        sb("30", {"No Goal": "None", "Home": "Only Home", "Away": "Only Away", "Both": "Both teams"}),
        b9("SCORET", {"No Goal": "NG", "Home": "1", "Away": "2", "Both": "GG"}),
    )),
    OnTheMatch("double_chance_1h", "4673", (sb("63", SB_DOUBLE_CHANCE), b9("DC1T", B9_DOUBLE_CHANCE)),
               outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("double_chance_2h", "4681", (sb("85", SB_DOUBLE_CHANCE), b9("DC2T", B9_DOUBLE_CHANCE)),
               outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("btts_1h", "3789", (sb("75", SB_YES_NO), b9("GGNG1T", B9_YES_NO))),
    OnTheMatch("btts_2h", "3792", (sb("95", SB_YES_NO), b9("GGNG2T", B9_YES_NO))),
    OnTheMatch("home_win_either_half", "1096806", (sb("50", SB_YES_NO), b9("HOMEWINHALF", B9_YES_NO))),
    OnTheMatch("away_win_either_half", "1096809", (sb("51", SB_YES_NO), b9("AWAYWINHALF", B9_YES_NO))),
    OnTheMatch("home_score_both_halves", "1096807", (sb("56", SB_YES_NO), b9("HOMESCOREBOTH", B9_YES_NO))),
    OnTheMatch("away_score_both_halves", "1096814", (sb("57", SB_YES_NO), b9("AWAYSCOREBOTH", B9_YES_NO))),
    # Bet9ja's "No" was off on the recorded match: nothing to compare, so the registry's keys stay, as reference.
    OnTheMatch("home_win_both_halves", "1096805", (sb("48", SB_YES_NO),
                                                   b9("HOMEWINBOTH", B9_YES_NO, evidence=Evidence.REFERENCE))),
    OnTheMatch("away_win_both_halves", "1096808", (sb("49", SB_YES_NO),
                                                   b9("AWAYWINBOTH", B9_YES_NO, evidence=Evidence.REFERENCE))),
    # Bet9ja has no clean sheet by half; "the other team scores in that half", Yes and No swapped, is one.
    OnTheMatch("home_clean_sheet_1h", "3810", (sb("76", SB_YES_NO), b9("2SCOREHT", {"Yes": "N", "No": "Y"},
                                                                       note="away does not score in the 1st half"))),
    OnTheMatch("home_clean_sheet_2h", "3813", (sb("96", SB_YES_NO), b9("2SCORE2T", {"Yes": "N", "No": "Y"},
                                                                       note="away does not score in the 2nd half"))),
    OnTheMatch("away_clean_sheet_1h", "3801", (sb("77", SB_YES_NO), b9("1SCOREHT", {"Yes": "N", "No": "Y"},
                                                                       note="home does not score in the 1st half"))),
    OnTheMatch("away_clean_sheet_2h", "3804", (sb("97", SB_YES_NO), b9("1SCORE2T", {"Yes": "N", "No": "Y"},
                                                                       note="home does not score in the 2nd half"))),
    OnTheMatch("1x2_btts_ft", "3591790", (
        sb("35", {f"{r} - {yn}": f"{RESULTS[r]} & {yn.lower()}" for r in "1X2" for yn in ("Yes", "No")}),
        b9("1X2GGNG", {f"{r} - {yn}": f"{r}AND{'GG' if yn == 'Yes' else 'NG'}" for r in "1X2" for yn in ("Yes", "No")}),
    )),
    OnTheMatch("corners_1x2_ft", "1096787", (sb("162", SB_1X2), b9("TEAMCORNER", B9_1X2))),
    OnTheMatch("corners_1x2_1h", "1096788", (sb("173", SB_1X2), b9("TEAMCORNER1T", B9_1X2))),
    OnTheMatch("corners_over_under_ft", "1096783", (sb("166", SB_OVER_UNDER, Carrier.TOTAL),
                                                    b9("OUCORNERS", B9_OVER_UNDER, Carrier.TOTAL)),
               line_kind=LineKind.TOTAL),
    OnTheMatch("corners_over_under_1h", "1096784", (sb("177", SB_OVER_UNDER, Carrier.TOTAL),
                                                    b9("C1HTOU", B9_OVER_UNDER, Carrier.TOTAL)),
               line_kind=LineKind.TOTAL),
    OnTheMatch("corners_exact_1h", "1096804", (sb("182", same("0-4", "5-6", "7+"), Carrier.VARIANT),
                                               b9("MULTICH1", {"0-4": "04HT", "5-6": "56HT", "7+": "7HT"}))),
    OnTheMatch("corners_exact_ft", "1096803", (sb("169", same("0-8", "9-11", "12+"), Carrier.VARIANT),)),
    OnTheMatch("corners_odd_even_ft", "1096789", (sb("172", SB_ODD_EVEN), b9("OECORNER", B9_ODD_EVEN))),
    OnTheMatch("home_win_to_nil_ft", "5051", (sb("33", SB_YES_NO), b9("HOMEWINNIL", B9_YES_NO))),
    OnTheMatch("away_win_to_nil_ft", "5042", (sb("34", SB_YES_NO), b9("AWAYWINNIL", B9_YES_NO))),
    OnTheMatch("home_exact_goals_ft", "4942", (sb("23", same("0", "1", "2", "3+"), Carrier.VARIANT),
                                               b9("GOALSHOME", same("0", "1", "2", "3+")))),
    OnTheMatch("away_exact_goals_ft", "4938", (sb("24", same("0", "1", "2", "3+"), Carrier.VARIANT),
                                               b9("GOALSAWAY", same("0", "1", "2", "3+")))),
    OnTheMatch("double_chance_btts_1h", "28000021", (sb("542", SB_DC_BTTS), b9("DCGGNGHT", _dc_btts("HT"))),
               outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("double_chance_btts_2h", "28000028", (sb("545", SB_DC_BTTS), b9("DCGGNG2T", _dc_btts("2T"))),
               outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("home_highest_scoring_half", "4736", (sb("53", SB_HALVES), b9("HOMEHIGHHALF", B9_HALVES))),
    OnTheMatch("away_highest_scoring_half", "4732", (sb("54", SB_HALVES), b9("AWAYHIGHHALF", B9_HALVES))),
    OnTheMatch("multigoals_ft", "28000047", (
        sb("548", same(*MULTIGOALS_FT), evidence=Evidence.DISAGREES,
           note=DISAGREE.format(diff=0.074, where="4-6", why="SportyBet loads far more margin on narrow ranges")),
        b9("NGOALS", same(*(n for n in MULTIGOALS_FT if n[0].isdigit() and n[-1].isdigit())), by_rule=True,
           evidence=Evidence.DISAGREES, note=DISAGREE.format(diff=0.063, where="1-2", why="Bet9ja prices every "
                                                              "range cheaper")),
    ), outcome_set=OutcomeSet.OVERLAPPING),
    OnTheMatch("multigoals_1h", "28000065", (sb("552", SB_GOAL_RANGES),
                                             b9("MGOAL1T", {"1-2": "12", "1-3": "13", "2-3": "23"})),
               outcome_set=OutcomeSet.OVERLAPPING),
    OnTheMatch("multigoals_2h", "28000071", (sb("553", SB_GOAL_RANGES),
                                             b9("MGOAL2T", {"1-2": "12", "1-3": "13", "2-3": "23"})),
               outcome_set=OutcomeSet.OVERLAPPING),
    OnTheMatch("home_multigoals_ft", "28000077", (sb("549", SB_GOAL_RANGES),
                                                  b9("TMGHO", {"1-2": "HO12", "1-3": "HO13", "2-3": "HO23"})),
               outcome_set=OutcomeSet.OVERLAPPING),
    OnTheMatch("away_multigoals_ft", "28000083", (sb("550", SB_GOAL_RANGES),
                                                  b9("TMGAW", {"1-2": "AW12", "1-3": "AW13", "2-3": "AW23"})),
               outcome_set=OutcomeSet.OVERLAPPING),
    OnTheMatch("double_chance_over_under_ft", "28000089", (
        sb("547", {f"{dc} - {t}": f"{name} & {t}" for dc, name in DOUBLE_CHANCES for t in ("Over", "Under")},
           Carrier.TOTAL),
        b9("DCOU", {f"{dc} - {t}": f"{dc}{t[0]}" for dc in ("1X", "12", "X2") for t in ("Over", "Under")},
           Carrier.TOTAL),
    ), line_kind=LineKind.TOTAL, outcome_set=OutcomeSet.DOUBLE),
    OnTheMatch("htft_correct_score", "28000228", (sb("46", _scores(HTFT_SCORES), by_rule=True),
                                                  b9("HTFTCS", same(*HTFT_SCORES), by_rule=True))),
    OnTheMatch("1x2_1up_ft", "28000810", (sb("60200", SB_1X2), b9("1X21", {"1": "11", "X": "X1", "2": "21"})),
               outcome_set=OutcomeSet.OVERLAPPING,
               note="pays a team out as soon as it leads by one goal, so home and away can both win"),
    OnTheMatch("winning_margin", "28000209", (
        sb("15", same("Home by 1", "Home by 2", "Home by 3+", "Away by 1", "Away by 2", "Away by 3+", "Draw"),
           Carrier.VARIANT),
        b9("WINMARGIN", {"Home by 1": "HT1", "Home by 2": "HT2", "Home by 3+": "HT>2", "Away by 1": "AT1",
                         "Away by 2": "AT2", "Away by 3+": "AT>2", "Draw": "X"}, evidence=Evidence.DISAGREES,
           note=DISAGREE.format(diff=0.060, where="Draw", why="Bet9ja prices the draw as its 1X2 draw and splits the "
                                "margins unlike its own correct score")),
    )),
]

# BetPawa markets no competitor market is mapped onto, with the reason: BetPawa's lines still
# find their entry. Their outcomes are players, different on every event.
BETPAWA_ONLY = [
    ("anytime_goalscorer", "129108", "Anytime Goalscorer",
     "players are spelt differently on each book (SportyBet 40: \"Cadiz, Jhonder (Wuhan Three Towns FC)\", "
     "BetPawa: \"Jhonder Cadiz\"): no player matching is built yet"),
]

# Competitor markets with no BetPawa market: named, so the reason is explicit.
COMPETITOR_ONLY = [
    ("early_payout_1x2_2up", "1X2 - 2UP (early payout)", (sb("60100", SB_1X2),
                                                         b9("1X22", {"1": "12", "X": "X2", "2": "22"}))),
]

# --- equivalences with nothing recorded to check them on ----------------------------------------

YES_AS_OVER = {"Yes": "over", "No": "under"}
B9_YES_AS_OVER = {"Y": "over", "N": "under"}
# (entry, book, market, carrier, labels → outcome ids, fixed line, why)
INFERRED: list[tuple[str, Book, str, Carrier, dict[str, str], float | None, str]] = [
    ("home_over_under_1h", Book.SPORTYBET, "900022", Carrier.FIXED, YES_AS_OVER, 0.5, "Half-time Home Team To Score"),
    ("away_over_under_1h", Book.SPORTYBET, "900021", Carrier.FIXED, YES_AS_OVER, 0.5, "Half-time Away Team to Score"),
    ("home_over_under_2h", Book.SPORTYBET, "900020", Carrier.FIXED, YES_AS_OVER, 0.5, "2nd Half Home Team to Score"),
    ("away_over_under_2h", Book.SPORTYBET, "900019", Carrier.FIXED, YES_AS_OVER, 0.5, "2nd Half Away Team to Score"),
    ("home_over_under_1h", Book.BET9JA, "1SCOREHT", Carrier.FIXED, B9_YES_AS_OVER, 0.5, "Home Score 1st Half"),
    ("away_over_under_1h", Book.BET9JA, "2SCOREHT", Carrier.FIXED, B9_YES_AS_OVER, 0.5, "Away Score 1st Half"),
    ("home_over_under_2h", Book.BET9JA, "1SCORE2T", Carrier.FIXED, B9_YES_AS_OVER, 0.5, "Home Score 2nd Half"),
    ("away_over_under_2h", Book.BET9JA, "2SCORE2T", Carrier.FIXED, B9_YES_AS_OVER, 0.5, "Away Score 2nd Half"),
    ("corner_handicap_ft", Book.BET9JA, "CAH", Carrier.ASIAN, {"1": "home", "2": "away"}, None,
     "Corner Asian Handicap; BetPawa's equivalent is named in the reference's phase-46 research"),
    ("corner_handicap_1h", Book.BET9JA, "CAHH", Carrier.ASIAN, {"1": "home", "2": "away"}, None,
     "Corner Asian Handicap HT; phase-46 research"),
]
# fmt: on


# --- the reference registry, for the markets that are not on the match -------------------------

SPORTYBET_CARRIERS = {"none": Carrier.NONE, "total": Carrier.TOTAL, "variant": Carrier.VARIANT}
BET9JA_CARRIERS = {"none": Carrier.NONE, "line": Carrier.TOTAL, "haou_split": Carrier.TOTAL}
# Registry entries replaced by the above: their markets are on the match, or they named a
# competitor market that now maps (SportyBet 60200, 8, 900014/15; Bet9ja 1STGOAL, LASTSCORE, HAOU).
REPLACED = {
    "haou_combined",
    "home_to_score_ft",
    "away_to_score_ft",
    "last_score_ft",
    "first_goal_ft",
    "home_win_1plus_ft",
    "home_win_2plus_ft",
}


def _registry_line_kind(entry: dict[str, Any]) -> LineKind:
    flags = entry["flags"]
    params = {flags["sportybet_param"], flags["bet9ja_param"]}
    if params & {"total", "line", "haou_split"}:
        return LineKind.TOTAL
    if params & {"hcp", "handicap"}:
        return LineKind.EUROPEAN if flags["handicap_style"] == "european_3way" else LineKind.ASIAN
    return LineKind.NONE


def _registry_sources(entry: dict[str, Any], kind: LineKind) -> list[Source]:
    flags = entry["flags"]
    handicap = Carrier.EUROPEAN if kind is LineKind.EUROPEAN else Carrier.ASIAN
    sources = []
    if entry["sportybet_id"]:
        param = flags["sportybet_param"]
        carrier = handicap if param == "hcp" else SPORTYBET_CARRIERS.get(param, Carrier.PARAMS)
        labels = {o["sportybet_desc"]: o["canonical_id"] for o in entry["outcomes"] if o["sportybet_desc"]}
        sources.append(Source(Book.SPORTYBET, entry["sportybet_id"], carrier, labels))
    if entry["bet9ja_key"]:
        param = flags["bet9ja_param"]
        carrier = handicap if param == "handicap" else BET9JA_CARRIERS[param]
        if entry["canonical_id"] == "over_under_btts_ft":
            carrier = Carrier.TOTAL  # a combo keeps its total on every book (SportyBet 36 carries total=2.5)
        labels = {o["bet9ja_suffix"]: o["canonical_id"] for o in entry["outcomes"] if o["bet9ja_suffix"]}
        sources.append(Source(Book.BET9JA, entry["bet9ja_key"].removeprefix("S_"), carrier, labels))
    return [s for s in sources if s.outcomes]


def _registry_outcome_set(entry: dict[str, Any]) -> OutcomeSet:
    names = {o["betpawa_name"] for o in entry["outcomes"]}
    return OutcomeSet.DOUBLE if {"1X", "X2", "12"} <= names else OutcomeSet.EXCLUSIVE


def betpawa_tabs(name: str) -> tuple[str, ...]:
    """BetPawa's tab groups for a market not on the recorded match, by its name."""
    lowered = name.lower()
    tabs = []
    if "first half" in lowered:
        tabs.append("1st half")
    elif "second half" in lowered:
        tabs.append("2nd half")
    for word, tab in (
        ("corner", "corners"),
        ("booking", "bookings"),
        ("sent off", "bookings"),
        ("sending", "bookings"),
    ):
        if word in lowered and tab not in tabs:
            tabs.append(tab)
    if "handicap" in lowered:
        tabs.append("handicaps")
    if " and " in lowered or "&" in lowered:
        tabs.append("combos")
    if re.search(r"goal|over/under|score", lowered) and not {"corners", "bookings"} & set(tabs):
        tabs.append("goals")
    return tuple(tabs) or ("main",)


# --- assembling -------------------------------------------------------------------------------


def _outcome_id(name: str) -> str:
    """A stable id for a BetPawa outcome name: "1 - Over" → "1_over", "0-0/1-0" → "0_0_1_0"."""
    slug = re.sub(r"[^0-9a-z+]+", "_", name.lower()).strip("_")
    return slug.replace("+", "_plus") or "outcome"


class EvidenceError(ValueError):
    """ON_THE_MATCH names something the real answers do not hold."""


def _sportybet_outcomes(market: str, labels: Mapping[str, str], by_rule: bool = False) -> dict[str, str]:
    """Per label, the SportRadar outcome id SportyBet's real answers give it (labels without their line)."""
    found: dict[str, str] = {}
    for answer in (real_answer(name) for name in REAL_ANSWERS[Book.SPORTYBET]):
        data = answer["data"]
        teams = [(data["homeTeamName"], "Home"), (data["awayTeamName"], "Away")]
        for line in data["markets"]:
            if str(line["id"]) != market:
                continue
            params = dict(p.split("=", 1) for p in (line.get("specifier") or "").split("|") if "=" in p)
            for outcome in line["outcomes"]:
                found.setdefault(outcome_label(outcome["desc"], params, teams).casefold(), str(outcome["id"]))
    missing = [label for label in labels.values() if label.casefold() not in found]
    if missing and (not by_rule or len(missing) == len(labels)):
        raise EvidenceError(f"SportyBet {market} has no outcome labelled {missing} in the real answers")
    return {label: found[label.casefold()] for label in labels.values() if label.casefold() in found}


def _bet9ja_check(key: str, suffixes: Iterable[str], by_rule: bool = False) -> None:
    pattern = re.compile(rf"^S_{re.escape(key)}(@[^_]+)?_(?P<suffix>.+)$")
    sent = {
        found["suffix"]
        for name in REAL_ANSWERS[Book.BET9JA]
        for odds_key in real_answer(name)["D"]["O"]
        if (found := pattern.match(odds_key))
    }
    suffixes = list(suffixes)
    missing = [s for s in suffixes if s not in sent]
    if missing and (not by_rule or len(missing) == len(suffixes)):
        raise EvidenceError(f"Bet9ja {key} has no suffix {missing} in the real answers")


def _side_source(side: Side, ids: Mapping[str, str]) -> Source:
    outcomes = {label: ids[name] for name, label in side.labels.items()}
    outcome_ids: dict[str, str] = {}
    if side.book is Book.SPORTYBET and side.evidence is not Evidence.REFERENCE:
        sportradar = _sportybet_outcomes(side.market, side.labels, side.by_rule)
        outcome_ids = {sportradar[label]: ids[name] for name, label in side.labels.items() if label in sportradar}
    elif side.book is Book.BET9JA and side.evidence is not Evidence.REFERENCE:
        _bet9ja_check(side.market, side.labels.values(), side.by_rule)
    return Source(
        book=side.book,
        market=side.market,
        carrier=side.carrier,
        outcomes=outcomes,
        params=dict(side.params),
        fixed_line=side.fixed_line,
        outcome_ids=outcome_ids,
        evidence=side.evidence,
        note=side.note,
    )


def _on_the_match(spec: OnTheMatch, registry: Mapping[str, dict[str, Any]]) -> CatalogueEntry:
    market = next(
        m
        for m in real_answer(REAL_ANSWERS[Book.BETPAWA][0])["markets"]
        if str(m["marketType"]["id"]) == spec.betpawa_id
    )
    names = _betpawa_names(spec.betpawa_id)
    ids = {name: _outcome_id(name) for name in names}
    for side in spec.sides:
        unknown = set(side.labels) - set(names)
        if unknown:
            raise EvidenceError(f"{spec.entry}: BetPawa {spec.betpawa_id} has no outcome {sorted(unknown)}")
    reference = registry.get(spec.entry)
    return CatalogueEntry(
        id=spec.entry,
        name=reference["name"] if reference else market["marketType"]["name"],
        betpawa_id=spec.betpawa_id,
        line_kind=spec.line_kind,
        outcomes=tuple(CatalogueOutcome(ids[name], name) for name in names),
        sources=tuple(_side_source(side, ids) for side in spec.sides),
        outcome_set=spec.outcome_set,
        tabs=tuple(t for t in market["marketType"].get("tabs") or () if t != "all"),
        origin="real",
        note=spec.note,
    )


def _competitor_only(entry_id: str, name: str, sides: tuple[Side, ...]) -> CatalogueEntry:
    outcome_ids = sorted({canonical for side in sides for canonical in side.labels})
    return CatalogueEntry(
        id=entry_id,
        name=name,
        betpawa_id=None,
        line_kind=LineKind.NONE,
        outcomes=tuple(CatalogueOutcome(o, None) for o in outcome_ids),
        sources=tuple(_side_source(side, {o: o for o in outcome_ids}) for side in sides),
        origin="real",
        note="BetPawa offers no such market on the recorded match",
    )


def build(reference_dir: Path) -> list[CatalogueEntry]:
    registry = {e["canonical_id"]: e for e in json.loads((reference_dir / "market_mappings.json").read_text())}
    entries: dict[str, CatalogueEntry] = {}
    on_the_match = {spec.betpawa_id for spec in ON_THE_MATCH}
    for raw in registry.values():
        if raw["canonical_id"] in REPLACED or raw["betpawa_id"] in on_the_match:
            continue
        kind = _registry_line_kind(raw)
        entries[raw["canonical_id"]] = CatalogueEntry(
            id=raw["canonical_id"],
            name=raw["name"],
            betpawa_id=raw["betpawa_id"],
            line_kind=kind,
            outcomes=tuple(CatalogueOutcome(o["canonical_id"], o["betpawa_name"]) for o in raw["outcomes"]),
            sources=tuple(_registry_sources(raw, kind)),
            outcome_set=_registry_outcome_set(raw),
            tabs=betpawa_tabs(raw["name"]) if raw["betpawa_id"] else (),
        )
    for spec in ON_THE_MATCH:
        entries[spec.entry] = _on_the_match(spec, registry)
    for entry_id, name, sides in COMPETITOR_ONLY:
        entries[entry_id] = _competitor_only(entry_id, name, sides)
    for entry_id, betpawa_id, name, why in BETPAWA_ONLY:
        entries[entry_id] = CatalogueEntry(
            id=entry_id,
            name=name,
            betpawa_id=betpawa_id,
            line_kind=LineKind.NONE,
            outcomes=(),
            sources=(),
            outcome_set=OutcomeSet.OVERLAPPING,
            origin="real",
            note=why,
        )
    for entry_id, book, market, carrier, labels, fixed_line, why in INFERRED:
        entry = entries[entry_id]
        source = Source(book, market, carrier, labels, fixed_line=fixed_line, evidence=Evidence.INFERRED, note=why)
        entries[entry_id] = replace(entry, sources=(*entry.sources, source))
    _check_claims(entries.values())
    return list(entries.values())


def _check_claims(entries: Iterable[CatalogueEntry]) -> None:
    """A competitor market is either mapped or competitor-only, never both."""
    mapped = {(s.book, s.market) for e in entries if e.betpawa_id for s in e.sources}
    clashing = [
        (e.id, s.market) for e in entries if not e.betpawa_id for s in e.sources if (s.book, s.market) in mapped
    ]
    if clashing:
        raise EvidenceError(f"competitor-only entries claim mapped markets: {clashing}")


def write(entries: list[CatalogueEntry], path: Path = CATALOGUE_FILE) -> None:
    document = {
        "about": "odds_pipeline market catalogue; generated by odds_pipeline.markets.build, do not edit by hand",
        "entries": [e.to_json() for e in entries],
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write(build(Path(sys.argv[1])))
