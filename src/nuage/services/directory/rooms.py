"""Communal rooms (CFG-4): the rooms with shared phones, whose use decides whether the phones count."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import CommunalRoom, RoomUse
from nuage.directory.rules import clean_name
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class RoomChanges:
    """What a change of a communal room sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    use: RoomUse | Unset = UNSET


def add_room(uow: UnitOfWork, ctx: Context, account_id: str, name: str, use: RoomUse) -> CommunalRoom:
    """CFG-4: a communal room; the kind of use decides whether its phones count as users."""
    get_customer(uow, ctx, account_id)
    room = CommunalRoom(new_id("room"), account_id, clean_name(name), RoomUse(use), ctx.clock.now())
    uow.rooms.add(room)
    return room


def update_room(uow: UnitOfWork, ctx: Context, room_id: str, change: RoomChanges) -> CommunalRoom:
    """CFG-4: rename a communal room or change who uses it (which decides whether its phones count)."""
    room = get_visible(uow.rooms, ctx, room_id)
    values = given(change)
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    if isinstance(change.use, str):
        values["use"] = RoomUse(change.use)
    updated = replace(room, **values)
    uow.rooms.update(updated)
    return updated


def remove_room(uow: UnitOfWork, ctx: Context, room_id: str) -> None:
    """CFG-4: remove a communal room; its phones and users stay, no longer in the room."""
    room = get_visible(uow.rooms, ctx, room_id)
    for device in uow.devices.list(room_id=room.id):
        uow.devices.update(replace(device, room_id=None))
    for user in uow.users.list(communal_room_id=room.id):
        uow.users.update(replace(user, communal_room_id=None))
    uow.rooms.remove(room.id)
