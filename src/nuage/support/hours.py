"""SUP-2: the support desk's opening hours, and time counted in them.

Monday to Thursday 8:30-18:00, Friday 8:30-16:00, Europe/Brussels; closed on Belgian public
holidays (from the ``holidays`` library, which is maintained as the calendars change). Response
and resolution clocks run in opening hours only: ``add_open_time`` gives a deadline,
``open_time_between`` the time a ticket has waited. Instants in and out are aware; the desk's
days are local days, so the change to and from summer time moves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BRUSSELS = ZoneInfo("Europe/Brussels")

#: SUP-2: opening hours by weekday (Monday = 0); days absent are closed
SUP_2_HOURS: Mapping[int, tuple[time, time]] = {
    0: (time(8, 30), time(18, 0)),
    1: (time(8, 30), time(18, 0)),
    2: (time(8, 30), time(18, 0)),
    3: (time(8, 30), time(18, 0)),
    4: (time(8, 30), time(16, 0)),
}

_HORIZON_DAYS = 3 * 366  # no opening within three years means a calendar with no opening at all


@lru_cache(maxsize=16)
def _belgian_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("BE", years=year))


def belgian_public_holiday(day: date) -> bool:
    """SUP-2: whether ``day`` is a Belgian public holiday (the desk is closed)."""
    return day in _belgian_holidays(day.year)


@dataclass(frozen=True)
class OpeningHours:
    """SUP-2: when the desk is open; the terms' hours and Belgian holidays by default."""

    hours: Mapping[int, tuple[time, time]] = field(default_factory=lambda: dict(SUP_2_HOURS))
    closed_days: frozenset[date] = frozenset()  # the operator's own closures, beside public holidays
    zone: ZoneInfo = BRUSSELS

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """SUP-2: the day's opening and closing instants (aware, in the desk's zone), or None."""
        span = self.hours.get(day.weekday())
        if span is None or day in self.closed_days or belgian_public_holiday(day):
            return None
        return (datetime.combine(day, span[0], self.zone), datetime.combine(day, span[1], self.zone))

    def _windows_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = at.astimezone(self.zone).date()
        for offset in range(_HORIZON_DAYS):
            window = self.window(day + timedelta(days=offset))
            if window is not None and window[1] > at:
                yield (max(window[0], at), window[1])
        raise ValueError("these opening hours never open")

    def is_open(self, at: datetime) -> bool:
        """SUP-2: whether the desk is open at ``at``."""
        window = self.window(at.astimezone(self.zone).date())
        return window is not None and window[0] <= at < window[1]

    def next_opening(self, at: datetime) -> datetime:
        """SUP-2: ``at`` itself when the desk is open, else when it opens next."""
        return next(self._windows_from(at))[0]

    def add_open_time(self, start: datetime, duration: timedelta) -> datetime:
        """SUP-2: the instant ``duration`` of opening hours after ``start`` (a deadline)."""
        if duration < timedelta(0):
            raise ValueError("a duration of opening time cannot be negative")
        left = duration
        for opens, closes in self._windows_from(start):
            if opens + left <= closes:
                return opens + left
            left -= closes - opens
        raise AssertionError("unreachable: _windows_from ends by raising")

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """SUP-2: how much opening time lies between two instants (zero when ``end`` is earlier)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._windows_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total
