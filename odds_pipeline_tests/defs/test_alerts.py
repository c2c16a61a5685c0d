"""Alerts reach a webhook on loopback: failed batches and assets that go stale, each once."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from odds_pipeline.alerts import alert_body, send_alert
from odds_pipeline.defs.automation import stale_asset_alerts_sensor
from odds_pipeline.defs.resources import AlertResource

ODDS = dg.AssetKey("betpawa_odds_snapshots")
MATCHED = dg.AssetKey("matched_events")


def test_an_alert_is_posted_as_json_and_a_broken_receiver_fails_nothing(alert_receiver) -> None:
    assert send_alert(alert_receiver.url, alert_body("batch_failed", "batch x", "it failed", {"partition": "x"}))
    (body,) = alert_receiver.bodies
    assert (body["kind"], body["subject"], body["details"]) == ("batch_failed", "batch x", {"partition": "x"})
    assert body["sent_at"].endswith("+00:00")

    alert_receiver.status = 500
    assert not send_alert(alert_receiver.url, alert_body("batch_failed", "batch y", "it failed"))
    url = alert_receiver.url
    alert_receiver.close()
    assert not send_alert(url, alert_body("batch_failed", "batch z", "it failed")), "receiver down"
    assert not send_alert(None, alert_body("batch_failed", "batch z", "it failed")), "no URL: nothing sent"


def _freshness(instance: dg.DagsterInstance, key: dg.AssetKey, before: FreshnessState, now: FreshnessState) -> None:
    # What the freshness daemon records when a policy's state changes.
    instance._report_runless_asset_event(
        asset_event=FreshnessStateChange(key=key, previous_state=before, new_state=now, state_change_timestamp=0.0)
    )


def test_a_stale_asset_is_alerted_once_per_time_it_goes_stale(alert_receiver) -> None:
    sensor = stale_asset_alerts_sensor([ODDS, MATCHED])
    alerts = AlertResource(url=alert_receiver.url)
    with dg.instance_for_test() as instance:

        def evaluate(cursor: str | None) -> str | None:
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"alerts": alerts})
            sensor(context)
            return context.cursor

        cursor = evaluate(None)
        assert alert_receiver.bodies == [], "nothing is stale yet"
        _freshness(instance, ODDS, FreshnessState.WARN, FreshnessState.FAIL)
        _freshness(instance, MATCHED, FreshnessState.PASS, FreshnessState.WARN)
        cursor = evaluate(cursor)
        assert [(b["kind"], b["subject"]) for b in alert_receiver.bodies] == [("asset_stale", ODDS.to_user_string())]
        cursor = evaluate(cursor)
        assert len(alert_receiver.bodies) == 1, "still stale: not told again"

        _freshness(instance, ODDS, FreshnessState.FAIL, FreshnessState.PASS)
        cursor = evaluate(cursor)
        _freshness(instance, ODDS, FreshnessState.PASS, FreshnessState.FAIL)
        evaluate(cursor)
        assert len(alert_receiver.bodies) == 2, "stale again after recovering: told again"
