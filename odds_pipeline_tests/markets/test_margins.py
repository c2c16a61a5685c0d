from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odds_pipeline.markets import margins


def test_margin_of_a_known_book():
    assert margins.margin([2.0, 3.4, 3.9]) == pytest.approx(0.5 + 1 / 3.4 + 1 / 3.9 - 1)
    assert margins.margin([1.9, 1.9]) == pytest.approx(0.0526315789)


@pytest.mark.parametrize("bad", [[], [1.0, 2.0], [0.5, 3.0], [float("inf"), 2.0], [float("nan"), 2.0]])
def test_impossible_odds_are_refused(bad):
    with pytest.raises(ValueError):
        margins.margin(bad)


def test_even_book_splits_evenly_by_every_method():
    for method in margins.FAIR_METHODS.values():
        assert method([1.9, 1.9]) == pytest.approx([0.5, 0.5])


def test_shin_and_power_put_more_of_the_margin_on_the_long_shot():
    odds = [1.25, 4.5]
    multiplicative = margins.fair_multiplicative(odds)
    shin = margins.fair_shin(odds)
    power = margins.fair_power(odds)
    assert shin[0] > multiplicative[0] and shin[1] < multiplicative[1]
    assert power[0] > multiplicative[0] and power[1] < multiplicative[1]


def test_shin_probabilities_share_one_insider_rate():
    odds = [1.5, 2.6]
    implied = [1 / o for o in odds]
    total = sum(implied)
    fair = margins.fair_shin(odds)
    # p_i = (sqrt(z^2 + 4(1-z) pi_i^2 / B) - z) / (2(1-z)) must hold with one z for both outcomes
    zs = []
    for p, pi in zip(fair, implied, strict=True):
        # solve for z from p: 4(1-z)^2 p^2 + 4 z p (1-z) = 4 (1-z) pi^2 / B  =>  (1-z) p^2 + z p = pi^2 / B
        zs.append((pi * pi / total - p * p) / (p - p * p))
    assert zs[0] == pytest.approx(zs[1], abs=1e-6)
    assert 0 < zs[0] < 0.2


@given(st.lists(st.floats(1.01, 60.0), min_size=2, max_size=12))
def test_fair_probabilities_sum_to_one(odds):
    for method in margins.FAIR_METHODS.values():
        fair = method(odds)
        assert sum(fair) == pytest.approx(1.0, abs=1e-6)
        assert all(0 <= p <= 1 for p in fair)
