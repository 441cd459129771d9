"""``Month``: a calendar month on the Brussels business clock (BIL-2's billing period, CNT-1's
summary month, CNT-3's quarters).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from nuage.errors import InvalidInput
from nuage.shared.clock import business_date


@dataclass(frozen=True, order=True)
class Month:
    """BIL-2: one billing period, a calendar month (Europe/Brussels)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidInput("month", f"Not a month: {self.month}")

    @classmethod
    def of(cls, day: date) -> Month:
        """BIL-2: the period a calendar day falls in."""
        return cls(day.year, day.month)

    @classmethod
    def at(cls, instant: datetime) -> Month:
        """BIL-2: the period an aware instant falls in, on the Brussels clock."""
        return cls.of(business_date(instant))

    @classmethod
    def parse(cls, text: str) -> Month:
        """BIL-2: a period from ``YYYY-MM``."""
        try:
            year, month = (int(part) for part in text.split("-"))
        except ValueError as error:
            raise InvalidInput("month", f"Not a YYYY-MM month: {text!r}") from error
        return cls(year, month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        """BIL-2: the first day of the period."""
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        """BIL-2: the last day of the period."""
        return date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        """BIL-2: the number of days in the period."""
        return calendar.monthrange(self.year, self.month)[1]

    def plus(self, months: int) -> Month:
        """BIL-2: the period ``months`` later (or earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def next(self) -> Month:
        """BIL-2: the following period (P+1)."""
        return self.plus(1)

    def previous(self) -> Month:
        """BIL-2: the preceding period (P-1)."""
        return self.plus(-1)

    def months_until(self, other: Month) -> int:
        """BIL-2: how many periods from this one to ``other`` (negative when ``other`` is earlier)."""
        return (other.year - self.year) * 12 + other.month - self.month

    @property
    def quarter_first_month(self) -> Month:
        """CNT-3: the first month of this month's calendar quarter."""
        return Month(self.year, (self.month - 1) // 3 * 3 + 1)

    def contains(self, day: date) -> bool:
        """BIL-2: whether ``day`` is in this period."""
        return day.year == self.year and day.month == self.month
