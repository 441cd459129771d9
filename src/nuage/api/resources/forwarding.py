"""Call forwarding and do-not-disturb of a user (issue #15): ``/users/{id}/forwarding``.

A forward's destination is what the user's phone would dial: an extension (of a user or a ring
group), a SIP username, or a number inside or outside the platform. EMG-2: never an emergency
number. Users read and set their own (``directory.users.{id}.read`` / ``.update``); phones set the
same settings with feature codes (``nuage.sip.b2bua.forwarding``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, dump, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.resources.users import USERS
from nuage.api.schemas import Dialled, Input, Output
from nuage.directory.routing import MAX_NO_ANSWER_S, MIN_NO_ANSWER_S
from nuage.services.directory.forwarding import ForwardingChanges, get_forwarding, set_forwarding

router = APIRouter()


class ForwardingUpdate(Input):
    """Set some of a user's forwards (``null`` turns one off); fields left out stay as they are."""

    unconditional: Dialled | None = None
    busy: Dialled | None = None
    no_answer: Dialled | None = None
    no_answer_s: int | None = Field(default=None, ge=MIN_NO_ANSWER_S, le=MAX_NO_ANSWER_S)
    unregistered: Dialled | None = None
    dnd: bool | None = None


class ForwardingOut(Output):
    """A user's forwarding: every call (``unconditional``), when busy or in do-not-disturb (``busy``),
    after ``no_answer_s`` seconds of ringing (``no_answer``), when no phone is registered
    (``unregistered``); ``dnd``: calls get 486 Busy Here, or go to the busy forward."""

    user_id: str
    account_id: str
    unconditional: str | None
    busy: str | None
    no_answer: str | None
    no_answer_s: int
    unregistered: str | None
    dnd: bool
    updated_at: datetime


@router.get(
    "/users/{id}/forwarding",
    response_model=ForwardingOut,
    summary="Read a user's call forwarding",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        "directory.users.read",
        "The user's forwards and do-not-disturb (all off when never set). Users read their own.",
    ),
)
def read_forwarding(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.read", self_id=id)
    return read_response(request, dump(ForwardingOut, get_forwarding(c.uow, c.ctx, id)))


@router.patch(
    "/users/{id}/forwarding",
    response_model=ForwardingOut,
    summary="Set a user's call forwarding",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("EMG-2", "CFG-2")),
    **described(
        "directory.users.update",
        "Set forwards (`null`: off) and do-not-disturb. A destination is an extension, a SIP username "
        "or a number; an emergency number is refused (422 citing EMG-2), so is the user's own "
        "extension; a no-service user has no calls to forward (CFG-2). Users set their own.",
    ),
)
def update_forwarding(id: ID, body: ForwardingUpdate, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.update", self_id=id)
    given = body.model_dump(exclude_unset=True)
    if given.get("no_answer_s", 0) is None:
        del given["no_answer_s"]
    if given.get("dnd", False) is None:
        del given["dnd"]
    forwarding = set_forwarding(c.uow, c.ctx, id, ForwardingChanges(**given))
    c.uow.commit()
    return write_response(dump(ForwardingOut, forwarding), 200)
