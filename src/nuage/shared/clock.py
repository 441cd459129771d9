"""Time: aware instants, the Europe/Brussels business clock, and an injectable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Europe/Brussels")


class Clock(Protocol):
    """Gives the current instant; production uses SystemClock, tests a FrozenClock."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, as an aware UTC instant."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to; for tests and scenario replays."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = require_aware(at)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta


def require_aware(at: datetime) -> datetime:
    """Refuse naive datetimes: every instant in Nuage carries its zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime refused: {at!r}")
    return at


def business_date(at: datetime) -> date:
    """The calendar day of an instant on the Brussels business clock."""
    return require_aware(at).astimezone(BUSINESS_TZ).date()


def business_midnight(day: date) -> datetime:
    """The instant a Brussels business day starts, as aware UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ).astimezone(UTC)
