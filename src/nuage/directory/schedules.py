"""Opening hours of an account: weekly hours, dated exceptions, Belgian public holidays.

A schedule answers one question, purely and for any instant it is given (the caller's clock is
injected, never read here): is the account open, closed, or closed for a public holiday, and so
which destination takes the call. Hours are local to Europe/Brussels, so a schedule follows the
summer-time changes. The order is: a dated exception (it may open on a holiday or close on a
weekday), then the Belgian public holidays (the maintained ``holidays`` library) when the
schedule observes them, then the weekly hours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

import holidays

from nuage.directory.destinations import Destination
from nuage.shared.clock import BUSINESS_TZ, require_aware

DAY_MINUTES = 24 * 60
MAX_SPANS = 28  # a week of four spans a day
MAX_EXCEPTIONS = 366
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


def parse_minute(text: str) -> int:
    """``HH:MM`` (``24:00`` is the end of the day) as minutes after midnight; ValueError if not."""
    found = _HHMM.match(text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a time (HH:MM)")
    minute = int(found.group(1)) * 60 + int(found.group(2))
    if minute > DAY_MINUTES:
        raise ValueError(f"{text!r} is past the end of the day")
    return minute


def format_minute(minute: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class Span:
    """An opening span within one day, ``opens`` inclusive to ``closes`` exclusive, in minutes."""

    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not 0 <= self.opens < self.closes <= DAY_MINUTES:
            raise ValueError(
                f"{format_minute(self.opens)}-{format_minute(self.closes)}: opening must come before closing"
            )

    @classmethod
    def parse(cls, text: str) -> Span:
        """``HH:MM-HH:MM``."""
        opens, sep, closes = text.partition("-")
        if not sep:
            raise ValueError(f"{text!r} is not a span (HH:MM-HH:MM)")
        return cls(parse_minute(opens), parse_minute(closes))

    def __str__(self) -> str:
        return f"{format_minute(self.opens)}-{format_minute(self.closes)}"

    def holds(self, minute: int) -> bool:
        """Whether the minute of the day falls in the span."""
        return self.opens <= minute < self.closes


@dataclass(frozen=True, slots=True)
class WeeklySpan:
    """Open on ``weekday`` (0 is Monday) during ``span``."""

    weekday: int
    span: Span

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday {self.weekday} is not 0 (Monday) to 6 (Sunday)")


@dataclass(frozen=True, slots=True)
class DayException:
    """On ``on``, the weekly hours and holidays give way to ``spans`` (none: closed all day)."""

    on: date
    spans: tuple[Span, ...] = ()
    label: str = ""


class ScheduleState(StrEnum):
    """What a schedule says of an instant."""

    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


def check_no_overlap(spans: Iterable[Span], where: str) -> None:
    """Spans of one day may not overlap (ValueError naming ``where``)."""
    ordered = sorted(spans, key=lambda s: s.opens)
    for first, second in zip(ordered, ordered[1:], strict=False):
        if second.opens < first.closes:
            raise ValueError(f"{where}: {first} and {second} overlap")


@dataclass
class Schedule:
    """An account's opening hours and where calls go when open, closed, or on a public holiday."""

    id: str
    account_id: str
    name: str
    created_at: datetime
    open_destination: str
    closed_destination: str
    holiday_destination: str | None = None  # None: as when closed
    observe_holidays: bool = True  # Belgian public holidays close the account
    hours: tuple[WeeklySpan, ...] = field(default_factory=tuple)
    exceptions: tuple[DayException, ...] = field(default_factory=tuple)

    def check(self) -> None:
        """ValueError when the hours or exceptions contradict themselves or a destination is not one."""
        if len(self.hours) > MAX_SPANS:
            raise ValueError(f"at most {MAX_SPANS} weekly spans")
        if len(self.exceptions) > MAX_EXCEPTIONS:
            raise ValueError(f"at most {MAX_EXCEPTIONS} exceptions")
        for weekday in range(7):
            check_no_overlap((h.span for h in self.hours if h.weekday == weekday), WEEKDAYS[weekday])
        days = [e.on for e in self.exceptions]
        if len(days) != len(set(days)):
            raise ValueError("one exception per day")
        for exception in self.exceptions:
            check_no_overlap(exception.spans, exception.on.isoformat())
        for text in (self.open_destination, self.closed_destination, self.holiday_destination):
            if text is not None:
                Destination.parse(text)

    def state_at(self, at: datetime) -> tuple[ScheduleState, str | None]:
        """Open, closed or holiday at the instant ``at`` (and the holiday's or exception's name)."""
        local = require_aware(at).astimezone(BUSINESS_TZ)
        day, minute = local.date(), local.hour * 60 + local.minute
        for exception in self.exceptions:
            if exception.on == day:
                opened = any(span.holds(minute) for span in exception.spans)
                return (ScheduleState.OPEN if opened else ScheduleState.CLOSED), exception.label or None
        if self.observe_holidays:
            name = belgian_holiday(day)
            if name is not None:
                return ScheduleState.HOLIDAY, name
        weekday = local.weekday()
        opened = any(h.weekday == weekday and h.span.holds(minute) for h in self.hours)
        return (ScheduleState.OPEN if opened else ScheduleState.CLOSED), None

    def destination_at(self, at: datetime) -> Destination:
        """Where a call arriving at ``at`` goes."""
        state, _ = self.state_at(at)
        if state is ScheduleState.OPEN:
            return Destination.parse(self.open_destination)
        if state is ScheduleState.HOLIDAY and self.holiday_destination is not None:
            return Destination.parse(self.holiday_destination)
        return Destination.parse(self.closed_destination)


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("BE", years=year, language="en_US").items())


def belgian_holiday(day: date) -> str | None:
    """The Belgian public holiday on ``day``, by name, if it is one."""
    return _holidays_of(day.year).get(day)


# --- plain data (storage JSON, API bodies) ----------------------------------------------------------


def hours_to_data(hours: tuple[WeeklySpan, ...]) -> list[list[int | str]]:
    """Weekly spans as ``[[weekday, "HH:MM-HH:MM"], ...]``."""
    return [[h.weekday, str(h.span)] for h in hours]


def hours_from_data(data: list[list[int | str]]) -> tuple[WeeklySpan, ...]:
    """The inverse of ``hours_to_data``; ValueError on anything else."""
    return tuple(WeeklySpan(int(weekday), Span.parse(str(span))) for weekday, span in data)


def exceptions_to_data(exceptions: tuple[DayException, ...]) -> list[dict[str, object]]:
    """Exceptions as ``[{"on": "YYYY-MM-DD", "spans": ["HH:MM-HH:MM"], "label": "..."}]``."""
    return [
        {"on": e.on.isoformat(), "spans": [str(s) for s in e.spans], "label": e.label} for e in exceptions
    ]


def exceptions_from_data(data: list[dict[str, object]]) -> tuple[DayException, ...]:
    """The inverse of ``exceptions_to_data``; ValueError on anything else."""
    return tuple(
        DayException(
            date.fromisoformat(str(item["on"])),
            tuple(Span.parse(str(s)) for s in item.get("spans") or ()),  # type: ignore[attr-defined]
            str(item.get("label") or ""),
        )
        for item in data
    )


def weekly(text: str) -> tuple[WeeklySpan, ...]:
    """Weekly hours written ``mon-fri 08:30-12:00,13:00-17:30; sat 09:00-12:00`` (days one by one
    or as a range), as the CLI and the examples write them."""
    result: list[WeeklySpan] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, _, spans = part.partition(" ")
        first, _, last = days.lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"{days!r} is not a day or a range of days (mon..sun)")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        if end < start:
            raise ValueError(f"{days!r}: the range runs backwards")
        for span_text in filter(None, (s.strip() for s in spans.split(","))):
            span = Span.parse(span_text)
            result.extend(WeeklySpan(weekday, span) for weekday in range(start, end + 1))
    return tuple(result)
