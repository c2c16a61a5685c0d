"""A book's margin on one line, and the fair (de-margined) probabilities behind its prices.

Notation as in the literature: odds oᵢ, implied πᵢ = 1/oᵢ, booksum B = Σπᵢ, margin M = B - 1.
Only a complete, non-overlapping, unsuspended outcome set has a meaningful margin; the mapper
decides that (`MappedLine.priced_set`), these functions only do the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SHIN_ITERATIONS = 60


def booksum(odds: Sequence[float]) -> float:
    if not odds or any(o <= 1.0 or not math.isfinite(o) for o in odds):
        raise ValueError(f"odds must be finite and above 1.0: {list(odds)}")
    return sum(1.0 / o for o in odds)


def margin(odds: Sequence[float]) -> float:
    """Overround M = Σ 1/oᵢ - 1, as a fraction (0.05 = 5%)."""
    return booksum(odds) - 1.0


def fair_multiplicative(odds: Sequence[float]) -> list[float]:
    """pᵢ = πᵢ / B: the margin spread in proportion to each price."""
    total = booksum(odds)
    return [1.0 / o / total for o in odds]


def fair_power(odds: Sequence[float]) -> list[float]:
    """pᵢ = πᵢᵏ with Σpᵢ = 1: long shots carry more of the margin."""
    implied = [1.0 / o for o in odds]
    if sum(implied) <= 1.0:
        return fair_multiplicative(odds)
    low, high = 1.0, 1.0
    while sum(p**high for p in implied) > 1.0:
        low, high = high, high * 2
    for _ in range(SHIN_ITERATIONS):
        k = (low + high) / 2
        low, high = (k, high) if sum(p**k for p in implied) > 1.0 else (low, k)
    k = (low + high) / 2
    return [p**k for p in implied]


def fair_shin(odds: Sequence[float]) -> list[float]:
    """Shin (1993): pᵢ = [√(z² + 4(1-z)πᵢ²/B) - z] / (2(1-z)), solving Σpᵢ = 1 for the insider share z."""
    implied = [1.0 / o for o in odds]
    total = sum(implied)
    if total <= 1.0:
        return fair_multiplicative(odds)

    def probabilities(z: float) -> list[float]:
        return [(math.sqrt(z * z + 4 * (1 - z) * p * p / total) - z) / (2 * (1 - z)) for p in implied]

    low, high = 0.0, 0.999
    for _ in range(SHIN_ITERATIONS):
        z = (low + high) / 2
        low, high = (z, high) if sum(probabilities(z)) > 1.0 else (low, z)
    return probabilities((low + high) / 2)


FAIR_METHODS = {"multiplicative": fair_multiplicative, "shin": fair_shin, "power": fair_power}
