"""Billing periods (BIL-2, BIL-3, BIL-4): calendar months on the Brussels business clock.

``Month`` is the billing period. BIL-2 pro rata at service start is day-based::

    pro_rata(start_on) = (days from start_on to the month's end, start day included) / days in month

so a service starting on 10 January is invoiced 22/31 of a month for January.

``check_run`` says when the run of a period may issue its invoices (``run_on``):

* BIL-2/BIL-3: at the end of the period, "around the 28th": not before ``RUN_DAY_MARGIN`` days
  ahead of its run day (``run_date``): 25 January for January. A period whose end has not come
  (2485-01) cannot be run; a run late after an outage (catch-up) may, on the day it happens;
* BIL-4: an invoice is dated the day it is issued, never later (``run_on`` is not after today),
  and numbers follow dates (Belgian VAT: chronological numbering): never before the date of the
  last invoice or credit note issued.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from nuage.errors import TermViolation
from nuage.shared.month import Month

DEFAULT_RUN_DAY = 28  # BIL-2: "aux environs du 28 du mois"; a price-plan setting
RUN_DAY_MARGIN = 3  # BIL-2 decision: "around the 28th" opens three days ahead of the run day


def run_date(month: Month, run_day: int = DEFAULT_RUN_DAY) -> date:
    """BIL-2: the day the billing run for ``month`` happens (the 28th by default)."""
    return date(month.year, month.month, min(run_day, month.days))


def pro_rata(start_on: date) -> Fraction:
    """BIL-2: share of the started period to invoice: remaining days including the start day / days."""
    # BIL-2 decision: day-based pro rata, the start day included (start on the 10th of a
    # 31-day month: 22/31). Exact Fraction; the amount is rounded once, per invoice line.
    month = Month.of(start_on)
    return Fraction(month.days - start_on.day + 1, month.days)


class PeriodNotClosed(TermViolation):
    """BIL-2/BIL-3: the period's run day has not come (its end is not reached)."""

    error_id = "period-not-closed"


class RunDateRefused(TermViolation):
    """BIL-2/BIL-4: the issue date of a run is outside what the rules allow."""

    error_id = "run-date-refused"


def first_run_on(period: Month) -> date:
    """BIL-2: the first day the run of ``period`` may issue its invoices."""
    return run_date(period) - timedelta(days=RUN_DAY_MARGIN)


def check_run(period: Month, run_on: date, today: date, last_issued_on: date | None = None) -> None:
    """BIL-2/BIL-3/BIL-4: refuse a run of ``period`` issuing on ``run_on`` that the rules do not allow.

    ``today`` is the business date now; ``last_issued_on`` the date of the last document issued.
    """
    opens = first_run_on(period)
    if opens > today:
        raise PeriodNotClosed(
            "BIL-2",
            f"the period {period} is not closed: its run may happen from {opens} (today is {today})",
            period=str(period),
            field="period",
        )
    if run_on > today:
        raise RunDateRefused(
            "BIL-4",
            f"run_on {run_on} is in the future: an invoice is dated the day it is issued (today is {today})",
            field="run_on",
        )
    if run_on < opens:
        raise RunDateRefused(
            "BIL-2",
            f"run_on {run_on} is before the end of the period {period}: its run may happen from {opens}",
            field="run_on",
        )
    if last_issued_on is not None and run_on < last_issued_on:
        raise RunDateRefused(
            "BIL-4",
            f"run_on {run_on} is before the last invoice issued ({last_issued_on}): numbers follow dates",
            field="run_on",
        )
