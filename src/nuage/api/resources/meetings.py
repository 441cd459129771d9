"""Web Meeting rooms (MTG-1, BIL-6): ``/meeting-rooms``, their opening once paid, the host's controls,
and the operator's view of the Janus gateways (``/meeting-gateway``: each instance, its health and
its open rooms).

Ordering a room places an order (TEN-3) and issues its invoice at once (BIL-6); the room opens
(``POST /meeting-rooms/{id}/open``, or the first visitor) only once that invoice is paid, else 422
citing BIL-6. The host's controls act on the gateway's room; without ``[janus] url`` they answer 503.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field

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
from nuage.api.errors import ErrorBody, unprocessable
from nuage.api.schemas import Id, Input, Name, Output, Short
from nuage.directory.meetings import MAX_MONTHS, MAX_PUBLISHERS, MeetingStatus
from nuage.errors import UpstreamUnavailable
from nuage.services.meetings import rooms as m
from nuage.services.meetings.placement import gateway_overview
from nuage.services.meetings.ports import MeetingGateways
from nuage.services.queries import get_visible
from nuage.tenancy.model import Language

READ = "directory.meeting-rooms.read"
UPDATE = "directory.meeting-rooms.update"
GATEWAY = "directory.meeting-gateway.read"
UNAVAILABLE = {
    503: {"model": ErrorBody, "description": "The Janus gateway is not configured or does not answer"}
}
Pin = Annotated[str, Field(pattern=r"^[0-9]{4,12}$", description="4 to 12 digits")]
ParticipantId = Annotated[int, Path(ge=1, le=2**53, description="The participant's id in the room")]


class HardwareBody(Input):
    """BIL-6: meeting hardware (camera, speakerphone) invoiced at order."""

    model: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    quantity: Annotated[int, Field(ge=1, le=100)]


class MeetingRoomCreate(Input):
    """BIL-6/TEN-3: order a room: the terms accepted, the months of subscription paid in advance."""

    account_id: Id
    name: Name
    pin: Pin
    months: Annotated[int, Field(ge=1, le=MAX_MONTHS)] = 12
    publishers: Annotated[int, Field(ge=1, le=MAX_PUBLISHERS)] = 12
    terms_version: Short
    language: Language
    accepted_by: Name
    hardware: Annotated[list[HardwareBody], Field(max_length=10)] = []


class MeetingRoomOut(Output):
    """MTG-1: a meeting room; ``status`` ordered → active once its invoice is paid (BIL-6) → closed."""

    id: str
    account_id: str
    name: str
    pin: str
    status: MeetingStatus
    ordered_at: datetime
    months: int
    order_id: str
    invoice_number: str
    publishers: int
    locked: bool
    activated_at: datetime | None
    gateway_instance: str | None = Field(
        description="The Janus instance the room was placed on when it opened (it stays there)"
    )
    join_path: str


class ParticipantOut(Output):
    """MTG-1: someone in the room."""

    participant_id: int
    display: str
    publishing: bool


class ParticipantsOut(Output):
    """MTG-1: who is in the room now."""

    items: list[ParticipantOut]


class MuteBody(Input):
    """MTG-1: the host mutes (true) or unmutes (false) a participant."""

    muted: bool = True


class LockBody(Input):
    """MTG-1: the host locks (true) or unlocks (false) the room."""

    locked: bool = True


class GatewayInstanceOut(Output):
    """MTG-1: one Janus instance: does it answer, its version, its share of rooms and its open rooms."""

    name: str
    url: str
    public_url: str
    reachable: bool
    version: str | None
    error: str | None
    weight: int
    capacity: int | None
    open_rooms: int


class GatewayOut(Output):
    """The operator's view of the Janus gateways: the first instance's health, version and plugins at
    the top level (as with a single ``[janus]``), every instance in ``instances``, STUN/TURN."""

    configured: bool
    url: str | None
    reachable: bool
    version: str | None
    plugins: list[str]
    error: str | None
    stun_urls: list[str]
    turn_urls: list[str]
    instances: list[GatewayInstanceOut]


def _out(room: Any) -> dict[str, Any]:
    return {**room.__dict__, "join_path": f"/meet/{room.id}"}


def gateway_of(c: Call) -> MeetingGateways:
    """The platform's Janus gateways; 503 when none is configured."""
    found = c.runtime.platform.meeting_gateways
    if found is None:
        raise UpstreamUnavailable("janus", "Web Meeting is not configured: set [janus] url")
    return found


def _create(c: Call, body: MeetingRoomCreate) -> Any:
    platform = c.runtime.platform
    wanted = m.MeetingOrder(
        name=body.name,
        pin=body.pin,
        months=body.months,
        terms_version=body.terms_version,
        language=body.language,
        accepted_by=body.accepted_by,
        publishers=body.publishers,
        hardware=tuple((item.model, item.quantity) for item in body.hardware),
    )
    room = m.order_meeting_room(
        c.uow,
        c.ctx,
        body.account_id,
        wanted,
        settings=platform.payments,
        validator=platform.einvoice_validator,
    )
    return _out(room)


def _close(c: Call, key: str) -> None:
    m.close_meeting_room(c.uow, c.ctx, key, c.runtime.platform.meeting_gateways)


MEETING_ROOMS = Resource(
    path="/meeting-rooms",
    area="directory",
    name="meeting-rooms",
    tag="meetings",
    noun="meeting room",
    out=MeetingRoomOut,
    repo=lambda uow: uow.meeting_rooms,
    filters={"account_id": Id, "status": MeetingStatus},
    order_fields=("name", "ordered_at"),
    create_body=MeetingRoomCreate,
    create=_create,
    get=lambda c, key: _out(get_visible(c.uow.meeting_rooms, c.ctx, key)),
    delete=lambda c, key: _close(c, key),
    rules="MTG-1, BIL-6: ordering places an order (TEN-3) and issues its invoice at once.",
)

router = APIRouter()
register(router, MEETING_ROOMS)


@router.post(
    "/meeting-rooms/{id}/open",
    response_model=MeetingRoomOut,
    summary="Open a paid meeting room",
    tags=["meetings"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("BIL-6", "MTG-1"), UNAVAILABLE),
    **described(UPDATE, "BIL-6: activation follows payment: 422 citing BIL-6 while the invoice is unpaid."),
)
def open_meeting_room(id: ID, c: Call = Depends(call)) -> Response:
    get_visible(c.uow.meeting_rooms, c.ctx, id)  # TEN-4: 404 before anything else
    c.require(UPDATE)
    room = m.open_meeting_room(c.uow, c.ctx, id, gateway_of(c), c.runtime.platform.payments)
    return write_response(dump(MeetingRoomOut, _out(room)), 200)


@router.post(
    "/meeting-rooms/{id}/lock",
    response_model=MeetingRoomOut,
    summary="Lock or unlock a meeting room",
    tags=["meetings"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("BIL-6", "MTG-1"), UNAVAILABLE),
    **described(UPDATE, "MTG-1: a locked room lets nobody else in, not even with a key handed out before."),
)
def lock_meeting_room(id: ID, body: LockBody, c: Call = Depends(call)) -> Response:
    get_visible(c.uow.meeting_rooms, c.ctx, id)  # TEN-4: 404 before anything else
    c.require(UPDATE)
    room = m.lock_meeting_room(c.uow, c.ctx, id, gateway_of(c), locked=body.locked)
    return write_response(dump(MeetingRoomOut, _out(room)), 200)


@router.get(
    "/meeting-rooms/{id}/participants",
    response_model=ParticipantsOut,
    summary="List who is in a meeting room",
    tags=["meetings"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND, unprocessable("BIL-6"), UNAVAILABLE),
    **described(READ, "MTG-1: the people in the room now (the host's view)."),
)
def list_participants(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    get_visible(c.uow.meeting_rooms, c.ctx, id)
    c.require(READ)
    found = m.meeting_participants(c.uow, c.ctx, id, gateway_of(c))
    out = ParticipantsOut(items=[ParticipantOut.model_validate(p, from_attributes=True) for p in found])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/meeting-rooms/{id}/participants/{participant_id}/mute",
    status_code=204,
    response_class=Response,
    summary="Mute or unmute a participant",
    tags=["meetings"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("BIL-6"), UNAVAILABLE),
    **described(UPDATE, "MTG-1: the others stop (or start again) hearing this participant."),
)
def mute_participant(
    id: ID, participant_id: ParticipantId, body: MuteBody, c: Call = Depends(call)
) -> Response:
    get_visible(c.uow.meeting_rooms, c.ctx, id)
    c.require(UPDATE)
    m.mute_participant(c.uow, c.ctx, id, participant_id, gateway_of(c), muted=body.muted)
    return write_response(None, 204)


@router.delete(
    "/meeting-rooms/{id}/participants/{participant_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a participant",
    tags=["meetings"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("BIL-6"), UNAVAILABLE),
    **described(UPDATE, "MTG-1: the host removes someone from the room."),
)
def remove_participant(id: ID, participant_id: ParticipantId, c: Call = Depends(call)) -> Response:
    get_visible(c.uow.meeting_rooms, c.ctx, id)
    c.require(UPDATE)
    m.remove_participant(c.uow, c.ctx, id, participant_id, gateway_of(c))
    return write_response(None, 204)


@router.get(
    "/meeting-gateway",
    response_model=GatewayOut,
    summary="The Janus gateways' health",
    tags=["meetings"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(
        GATEWAY,
        "MTG-1: the operator's view: whether each Janus instance answers, its version, its open rooms.",
    ),
)
def meeting_gateway(request: Request, c: Call = Depends(call)) -> Response:
    c.require(GATEWAY)
    config = c.runtime.platform.settings.janus
    gateways = c.runtime.platform.meeting_gateways
    found = gateway_overview(c.uow, gateways) if gateways is not None else []
    first = found[0] if found else None
    out = GatewayOut(
        configured=gateways is not None,
        url=first.health.url if first else None,
        reachable=bool(first and first.health.reachable),
        version=first.health.version if first else None,
        plugins=list(first.health.plugins) if first else [],
        error=first.health.error if first else None,
        stun_urls=list(config.stun_urls),
        turn_urls=list(config.turn_urls),
        instances=[
            GatewayInstanceOut(
                name=item.instance.name,
                url=item.health.url,
                public_url=item.instance.browser_url,
                reachable=item.health.reachable,
                version=item.health.version,
                error=item.health.error,
                weight=item.instance.weight,
                capacity=item.instance.capacity,
                open_rooms=item.open_rooms,
            )
            for item in found
        ],
    )
    return read_response(request, out.model_dump_json().encode())
