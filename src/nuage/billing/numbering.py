"""Invoice numbering (BIL-4): sequential and gapless, per series and per year.

A pure allocator: storage holds the last number of each series in a row it locks
in the issuing transaction, calls ``next_number`` and stores the result, so a
rolled-back issue leaves no gap. Numbers look like ``INV-2025-000042``.
"""

from __future__ import annotations

import re

from nuage.errors import InvalidInput

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
_NUMBER = re.compile(r"(?P<series>[A-Z]+)-(?P<year>\d{4})-(?P<sequence>\d{6,})")


def format_number(series: str, year: int, sequence: int) -> str:
    """BIL-4: the printed form of a number."""
    return f"{series}-{year:04d}-{sequence:06d}"


def next_number(series: str, year: int, last_number: str | None) -> str:
    """BIL-4: the number after ``last_number`` in ``series``; the sequence restarts at 1 each year."""
    # BIL-4 decision: one gapless sequence per series (invoices, credit notes) and per calendar
    # year of issue, the year printed in the number, as Belgian practice allows.
    if last_number is None:
        return format_number(series, year, 1)
    match = _NUMBER.fullmatch(last_number)
    if match is None or match["series"] != series:
        raise InvalidInput("last_number", f"{last_number!r} is not a number of series {series}")
    last_year = int(match["year"])
    if last_year > year:
        raise InvalidInput("last_number", f"{last_number!r} is from a later year than {year}")
    sequence = int(match["sequence"]) + 1 if last_year == year else 1
    return format_number(series, year, sequence)


def allocate_numbers(series: str, year: int, last_number: str | None, count: int) -> tuple[str, ...]:
    """BIL-4: ``count`` consecutive numbers after ``last_number`` (a whole run issued at once)."""
    numbers: list[str] = []
    for _ in range(count):
        last_number = next_number(series, year, last_number)
        numbers.append(last_number)
    return tuple(numbers)
