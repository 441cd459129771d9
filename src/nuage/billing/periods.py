"""Billing periods (BIL-2, BIL-3): calendar months on the Brussels business clock.

``Month`` is the billing period. BIL-2 pro rata at service start is day-based::

    pro_rata(start_on) = (days from start_on to the month's end, start day included) / days in month

so a service starting on 10 January is invoiced 22/31 of a month for January.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from nuage.shared.month import Month

DEFAULT_RUN_DAY = 28  # BIL-2: "aux environs du 28 du mois"; a price-plan setting


def run_date(month: Month, run_day: int = DEFAULT_RUN_DAY) -> date:
    """BIL-2: the day the billing run for ``month`` happens (the 28th by default)."""
    return date(month.year, month.month, min(run_day, month.days))


def pro_rata(start_on: date) -> Fraction:
    """BIL-2: share of the started period to invoice: remaining days including the start day / days."""
    # BIL-2 decision: day-based pro rata, the start day included (start on the 10th of a
    # 31-day month: 22/31). Exact Fraction; the amount is rounded once, per invoice line.
    month = Month.of(start_on)
    return Fraction(month.days - start_on.day + 1, month.days)
