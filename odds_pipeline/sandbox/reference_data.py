"""How often each market is offered, from the reference audit: the sandbox's presence rates.

`data/audit_rates.json` is extracted from the reference's phase-45 audit (audit_raw_data_45.json,
199 events on the three books) by `extract()`: per book the mean count per event (market types on
BetPawa, market objects on SportyBet, key groups on Bet9ja), and per unmapped market its
occurrences per event and category. Run: ``python -m odds_pipeline.sandbox.reference_data
../shared/reference``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from odds_pipeline.sandbox.templates import AUDIT_RATES_FILE


def extract(reference_dir: Path) -> dict[str, Any]:
    audit = json.loads((reference_dir / "audit_raw_data_45.json").read_text())
    stats = audit["stats"]
    events = {
        "betpawa": stats["events_with_betpawa"],
        "sportybet": stats["events_with_sportybet"],
        "bet9ja": stats["events_with_bet9ja"],
    }
    markets: dict[str, dict[str, Any]] = {book: {} for book in events}
    for row in audit["unmapped_markets"]:
        book = row["platform"]
        markets[book][row["market_id"]] = {
            "per_event": round(row["frequency"] / events[book], 4),
            "category": row["category"],
        }
    return {
        "source": "reference audit_raw_data_45.json (phase 45, 199 events); frequency counts occurrences",
        "per_event": {
            "betpawa": round(stats["betpawa_total_markets"] / events["betpawa"], 2),
            "sportybet": round(stats["sportybet_total_markets"] / events["sportybet"], 2),
            "bet9ja": round(stats["bet9ja_total_markets"] / events["bet9ja"], 2),
        },
        "markets": markets,
    }


if __name__ == "__main__":
    AUDIT_RATES_FILE.write_text(json.dumps(extract(Path(sys.argv[1])), indent=1, ensure_ascii=False) + "\n")
