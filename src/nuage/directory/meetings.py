"""Web Meeting rooms (MTG-1, BIL-6): what a room is and the rules that decide who may enter it.

A room is ordered (an order accepting the terms, TEN-3, and its invoice issued at once, BIL-6),
becomes active only once that invoice is paid, and may be locked by its host. People join it from a
browser with its PIN; the gateway room (``gateway_room``) is reached with a key of its own
(``gateway_pin``) that Nuage hands out after these checks and changes when the room is locked.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nuage.errors import InvalidInput, TermViolation

MAX_MONTHS = 36
MAX_PUBLISHERS = 25


class MeetingStatus(StrEnum):
    """BIL-6: ordered (invoice issued, not paid yet) → active (paid) → closed."""

    ORDERED = "ordered"
    ACTIVE = "active"
    CLOSED = "closed"


@dataclass(frozen=True)
class MeetingRoom:
    """MTG-1: a virtual meeting room of an account, joined from a browser with audio and video."""

    id: str
    account_id: str
    name: str
    pin: str
    status: MeetingStatus
    ordered_at: datetime
    months: int
    order_id: str
    invoice_number: str
    gateway_room: int  # the video room's number on the gateway
    gateway_secret: str  # what the gateway asks to edit, moderate or destroy the room
    gateway_pin: str  # what the gateway asks to join; never the people's PIN
    publishers: int = 12
    locked: bool = False
    activated_at: datetime | None = None
    gateway_instance: str | None = None  # the gateway instance the room was placed on when it opened


def check_meeting_pin(pin: str) -> None:
    """MTG-1: a meeting room's PIN is 4 to 12 digits."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("pin", "A meeting PIN is 4 to 12 digits")


def check_months(months: int) -> None:
    """BIL-6: a subscription is ordered for 1 to 36 months, paid in advance."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput("months", f"A Web Meeting subscription is 1 to {MAX_MONTHS} months")


def require_paid(room: MeetingRoom, paid: bool) -> None:
    """BIL-6: the subscription is invoiced at order and paid before the service is activated: a room
    whose invoice is not paid in full does not open."""
    if room.status is MeetingStatus.CLOSED:
        raise TermViolation("MTG-1", f"Meeting room {room.name!r} is closed", room_id=room.id)
    if room.status is MeetingStatus.ORDERED and not paid:
        raise TermViolation(
            "BIL-6",
            f"Meeting room {room.name!r} opens once invoice {room.invoice_number} is paid",
            room_id=room.id,
            invoice_number=room.invoice_number,
        )


def check_entry(room: MeetingRoom, pin: str) -> None:
    """MTG-1: who may join: the room's PIN (compared in constant time), a room not locked by its host."""
    if not hmac.compare_digest(room.pin.encode(), pin.encode()):
        raise InvalidInput("pin", "Wrong PIN for this meeting room", rule_id="MTG-1")
    if room.locked:
        raise TermViolation("MTG-1", f"Meeting room {room.name!r} is locked by its host", room_id=room.id)
