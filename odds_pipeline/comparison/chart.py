"""The picture of the last day: each book's median margin and BetPawa's best-price share, batch by batch."""

from __future__ import annotations

import base64
import io
from typing import Any

import pandas as pd

from odds_pipeline.domain import Book

COLOURS = {"betpawa": "#1f9d55", "sportybet": "#d64545", "bet9ja": "#2b6cb0"}


def pyplot() -> Any:
    """matplotlib's pyplot, drawing PNGs. Imported on first use, not with the definitions: it takes
    most of a second, and only the comparison step draws."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the chart is a PNG in the asset's metadata
    import matplotlib.pyplot as plt

    return plt


def last_day_chart(figures: pd.DataFrame) -> bytes:
    """A PNG of the figures (`storage.comparison.figures_since`): margins above, BetPawa's share below."""
    import matplotlib.dates as mdates

    plt = pyplot()
    fig, (margins, share) = plt.subplots(2, 1, figsize=(8, 4.8), sharex=True, dpi=100, height_ratios=[3, 2])
    for book in Book:
        mine = figures[figures["book"] == book.value].dropna(subset=["median_margin"])
        margins.plot(
            mine["window_start"], mine["median_margin"] * 100, marker=".", color=COLOURS[book.value],
            label=book.display_name,
        )  # fmt: skip
    margins.set_ylabel("median margin, %")
    margins.set_title("Last day: margins on the lines all three books price, and BetPawa's best-price share")
    margins.legend(loc="upper left", fontsize=8)
    margins.grid(alpha=0.3)
    betpawa = figures[figures["book"] == Book.BETPAWA.value].dropna(subset=["best_price_share"])
    share.plot(betpawa["window_start"], betpawa["best_price_share"] * 100, marker=".", color=COLOURS["betpawa"])
    share.set_ylabel("best price, %")
    share.set_ylim(0, 100)
    share.grid(alpha=0.3)
    share.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz="UTC"))
    share.set_xlabel("batch window (UTC)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def as_markdown(png: bytes, caption: str) -> str:
    """The PNG inline, as markdown the Dagster UI renders."""
    return f"![{caption}](data:image/png;base64,{base64.b64encode(png).decode()})"
