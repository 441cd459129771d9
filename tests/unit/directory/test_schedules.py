"""Opening hours: weekly spans in Brussels time, exceptions, Belgian public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nuage.directory.destinations import Destination, DestinationKind
from nuage.directory.schedules import (
    DayException,
    Schedule,
    ScheduleState,
    Span,
    belgian_holiday,
    weekly,
)
from nuage.shared.clock import BUSINESS_TZ

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def office(**overrides: object) -> Schedule:
    values: dict[str, object] = {
        "id": "sch_1",
        "account_id": "acc_1",
        "name": "Office",
        "created_at": NOW,
        "open_destination": "menu:ivr_day",
        "closed_destination": "voicemail:usr_1",
        "holiday_destination": "menu:ivr_holiday",
        "hours": weekly("mon-thu 08:30-12:00,13:00-18:00; fri 08:30-16:00"),
    }
    values.update(overrides)
    schedule = Schedule(**values)  # type: ignore[arg-type]
    schedule.check()
    return schedule


def brussels(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)  # type: ignore[misc]


def test_weekly_hours_open_and_close_in_brussels_time() -> None:
    schedule = office()
    assert schedule.state_at(brussels(2026, 3, 2, 8, 29))[0] is ScheduleState.CLOSED  # Monday
    assert schedule.state_at(brussels(2026, 3, 2, 8, 30))[0] is ScheduleState.OPEN
    assert schedule.state_at(brussels(2026, 3, 2, 12, 30))[0] is ScheduleState.CLOSED  # lunch
    assert schedule.state_at(brussels(2026, 3, 6, 15, 59))[0] is ScheduleState.OPEN  # Friday
    assert schedule.state_at(brussels(2026, 3, 6, 16, 0))[0] is ScheduleState.CLOSED
    assert schedule.state_at(brussels(2026, 3, 7, 10, 0))[0] is ScheduleState.CLOSED  # Saturday


def test_summer_time_follows_brussels() -> None:
    """08:30 in Brussels is 07:30 UTC in winter and 06:30 UTC in summer."""
    schedule = office()
    assert schedule.state_at(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))[0] is ScheduleState.OPEN
    assert schedule.state_at(datetime(2026, 3, 2, 7, 29, tzinfo=UTC))[0] is ScheduleState.CLOSED
    assert schedule.state_at(datetime(2026, 6, 1, 6, 30, tzinfo=UTC))[0] is ScheduleState.OPEN
    assert schedule.state_at(datetime(2026, 6, 1, 6, 29, tzinfo=UTC))[0] is ScheduleState.CLOSED
    assert (
        schedule.state_at(datetime(2026, 5, 25, 6, 30, tzinfo=UTC))[0] is ScheduleState.HOLIDAY
    )  # Whit Monday


def test_belgian_public_holidays_close_and_choose_the_holiday_destination() -> None:
    schedule = office()
    national_day = brussels(2026, 7, 21, 10, 0)  # a Tuesday
    assert schedule.state_at(national_day) == (ScheduleState.HOLIDAY, "National Day")
    assert schedule.destination_at(national_day) == Destination(DestinationKind.MENU, "ivr_holiday")
    assert belgian_holiday(date(2026, 4, 6)) == "Easter Monday"
    assert belgian_holiday(date(2027, 3, 29)) == "Easter Monday"
    assert belgian_holiday(date(2026, 4, 7)) is None


def test_without_a_holiday_destination_a_holiday_goes_where_closed_goes() -> None:
    schedule = office(holiday_destination=None)
    assert schedule.destination_at(brussels(2026, 11, 11, 10, 0)) == Destination(
        DestinationKind.VOICEMAIL, "usr_1"
    )


def test_a_schedule_may_ignore_holidays() -> None:
    schedule = office(observe_holidays=False)
    assert schedule.state_at(brussels(2026, 7, 21, 10, 0))[0] is ScheduleState.OPEN


def test_an_exception_overrides_holidays_and_hours() -> None:
    schedule = office(
        exceptions=(
            DayException(date(2026, 7, 21), (Span.parse("09:00-12:00"),), "Open day"),
            DayException(date(2026, 3, 3), (), "Inventory"),
        )
    )
    assert schedule.state_at(brussels(2026, 7, 21, 10, 0)) == (ScheduleState.OPEN, "Open day")
    assert schedule.state_at(brussels(2026, 7, 21, 13, 0)) == (ScheduleState.CLOSED, "Open day")
    assert schedule.state_at(brussels(2026, 3, 3, 10, 0)) == (ScheduleState.CLOSED, "Inventory")
    assert schedule.destination_at(brussels(2026, 3, 3, 10, 0)).kind is DestinationKind.VOICEMAIL
    assert schedule.destination_at(brussels(2026, 3, 2, 10, 0)) == Destination(
        DestinationKind.MENU, "ivr_day"
    )


def test_midnight_ends_a_day_with_24_00() -> None:
    schedule = office(hours=weekly("sat-sun 00:00-24:00"))
    assert schedule.state_at(brussels(2026, 3, 7, 23, 59))[0] is ScheduleState.OPEN
    assert schedule.state_at(brussels(2026, 3, 9, 0, 0))[0] is ScheduleState.CLOSED


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("mon 09:00-08:00", "before closing"),
        ("mon 09:00-12:00,11:00-13:00", "overlap"),
        ("mon 25:00-26:00", "not a time"),
        ("fri-mon 09:00-12:00", "backwards"),
        ("moon 09:00-12:00", "not a day"),
        ("mon 0900", "not a span"),
    ],
)
def test_contradictory_hours_are_refused(hours: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        office(hours=weekly(hours))


def test_destinations_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown destination kind"):
        office(open_destination="pizza:1")
    with pytest.raises(ValueError, match="needs a target"):
        office(open_destination="menu")
    with pytest.raises(ValueError, match="takes no target"):
        office(open_destination="hangup:now")
    assert Destination.parse("external:022555123") == Destination(DestinationKind.EXTERNAL, "+3222555123")
    assert str(Destination.parse("dial_by_extension")) == "dial_by_extension"


def test_one_exception_per_day() -> None:
    with pytest.raises(ValueError, match="one exception per day"):
        office(exceptions=(DayException(date(2026, 3, 3)), DayException(date(2026, 3, 3))))
