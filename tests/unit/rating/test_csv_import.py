from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.rating.csv_import import RowError, parse_cdr_csv

GOOD_AND_BAD = """cdr_id,account_id,started_at,destination,billable_seconds,emergency
c1,acc-1,2025-01-10T09:00:00+01:00,+3222001122,61,
c2,acc-1,2025-01-10T09:05:00,+3222001122,61,
c3,acc-1,2025-01-10T09:06:00+01:00,0032 22,-4,
c4,acc-1,2025-01-10T09:07:00+01:00,112,30,
c1,acc-1,2025-01-10T09:08:00+01:00,+3222001122,5,
,acc-1,2025-01-10T09:09:00+01:00,+3222001122,5,maybe
c5,acc-1,2025-01-10T09:10:00Z,+33123456789,5,false
"""


@pytest.mark.rule("RAT-1")
def test_good_rows_are_kept_and_each_bad_field_is_reported_with_its_row() -> None:
    result = parse_cdr_csv(GOOD_AND_BAD)
    assert [cdr.cdr_id for cdr in result.cdrs] == ["c1", "c4", "c5"]
    assert result.cdrs[0].started_at == datetime(2025, 1, 10, 8, 0, tzinfo=UTC)
    assert result.cdrs[0].billable_seconds == 61
    assert [(error.row, error.field) for error in result.errors] == [
        (3, "started_at"),
        (4, "destination"),
        (4, "billable_seconds"),
        (6, "cdr_id"),
        (7, "cdr_id"),
        (7, "emergency"),
    ]


@pytest.mark.rule("RAT-3")
def test_emergency_short_numbers_are_flagged_when_the_file_does_not_say() -> None:
    result = parse_cdr_csv(GOOD_AND_BAD)
    flags = {cdr.cdr_id: cdr.emergency for cdr in result.cdrs}
    assert flags == {"c1": False, "c4": True, "c5": False}


@pytest.mark.rule("RAT-1")
def test_missing_columns_are_reported_on_the_header_row() -> None:
    result = parse_cdr_csv(["cdr_id,account_id,destination", "c1,acc-1,+3222001122"])
    assert result.cdrs == ()
    assert result.errors == (
        RowError(1, "started_at", "column 'started_at' is missing"),
        RowError(1, "billable_seconds", "column 'billable_seconds' is missing"),
    )


@pytest.mark.rule("RAT-1")
def test_empty_file_and_ragged_rows_are_errors_not_crashes() -> None:
    assert parse_cdr_csv("").errors == (RowError(1, "header", "the file is empty"),)
    result = parse_cdr_csv(
        "cdr_id,account_id,started_at,destination,billable_seconds\n"
        "c1,acc-1,2025-01-10T09:00:00+01:00,+3222001122,61,extra\n"
        "\n"
        "c2,acc-1,2025-01-10T09:00:00+01:00,+3222001122,61\n"
    )
    assert [cdr.cdr_id for cdr in result.cdrs] == ["c2"]
    assert [(error.row, error.field) for error in result.errors] == [(2, "row")]
