from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from nuage.billing.periods import pro_rata, run_date
from nuage.errors import InvalidInput
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
