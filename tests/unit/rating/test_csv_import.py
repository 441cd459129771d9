from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.errors import InvalidInput
from nuage.rating.csv_import import RowError, decoded_lines, parse_cdr_csv

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


HEADER = "cdr_id,account_id,started_at,destination,billable_seconds\n"
NOW = datetime(2026, 2, 3, 8, 0, tzinfo=UTC)


def _errors(*rows: str) -> list[tuple[int, str, str]]:
    result = parse_cdr_csv(HEADER + "".join(row + "\n" for row in rows), now=NOW)
    return [(error.row, error.field, error.message) for error in result.errors]


@pytest.mark.rule("SIP-1")
def test_billable_seconds_are_bounded_by_a_day() -> None:
    assert _errors("c1,acc-1,2026-01-10T09:00:00+01:00,+3222001122,86400") == []
    errors = _errors(
        "c1,acc-1,2026-01-10T09:00:00+01:00,+3222001122,86401",
        "c2,acc-1,2026-01-10T09:00:00+01:00,+3222001122,1000000000000",
        "c3,acc-1,2026-01-10T09:00:00+01:00,+3222001122,²",  # a digit to str.isdigit, not to int()
    )
    assert [(row, field) for row, field, _ in errors] == [
        (2, "billable_seconds"),
        (3, "billable_seconds"),
        (4, "billable_seconds"),
    ]
    assert "more than a day (86400 seconds)" in errors[1][2]


@pytest.mark.rule("SIP-1")
def test_dates_before_the_epoch_or_in_the_future_are_refused() -> None:
    errors = _errors(
        "c1,acc-1,1970-01-01T00:00:00+00:00,+3222001122,60",
        "c2,acc-1,2026-02-03T08:04:59+00:00,+3222001122,60",  # within the clocks' tolerance
        "c3,acc-1,2026-02-03T09:10:00+01:00,+3222001122,60",  # ten minutes ahead
        "c4,acc-1,9999-12-31T23:59:59+00:00,+3222001122,60",
    )
    assert [(row, field) for row, field, _ in errors] == [
        (2, "started_at"),
        (4, "started_at"),
        (5, "started_at"),
    ]
    assert "before 2020-01-01" in errors[0][2]
    assert "in the future" in errors[1][2]


@pytest.mark.rule("SIP-1")
def test_ids_a_spreadsheet_would_run_as_formulas_are_refused() -> None:
    errors = _errors(
        "=HYPERLINK(1),acc-1,2026-01-10T09:00:00+01:00,+3222001122,60",
        "c2,@SUM(A1),2026-01-10T09:00:00+01:00,+3222001122,60",
        "+c3,-acc,2026-01-10T09:00:00+01:00,+3222001122,60",
        "c4\x00,acc-1,2026-01-10T09:00:00+01:00,+3222001122,60",
        "c5@pbx.example/leg-2,acc_1.x,2026-01-10T09:00:00+01:00,+3222001122,60",  # a SIP Call-ID: fine
    )
    assert [(row, field) for row, field, _ in errors] == [
        (2, "cdr_id"),
        (3, "account_id"),
        (4, "cdr_id"),
        (4, "account_id"),
        (5, "cdr_id"),
    ]


@pytest.mark.rule("SIP-1")
def test_a_field_too_long_for_csv_is_one_row_error_and_the_rest_is_read() -> None:
    errors = _errors(
        "c1,acc-1,2026-01-10T09:00:00+01:00,+3222001122," + "9" * 200_000,
        "c2,acc-1,2026-01-10T09:00:00+01:00,+3222001122,60",
    )
    assert [(row, field) for row, field, _ in errors] == [(2, "row")]


@pytest.mark.rule("SIP-1")
def test_a_file_that_is_not_utf8_is_refused_naming_the_row() -> None:
    lines = [
        b"\xef\xbb\xbf" + HEADER.encode(),
        "c1,Société,2026".encode(),
        "c2,Société,2026".encode("latin-1"),
    ]
    decoded = decoded_lines(lines)
    assert next(decoded) == HEADER
    assert next(decoded) == "c1,Société,2026"
    with pytest.raises(InvalidInput) as refused:
        next(decoded)
    assert refused.value.details == {"field": "file", "row": 3}
    assert "row 3 is not UTF-8" in refused.value.message
