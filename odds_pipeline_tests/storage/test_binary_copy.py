from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import Column, MetaData, Numeric, Table, text

from odds_pipeline.storage.models import Base, CoverageGap
from odds_pipeline.storage.writers import _arrow_type, copy_frame


def test_every_column_of_every_table_has_a_binary_copy_encoding():
    for table in Base.metadata.tables.values():
        for column in table.columns:
            _arrow_type(column)  # raises for a type COPY could not take in binary


def test_a_column_type_without_an_encoding_fails_by_name():
    table = Table("priced", MetaData(), Column("amount", Numeric(10, 2)))
    with pytest.raises(TypeError, match=r"priced\.amount"):
        _arrow_type(table.c.amount)


def test_a_frame_goes_in_with_nulls_empty_text_times_and_json_intact(session):
    kickoff = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "batch_id": [7, 7],
            "kind": ["missing_tournament", "competitor_only_event"],
            "tournament": ["", None],  # an empty name is not NULL
            "line": [float("nan"), 2.5],  # NaN is NULL
            "events": [3.0, float("nan")],  # made float by its NaN, into an integer column
            "kickoff": [pd.Timestamp(kickoff), pd.NaT],
            "books": [["bet9ja", "sportybet"], []],
        }
    )
    assert copy_frame(session, CoverageGap.__table__, frame) == 2
    query = "SELECT kind, tournament, line, events, kickoff, books FROM coverage_gaps ORDER BY id"
    assert [tuple(row) for row in session.execute(text(query))] == [
        ("missing_tournament", "", None, 3, kickoff, ["bet9ja", "sportybet"]),
        ("competitor_only_event", None, 2.5, None, None, []),
    ]
