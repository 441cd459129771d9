"""Communal rooms (CFG-4): ``/rooms``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output, changes
from nuage.directory.model import RoomUse
from nuage.services.directory.rooms import RoomChanges, add_room, remove_room, update_room


class RoomCreate(Input):
    """CFG-4: ``non_users`` rooms count one user per phone; ``users`` rooms count none."""

    account_id: Id | None = None
    name: Name
    use: RoomUse


class RoomUpdate(Input):
    """Rename a room or change who uses it."""

    name: Name | None = None
    use: RoomUse | None = None


class RoomOut(Output):
    """A communal room."""

    id: str
    account_id: str
    name: str
    use: RoomUse
    created_at: datetime


def _create(c: Call, body: RoomCreate) -> Any:
    return add_room(c.uow, c.ctx, body.account_id or c.claims.account_id, body.name, body.use)


ROOMS = Resource(
    path="/rooms",
    area="directory",
    name="rooms",
    tag="directory",
    noun="room",
    out=RoomOut,
    repo=lambda uow: uow.rooms,
    filters={"account_id": Id, "use": RoomUse},
    order_fields=("name", "created_at"),
    create_body=RoomCreate,
    create=_create,
    update_body=RoomUpdate,
    update=lambda c, key, body: update_room(c.uow, c.ctx, key, RoomChanges(**changes(body, "name", "use"))),
    delete=lambda c, key: remove_room(c.uow, c.ctx, key),
    rules="CFG-4.",
)

router = APIRouter()
register(router, ROOMS)
