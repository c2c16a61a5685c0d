"""Row counts of the tables a batch writes, for tests that compare runs."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from odds_pipeline.storage.models import (
    CompetitorEvent,
    CompetitorMarketOdds,
    CompetitorOddsSnapshot,
    Event,
    EventScrapeStatus,
    MarketOdds,
    OddsSnapshot,
)

BATCH_TABLES = [
    Event,
    CompetitorEvent,
    OddsSnapshot,
    MarketOdds,
    CompetitorOddsSnapshot,
    CompetitorMarketOdds,
    EventScrapeStatus,
]


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in BATCH_TABLES}
