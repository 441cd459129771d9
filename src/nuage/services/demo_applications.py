"""The demo's auto-attendant and conference room (issue #16), loaded by ``nuage demo`` beside the
demo tenancy (idempotent): Atelier Dupont's number ``DEMO_ATTENDANT`` answered by its office-hours
schedule (Brussels time, Belgian holidays), which leads to the reception menu when open and to the
after-hours menu when closed; both offer the weekly meeting room (extension 800, PIN 4321, moderator
PIN 8765) on key 1. Kept apart from ``load_demo`` so the demo's billing stays as its tests know it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.schedules import weekly
from nuage.services.access import hash_secret
from nuage.services.context import Context
from nuage.services.directory import applications as a
from nuage.services.directory.conferences import add_conference_room
from nuage.services.directory.numbers import add_number
from nuage.services.ports import UnitOfWork
from nuage.shared.clock import Clock
from nuage.tenancy.model import PartyKind

DEMO_ATTENDANT = "+3223000150"
ROOM_EXTENSION = "800"
ROOM_PIN = "4321"
MODERATOR_PIN = "8765"


@dataclass(frozen=True)
class ApplicationsDemo:
    """What the demo's applications are, for printing."""

    number: str
    room_extension: str
    room_pin: str
    moderator_pin: str
    created: int


def load_applications_demo(uow: UnitOfWork, clock: Clock) -> ApplicationsDemo:
    """Atelier Dupont's auto-attendant number, schedule, menus and conference room (once)."""
    summary = ApplicationsDemo(DEMO_ATTENDANT, ROOM_EXTENSION, ROOM_PIN, MODERATOR_PIN, 0)
    dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
    if dupont is None or uow.numbers.find_by(e164=DEMO_ATTENDANT) is not None:
        return summary
    ctx = Context.operator("", clock)
    account = dupont.id
    room = uow.conference_rooms.find_by(account_id=account, name="Weekly meeting")
    if room is None:
        room = add_conference_room(uow, ctx, account, "Weekly meeting", ROOM_PIN)
    room = replace(room, extension=ROOM_EXTENSION, moderator_pin_hash=hash_secret(MODERATOR_PIN))
    uow.conference_rooms.update(room)
    conference = f"conference:{room.id}"
    reception = a.add_menu(
        uow,
        ctx,
        account,
        a.MenuChanges(
            name="Reception",
            options={"1": conference, "2": "dial_by_extension", "0": "hangup"},
            timeout_destination=conference,
        ),
    )
    after_hours = a.add_menu(
        uow,
        ctx,
        account,
        a.MenuChanges(name="After hours", prompt="default:closed", options={"1": conference, "0": "hangup"}),
    )
    schedule = a.add_schedule(
        uow,
        ctx,
        account,
        a.ScheduleChanges(
            name="Office hours",
            open_destination=f"menu:{reception.id}",
            closed_destination=f"menu:{after_hours.id}",
            hours=weekly("mon-thu 08:30-18:00; fri 08:30-16:00"),
        ),
    )
    number = add_number(uow, ctx, account, DEMO_ATTENDANT)
    a.route_number(uow, ctx, number.id, f"schedule:{schedule.id}")
    uow.commit()
    return replace(summary, created=5)
