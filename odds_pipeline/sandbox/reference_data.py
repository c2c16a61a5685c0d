"""The facts the sandbox's market inventory is drawn from: what the books really send.

`data/book_markets.json` is extracted from the reference material (market_mappings.json and the
phase-45 audit, audit_raw_data_45.json) by `extract()`. It holds the books' own market ids, keys,
outcome names and how often each unmapped market occurred. It is *not* the project's mapping
catalogue: the sandbox must never be built from what the mapper believes.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "book_markets.json"


def extract(reference_dir: Path) -> dict[str, Any]:
    """Read the reference files and keep only the facts the sandbox uses."""
    mappings = json.loads((reference_dir / "market_mappings.json").read_text())
    audit = json.loads((reference_dir / "audit_raw_data_45.json").read_text())
    markets = []
    for entry in mappings:
        flags = entry["flags"]
        markets.append(
            {
                "name": entry["name"],
                "betpawa_id": entry["betpawa_id"],
                "sportybet_id": entry["sportybet_id"],
                "bet9ja_key": entry["bet9ja_key"],
                "sportybet_param": flags["sportybet_param"],
                "bet9ja_param": flags["bet9ja_param"],
                "handicap_style": flags["handicap_style"],
                "haou_split_targets": flags.get("bet9ja_haou_split_targets"),
                "outcomes": [
                    {
                        "canonical": o["canonical_id"],
                        "betpawa": o["betpawa_name"],
                        "sportybet": o["sportybet_desc"],
                        "bet9ja": o["bet9ja_suffix"],
                    }
                    for o in sorted(entry["outcomes"], key=lambda o: o["position"])
                ],
            }
        )
    unmapped = [
        {
            "book": u["platform"],
            "market_id": u["market_id"],
            "desc": u["market_desc"],
            "category": u["category"],
            "frequency": u["frequency"],
        }
        for u in audit["unmapped_markets"]
    ]
    stats = audit["stats"]
    return {
        "source": "reference market_mappings.json + audit_raw_data_45.json (phase 45, 199 events)",
        "audit_events": {
            "sportybet": stats["events_with_sportybet"],
            "bet9ja": stats["events_with_bet9ja"],
            "betpawa": stats["events_with_betpawa"],
        },
        "audit_lines": {
            "sportybet": {"total": stats["sportybet_total_markets"], "mapped": stats["sportybet_mapped"]},
            "bet9ja": {"total": stats["bet9ja_total_markets"], "mapped": stats["bet9ja_mapped"]},
            "betpawa": {"total": stats["betpawa_total_markets"]},
        },
        "markets": markets,
        "unmapped": unmapped,
    }


@cache
def load() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text())


if __name__ == "__main__":
    import sys

    DATA_FILE.write_text(json.dumps(extract(Path(sys.argv[1])), indent=1, ensure_ascii=False) + "\n")
