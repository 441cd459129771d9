"""SUP-2: the desk's opening hours, Belgian public holidays, and time counted in opening hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from nuage.support.hours import BRUSSELS, OpeningHours, belgian_public_holiday

HOURS = OpeningHours()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)  # type: ignore[misc]


@pytest.mark.rule("SUP-2")
@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (local(2026, 12, 7, 8, 29), False),  # Monday before 8:30
        (local(2026, 12, 7, 8, 30), True),
        (local(2026, 12, 10, 17, 59), True),  # Thursday
        (local(2026, 12, 10, 18, 0), False),
        (local(2026, 12, 11, 15, 59), True),  # Friday closes at 16:00
        (local(2026, 12, 11, 16, 0), False),
        (local(2026, 12, 12, 10, 0), False),  # Saturday
        (local(2026, 12, 25, 10, 0), False),  # Christmas, a Friday
        (local(2026, 7, 21, 10, 0), False),  # National Day, a Tuesday
        (local(2026, 4, 6, 10, 0), False),  # Easter Monday
    ],
)
def test_open_monday_to_thursday_until_18_friday_until_16_never_on_public_holidays(
    at: datetime, is_open: bool
) -> None:
    assert HOURS.is_open(at) is is_open


@pytest.mark.rule("SUP-2")
def test_the_holidays_are_belgiums_and_follow_the_years() -> None:
    assert belgian_public_holiday(date(2027, 3, 29))  # Easter Monday 2027
    assert belgian_public_holiday(date(2026, 11, 11))  # Armistice
    assert not belgian_public_holiday(date(2026, 11, 12))


@pytest.mark.rule("SUP-2")
def test_next_opening_skips_nights_weekends_and_holidays() -> None:
    assert HOURS.next_opening(local(2026, 12, 8, 10, 0)) == local(2026, 12, 8, 10, 0)  # open: now
    assert HOURS.next_opening(local(2026, 12, 11, 16, 30)) == local(2026, 12, 14, 8, 30)  # Friday night
    assert HOURS.next_opening(local(2026, 12, 24, 19, 0)) == local(2026, 12, 28, 8, 30)  # Christmas
    closed = OpeningHours(closed_days=frozenset({date(2026, 12, 28)}))
    assert closed.next_opening(local(2026, 12, 24, 19, 0)) == local(2026, 12, 29, 8, 30)


@pytest.mark.rule("SUP-2")
def test_clocks_run_in_opening_hours_only_across_summer_time() -> None:
    # Friday 15:00 + 2 h of opening time: 1 h on Friday, 1 h from Monday 8:30
    assert HOURS.add_open_time(local(2026, 12, 11, 15, 0), timedelta(hours=2)) == local(2026, 12, 14, 9, 30)
    # summer time starts on Sunday 29 March 2026: a Friday-to-Monday deadline is unaffected
    friday = local(2026, 3, 27, 15, 30)
    monday = HOURS.add_open_time(friday, timedelta(hours=1))
    assert monday == local(2026, 3, 30, 9, 0)
    assert monday.utcoffset() == timedelta(hours=2)
    assert HOURS.open_time_between(friday, monday) == timedelta(hours=1)
    # a whole week: 4 × 9.5 h + 7.5 h
    week = HOURS.open_time_between(local(2026, 12, 7, 0, 0), local(2026, 12, 14, 0, 0))
    assert week == timedelta(hours=45.5)
    assert HOURS.open_time_between(monday, friday) == timedelta(0)


@pytest.mark.rule("SUP-2")
def test_hours_that_never_open_are_refused_not_looped_over() -> None:
    with pytest.raises(ValueError, match="never open"):
        OpeningHours(hours={}).next_opening(local(2026, 12, 7, 8, 0))
