"""Conference rooms (CFG-8): ``/conference-rooms``, and their live participants
(``/conference-rooms/{id}/participants``: list, mute, kick)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import StringConstraints

from nuage.api.caching import read_response, write_response
from nuage.api.crud import (
    FORBIDDEN,
    ID,
    NOT_FOUND,
    NOT_MODIFIED,
    Resource,
    described,
    dump,
    register,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.schemas import Id, Input, Name, Output, changes
from nuage.services.directory.conferences import (
    ConferenceRoomChanges,
    add_conference_room,
    kick_participant,
    list_participants,
    remove_conference_room,
    set_participant_muted,
    update_conference_room,
)

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,12}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
ParticipantId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]


class ConferenceCreate(Input):
    """CFG-8: each room created counts as one. PINs are kept hashed and never shown again."""

    account_id: Id | None = None
    name: Name
    pin: Pin | None = None
    moderator_pin: Pin | None = None
    extension: Extension | None = None


class ConferenceUpdate(Input):
    """Rename a conference room, change its PINs or its extension (null removes them)."""

    name: Name | None = None
    pin: Pin | None = None
    moderator_pin: Pin | None = None
    extension: Extension | None = None


class ConferenceOut(Output):
    """A conference room; whether it has PINs, never the PINs."""

    id: str
    account_id: str
    name: str
    extension: str | None
    has_pin: bool
    has_moderator_pin: bool
    created_at: datetime


class ParticipantOut(Output):
    """CFG-8: one caller in a room now."""

    id: str
    room_id: str
    label: str
    joined_at: datetime
    moderator: bool
    muted: bool
    kicked: bool


class ParticipantUpdate(Input):
    """Mute or unmute a participant."""

    muted: bool


def _create(c: Call, body: ConferenceCreate) -> Any:
    return add_conference_room(
        c.uow,
        c.ctx,
        body.account_id or c.claims.account_id,
        body.name,
        body.pin,
        moderator_pin=body.moderator_pin,
        extension=body.extension,
    )


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

PARTICIPANTS_READ = "directory.conference-rooms.read"
PARTICIPANTS_UPDATE = "directory.conference-rooms.update"


@router.get(
    "/conference-rooms/{id}/participants",
    response_model=list[ParticipantOut],
    summary="List a conference room's participants",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(PARTICIPANTS_READ, "CFG-8: who is in the room now, first joined first (live)."),
)
def list_conference_participants(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    found = list_participants(c.uow, c.ctx, id)
    c.require(PARTICIPANTS_READ)
    return read_response(request, b"[" + b",".join(dump(ParticipantOut, p) for p in found) + b"]")


@router.patch(
    "/conference-rooms/{id}/participants/{participant_id}",
    response_model=ParticipantOut,
    summary="Mute or unmute a participant",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(PARTICIPANTS_UPDATE, "CFG-8: a muted participant still hears the room; nobody hears them."),
)
def update_conference_participant(
    id: ID, participant_id: ParticipantId, body: ParticipantUpdate, c: Call = Depends(call)
) -> Response:
    c.require(PARTICIPANTS_UPDATE)
    participant = set_participant_muted(c.uow, c.ctx, id, participant_id, body.muted)
    c.uow.commit()
    return write_response(dump(ParticipantOut, participant), 200)


@router.delete(
    "/conference-rooms/{id}/participants/{participant_id}",
    status_code=202,
    response_model=ParticipantOut,
    summary="Kick a participant",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(
        PARTICIPANTS_UPDATE,
        "CFG-8: the media plane ends the participant's call; they stay listed (``kicked``) until it has.",
    ),
)
def kick_conference_participant(id: ID, participant_id: ParticipantId, c: Call = Depends(call)) -> Response:
    c.require(PARTICIPANTS_UPDATE)
    participant = kick_participant(c.uow, c.ctx, id, participant_id)
    c.uow.commit()
    return write_response(dump(ParticipantOut, participant), 202)
