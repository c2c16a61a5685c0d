"""Does the sandbox speak like the books? Its answers' JSON paths and value types against the real ones.

A shape is the set of (path, type) pairs of a JSON document: ``data.markets[].outcomes[].odds``
with ``string``, say. List items share one path (``[]``), numbers are one type whatever their
form, and the keys of a book's dynamic objects (Bet9ja's odds keys, its AUX and TRANS tables)
collapse to ``*``. A sandbox conforms when the real answers' shape is covered by its answers'
shape, and it invents few paths the real answers never show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from odds_pipeline.domain import Book

# Objects whose keys are data, not field names.
DYNAMIC_OBJECTS: dict[Book, frozenset[str]] = {
    Book.BETPAWA: frozenset(),
    Book.SPORTYBET: frozenset(),
    Book.BET9JA: frozenset({"D.O", "D.AUX", "D.AUX.*", "D.TRANS"}),
}

Shape = set[tuple[str, str]]


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(document: Any, book: Book) -> Shape:
    """Every (path, value type) of ``document``."""
    dynamic = DYNAMIC_OBJECTS[book]
    found: Shape = set()
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, node = stack.pop()
        found.add((path, _type(node)))
        if isinstance(node, dict):
            for key, value in node.items():
                segment = "*" if path in dynamic else key
                stack.append((f"{path}.{segment}" if path else segment, value))
        elif isinstance(node, list):
            stack.extend((f"{path}[]", value) for value in node)
    return found


def union(documents: Iterable[Any], book: Book) -> Shape:
    found: Shape = set()
    for document in documents:
        found |= shape(document, book)
    return found


@dataclass(frozen=True)
class Conformance:
    book: Book
    real_paths: int
    sandbox_paths: int
    missing: tuple[tuple[str, str], ...]  # in the real answers, never in the sandbox's
    invented: tuple[tuple[str, str], ...]  # in the sandbox's answers, never in the real ones

    @property
    def covered(self) -> float:
        """Share of the real answers' paths that the sandbox's answers hold."""
        return 1 - len(self.missing) / self.real_paths if self.real_paths else 0.0

    @property
    def invented_share(self) -> float:
        return len(self.invented) / self.sandbox_paths if self.sandbox_paths else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "book": self.book.value,
            "real_paths": self.real_paths,
            "sandbox_paths": self.sandbox_paths,
            "covered": round(self.covered, 4),
            "invented": round(self.invented_share, 4),
            "missing": [f"{p}: {t}" for p, t in self.missing],
            "invented_paths": [f"{p}: {t}" for p, t in self.invented],
        }


def compare(book: Book, real: Iterable[Any], sandbox: Iterable[Any]) -> Conformance:
    real_shape, sandbox_shape = union(real, book), union(sandbox, book)
    return Conformance(
        book=book,
        real_paths=len(real_shape),
        sandbox_paths=len(sandbox_shape),
        missing=tuple(sorted(real_shape - sandbox_shape)),
        invented=tuple(sorted(sandbox_shape - real_shape)),
    )
