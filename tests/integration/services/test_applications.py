"""Schedules, menus, numbers answered by them and conference rooms over real storage (SQLite and
PostgreSQL): stored and read back whole, destinations checked against the account, PINs hashed,
live participants muted and kicked."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nuage.bootstrap import Platform
from nuage.directory.conferences import JoinRole
from nuage.directory.destinations import Destination, DestinationKind
from nuage.directory.schedules import DayException, ScheduleState, Span, weekly
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.directory import applications as a
from nuage.services.directory import conferences as c
from nuage.services.directory.numbers import add_number, assign_number
from nuage.services.directory.ring_groups import add_ring_group
from nuage.tenancy.model import PartyKind


def setup(platform: Platform) -> tuple[Context, str, str, str]:
    """The demo; the operator's context, Atelier Dupont, one of its users, another account's user."""
    with platform.uow() as uow:
        summary = load_demo(uow, platform.clock)
        uow.commit()
    with platform.uow() as uow:
        customers = {p.name: p.id for p in uow.parties.list(kind=PartyKind.CUSTOMER.value)}
        dupont = customers["Atelier Dupont"]
        user = uow.users.list(account_id=dupont, no_service=False)[0]
        other = uow.users.list(account_id=customers["Bakkerij Peeters"])[0]
    return Context.operator(summary.operator_id, platform.clock), dupont, user.id, other.id


def test_schedules_and_menus_round_trip_and_choose(platform: Platform) -> None:
    ctx, dupont, user_id, _ = setup(platform)
    with platform.uow() as uow:
        support = a.add_menu(
            uow, ctx, dupont, a.MenuChanges(name="Support", options={"1": f"user:{user_id}"})
        )
        main = a.add_menu(
            uow,
            ctx,
            dupont,
            a.MenuChanges(
                name="Main",
                language="fr",
                options={
                    "2": f"menu:{support.id}",
                    "1": f"user:{user_id}",
                    "9": "dial_by_extension",
                    "0": "hangup",
                },
                timeout_destination=f"voicemail:{user_id}",
            ),
        )
        schedule = a.add_schedule(
            uow,
            ctx,
            dupont,
            a.ScheduleChanges(
                name="Office",
                open_destination=f"menu:{main.id}",
                closed_destination=f"voicemail:{user_id}",
                hours=weekly("mon-fri 08:30-18:00"),
                exceptions=(DayException(date(2026, 3, 11), (Span.parse("10:00-12:00"),), "Inventory"),),
            ),
        )
        uow.commit()
    with platform.uow() as uow:
        stored = uow.schedules.get(schedule.id)
        menu = uow.menus.get(main.id)
    assert stored == schedule
    assert menu.options == {
        "0": "hangup",
        "1": f"user:{user_id}",
        "2": f"menu:{support.id}",
        "9": "dial_by_extension",
    }
    assert menu.language == "fr"
    with platform.uow() as uow:
        # the clock: Tuesday 10 March 2026, 09:30 in Brussels
        state, _, destination = a.schedule_now(uow, ctx, schedule.id)
        holiday = a.schedule_now(uow, ctx, schedule.id, datetime(2026, 4, 6, 9, 0, tzinfo=UTC))
        inventory = a.schedule_now(uow, ctx, schedule.id, datetime(2026, 3, 11, 8, 0, tzinfo=UTC))
    assert (state, destination) == (ScheduleState.OPEN, Destination(DestinationKind.MENU, main.id))
    assert holiday[:2] == (ScheduleState.HOLIDAY, "Easter Monday")
    assert holiday[2] == Destination(DestinationKind.VOICEMAIL, user_id)
    assert inventory[:2] == (ScheduleState.CLOSED, "Inventory")
    with platform.uow() as uow, pytest.raises(Conflict):
        a.remove_menu(uow, ctx, support.id)  # the main menu leads to it
    with platform.uow() as uow, pytest.raises(Conflict):
        a.remove_menu(uow, ctx, main.id)  # the schedule leads to it


def test_menu_destinations_must_be_the_accounts(platform: Platform) -> None:
    ctx, dupont, _, other = setup(platform)
    for destination, field in [
        (f"user:{other}", "options.1"),  # another account's user: as if missing (TEN-4)
        ("menu:ivr_missing", "options.1"),
        ("extension:999", "options.1"),
        ("group:grp_missing", "options.1"),
        ("pizza", "options"),
    ]:
        with platform.uow() as uow, pytest.raises(InvalidInput) as refused:
            a.add_menu(uow, ctx, dupont, a.MenuChanges(name="Bad", options={"1": destination}))
        assert refused.value.field == field, destination


def test_a_menu_leads_to_a_ring_group_by_its_extension(platform: Platform) -> None:
    ctx, dupont, user_id, _ = setup(platform)
    with platform.uow() as uow:
        bare = add_ring_group(uow, ctx, dupont, "No extension", members=(user_id,))
        sales = add_ring_group(uow, ctx, dupont, "Sales", members=(user_id,), extension="260")
        with pytest.raises(InvalidInput) as refused:  # a caller is sent to a group by its extension
            a.add_menu(uow, ctx, dupont, a.MenuChanges(name="Bad", options={"1": f"group:{bare.id}"}))
        assert refused.value.field == "options.1"
        menu = a.add_menu(
            uow,
            ctx,
            dupont,
            a.MenuChanges(name="Sales", options={"1": f"group:{sales.id}", "2": "extension:260"}),
        )
        uow.commit()
    assert menu.options == {"1": f"group:{sales.id}", "2": "extension:260"}


def test_a_number_routes_to_a_menu_only_when_unassigned(platform: Platform) -> None:
    ctx, dupont, user_id, _ = setup(platform)
    with platform.uow() as uow:
        menu = a.add_menu(uow, ctx, dupont, a.MenuChanges(name="Main", options={"1": f"user:{user_id}"}))
        number = add_number(uow, ctx, dupont, "+3223000190")
        application = a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
        uow.commit()
    assert application is not None
    with platform.uow() as uow:
        assert a.number_route(uow, ctx, number.id).destination == f"menu:{menu.id}"
        with pytest.raises(Conflict):
            assign_number(uow, ctx, number.id, user_id=user_id)
        with pytest.raises(InvalidInput):
            a.route_number(uow, ctx, number.id, f"user:{user_id}")  # a number leads to an application
        with pytest.raises(Conflict):
            a.remove_menu(uow, ctx, menu.id)
        a.route_number(uow, ctx, number.id, None)
        uow.commit()
    with platform.uow() as uow, pytest.raises(NotFound):
        a.number_route(uow, ctx, number.id)


@pytest.mark.rule("CFG-8")
def test_conference_pins_are_hashed_and_participants_are_controlled(platform: Platform) -> None:
    ctx, dupont, user_id, _ = setup(platform)
    with platform.uow() as uow:
        room = c.add_conference_room(uow, ctx, dupont, "Board", "2468", moderator_pin="1357", extension="801")
        uow.commit()
    assert room.pin_hash is not None
    assert "2468" not in room.pin_hash
    assert c.join_role(room, "2468") is JoinRole.PARTICIPANT
    assert c.join_role(room, "1357") is JoinRole.MODERATOR
    assert c.join_role(room, "0000") is None
    with platform.uow() as uow:
        with pytest.raises(Conflict):
            c.add_conference_room(uow, ctx, dupont, "Twin", extension="801")
        with pytest.raises(Conflict):
            c.add_conference_room(uow, ctx, dupont, "Alice's", extension="211")  # a user's extension
        for n, label in enumerate(("+3223000100", "+3223000101", "211")):
            c.participant_joined(uow, room, f"call-{n}@host", label, JoinRole.PARTICIPANT, ctx)
        uow.commit()
    with platform.uow() as uow:
        c.set_participant_muted(uow, ctx, room.id, "call-1@host", True)
        c.kick_participant(uow, ctx, room.id, "call-2@host")
        uow.commit()
    with platform.uow() as uow:
        listed = c.list_participants(uow, ctx, room.id)
        with pytest.raises(Conflict):
            c.remove_conference_room(uow, ctx, room.id)
    assert [(p.label, p.muted, p.kicked) for p in listed] == [
        ("+3223000100", False, False),
        ("+3223000101", True, False),
        ("211", False, True),
    ]
    with platform.uow() as uow:
        for p in listed:
            c.participant_left(uow, p.id)
        c.remove_conference_room(uow, ctx, room.id)
        uow.commit()
