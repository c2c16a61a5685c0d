"""A batch that stops landing is seen: the odds and the matching carry freshness policies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy  # not exported at the top level

from odds_pipeline.definitions import build_definitions
from odds_pipeline.domain import Book
from odds_pipeline.settings import Settings


def test_odds_matching_and_prices_warn_after_three_windows_without_a_batch_and_fail_after_six(tmp_path: Path) -> None:
    settings = Settings().model_copy(update={"var_dir": tmp_path, "batch_minutes": 20})
    graph = build_definitions(settings).resolve_asset_graph()
    watched = {f"{book.value}_odds_snapshots" for book in Book} | {"matched_events", "price_comparison"}
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        if key.to_user_string() not in watched:
            assert policy is None, key
            continue
        assert isinstance(policy, TimeWindowFreshnessPolicy), key
        assert policy.warn_window is not None
        assert policy.warn_window.to_timedelta() == timedelta(minutes=60)
        assert policy.fail_window.to_timedelta() == timedelta(minutes=120)
