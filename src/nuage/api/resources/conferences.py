"""Conference rooms (CFG-8): ``/conference-rooms``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import StringConstraints

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output, changes
from nuage.services.directory.media import (
    ConferenceRoomChanges,
    add_conference_room,
    remove_conference_room,
    update_conference_room,
)

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,12}$")]


class ConferenceCreate(Input):
    """CFG-8: each room created counts as one."""

    account_id: Id | None = None
    name: Name
    pin: Pin | None = None


class ConferenceUpdate(Input):
    """Rename a conference room or change its PIN (null removes it)."""

    name: Name | None = None
    pin: Pin | None = None


class ConferenceOut(Output):
    """A conference room."""

    id: str
    account_id: str
    name: str
    pin: str | None
    created_at: datetime


def _create(c: Call, body: ConferenceCreate) -> Any:
    return add_conference_room(c.uow, c.ctx, body.account_id or c.claims.account_id, body.name, body.pin)


CONFERENCES = Resource(
    path="/conference-rooms",
    area="directory",
    name="conference-rooms",
    tag="directory",
    noun="conference room",
    out=ConferenceOut,
    repo=lambda uow: uow.conference_rooms,
    filters={"account_id": Id},
    order_fields=("name", "created_at"),
    create_body=ConferenceCreate,
    create=_create,
    update_body=ConferenceUpdate,
    update=lambda c, key, body: update_conference_room(
        c.uow, c.ctx, key, ConferenceRoomChanges(**changes(body, "name"))
    ),
    delete=lambda c, key: remove_conference_room(c.uow, c.ctx, key),
    rules="CFG-8.",
)

router = APIRouter()
register(router, CONFERENCES)
