from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from nuage.billing.periods import PeriodNotClosed, RunDateRefused, check_run, pro_rata, run_date
from nuage.errors import InvalidInput, TermViolation
from nuage.shared.month import Month


@pytest.mark.rule("BIL-2")
def test_pro_rata_counts_the_remaining_days_including_the_start_day() -> None:
    assert pro_rata(date(2025, 1, 10)) == Fraction(22, 31)
    assert pro_rata(date(2024, 2, 29)) == Fraction(1, 29)
    assert pro_rata(date(2025, 4, 1)) == 1


@pytest.mark.rule("BIL-2")
def test_periods_are_calendar_months_on_the_brussels_clock() -> None:
    assert Month.at(datetime(2025, 1, 31, 23, 30, tzinfo=UTC)) == Month(2025, 2)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2025, 1).previous() == Month(2024, 12)
    assert Month(2025, 1).months_until(Month(2026, 3)) == 14
    assert Month.parse("2025-03") == Month(2025, 3)
    assert str(Month(2025, 3)) == "2025-03"
    assert run_date(Month(2025, 2)) == date(2025, 2, 28)
    assert run_date(Month(2025, 2), 30) == date(2025, 2, 28)
    assert Month(2025, 8).quarter_first_month == Month(2025, 7)
    with pytest.raises(InvalidInput):
        Month.parse("March")
    with pytest.raises(InvalidInput):
        Month(2025, 13)


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("BIL-4")
@pytest.mark.parametrize(
    ("period", "run_on", "today", "last", "error", "rule_id"),
    [
        (Month(2485, 1), date(2026, 12, 5), date(2026, 12, 5), None, PeriodNotClosed, "BIL-2"),
        (Month(2026, 12), date(2026, 12, 5), date(2026, 12, 5), None, PeriodNotClosed, "BIL-2"),  # 25th
        (Month(2026, 1), date(2026, 2, 4), date(2026, 2, 3), None, RunDateRefused, "BIL-4"),  # future
        (Month(2026, 1), date(2025, 12, 31), date(2026, 2, 3), None, RunDateRefused, "BIL-2"),
        (Month(2026, 1), date(2026, 1, 24), date(2026, 2, 3), None, RunDateRefused, "BIL-2"),
        (Month(2026, 1), date(2026, 1, 28), date(2026, 2, 3), date(2026, 2, 1), RunDateRefused, "BIL-4"),
    ],
)
def test_a_run_the_rules_do_not_allow_is_refused_naming_the_rule(
    period: Month, run_on: date, today: date, last: date | None, error: type[TermViolation], rule_id: str
) -> None:
    with pytest.raises(error) as caught:
        check_run(period, run_on, today, last)
    assert caught.value.rule_id == rule_id


@pytest.mark.rule("BIL-2")
@pytest.mark.parametrize(
    ("period", "run_on", "today", "last"),
    [
        (Month(2026, 1), date(2026, 1, 25), date(2026, 1, 25), None),  # around the 28th
        (Month(2026, 1), date(2026, 1, 28), date(2026, 3, 10), date(2026, 1, 28)),  # same day as the last
        (Month(2026, 2), date(2026, 5, 2), date(2026, 5, 2), date(2026, 3, 1)),  # a late catch-up run
    ],
)
def test_a_run_at_the_end_of_a_closed_period_is_allowed(
    period: Month, run_on: date, today: date, last: date | None
) -> None:
    check_run(period, run_on, today, last)
