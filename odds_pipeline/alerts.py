"""Alerts to a webhook: a JSON POST per failed batch or stale asset, when ODDS_PIPELINE_ALERT_URL is set.

The body is one small object any receiver can route (Slack and Teams relays, a pager's generic
webhook): ``{"kind", "subject", "text", "details", "sent_at"}``. An alert that cannot be delivered
is logged and dropped: a broken receiver must never fail the batch it reports on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

ALERT_TIMEOUT_S = 10.0


def alert_body(kind: str, subject: str, text: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "text": text,
        "details": details or {},
        "sent_at": datetime.now(UTC).isoformat(),
    }


def send_alert(url: str | None, body: dict[str, Any]) -> bool:
    """POST the alert; True when the receiver took it (2xx). Without a URL, nothing is sent."""
    if not url:
        return False
    try:
        answer = httpx.post(url, json=body, timeout=ALERT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        log.warning("alert %s for %s not delivered to %s: %s", body["kind"], body["subject"], url, exc)
        return False
    if not answer.is_success:
        log.warning("alert %s for %s refused by %s: HTTP %d", body["kind"], body["subject"], url, answer.status_code)
    return answer.is_success
