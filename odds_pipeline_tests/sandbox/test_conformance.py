"""The sandbox speaks like the books: its answers hold the JSON paths and value types of the real ones."""

from __future__ import annotations

import copy

import orjson
import pytest

from odds_pipeline.bookmakers.palimpsest import PalimpsestCapture
from odds_pipeline.domain import Book
from odds_pipeline.sandbox import conformance
from odds_pipeline.sandbox.templates import real_answers


def _sandbox_answers(capture: PalimpsestCapture) -> list:
    return [orjson.loads(raw.body) for raw in capture.events]


@pytest.mark.parametrize("book", list(Book))
def test_the_sandbox_holds_the_real_answers_paths_and_invents_few(
    book: Book, sandbox_palimpsests: dict[Book, PalimpsestCapture]
) -> None:
    result = conformance.compare(book, real_answers(book), _sandbox_answers(sandbox_palimpsests[book]))
    assert result.real_paths > 50
    assert result.covered >= 0.95, result.missing
    assert result.invented_share <= 0.05, result.invented


def test_a_shape_change_is_caught(sandbox_palimpsests: dict[Book, PalimpsestCapture]) -> None:
    """Numbers sent as strings and a dropped field are missing paths; a renamed field is invented."""
    answers = copy.deepcopy(_sandbox_answers(sandbox_palimpsests[Book.BET9JA]))
    for answer in answers:
        answer["D"]["ID"] = str(answer["D"]["ID"])
        answer["D"].pop("TRANS")
        answer["D"]["MARKETS"] = answer["D"].pop("MK")
    result = conformance.compare(Book.BET9JA, real_answers(Book.BET9JA), answers)
    assert ("D.ID", "number") in result.missing and ("D.TRANS", "object") in result.missing
    assert ("D.MARKETS", "array") in result.invented
    assert result.covered < 0.95 and result.invented_share > 0.05


def test_shapes_collapse_lists_numbers_and_dynamic_keys() -> None:
    document = {"D": {"O": {"S_OU@2.5_O": "1.9", "S_1X2_1": "2.1"}, "ID": 7, "P": 0.5, "E": [{"a": None}, {"a": "x"}]}}
    assert conformance.shape(document, Book.BET9JA) == {
        ("", "object"),
        ("D", "object"),
        ("D.O", "object"),
        ("D.O.*", "string"),
        ("D.ID", "number"),
        ("D.P", "number"),
        ("D.E", "array"),
        ("D.E[]", "object"),
        ("D.E[].a", "null"),
        ("D.E[].a", "string"),
    }
    # SportyBet has no dynamic objects: keys stay field names.
    assert ("D.O.S_OU@2.5_O", "string") in conformance.shape(document, Book.SPORTYBET)
