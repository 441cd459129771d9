"""Billing periods (BIL-2, BIL-3): calendar months on the Brussels business clock.

``Month`` is the billing period. BIL-2 pro rata at service start is day-based::

    pro_rata(start_on) = (days from start_on to the month's end, start day included) / days in month

so a service starting on 10 January is invoiced 22/31 of a month for January.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from nuage.errors import InvalidInput
from nuage.shared.clock import business_date

DEFAULT_RUN_DAY = 28  # BIL-2: "aux environs du 28 du mois"; a price-plan setting


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

    def run_date(self, run_day: int = DEFAULT_RUN_DAY) -> date:
        """BIL-2: the day the billing run for this period happens (the 28th by default)."""
        return date(self.year, self.month, min(run_day, self.days))


def pro_rata(start_on: date) -> Fraction:
    """BIL-2: share of the started period to invoice: remaining days including the start day / days."""
    # BIL-2 decision: day-based pro rata, the start day included (start on the 10th of a
    # 31-day month: 22/31). Exact Fraction; the amount is rounded once, per invoice line.
    month = Month.of(start_on)
    return Fraction(month.days - start_on.day + 1, month.days)
