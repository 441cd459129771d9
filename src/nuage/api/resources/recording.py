"""Call recording (CFG-9): ``/customers/{id}/recording``, one setting per account."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response

from nuage.api.caching import read_response, write_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, dump, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Output
from nuage.services.directory import media


class RecordingChange(Input):
    """CFG-9: an administrator switches recording on and acknowledges the legal duties.

    ``administrator_id`` defaults to the calling user; API clients name the administrator.
    """

    enabled: bool
    acknowledged: bool = False
    administrator_id: Id | None = None


class RecordingOut(Output):
    """The account's recording setting and the volume stored (billed only with recordings held)."""

    account_id: str
    enabled: bool
    acknowledged_by_user_id: str | None
    acknowledged_at: datetime | None
    stored_bytes: int
    recordings: int


router = APIRouter()


@router.get(
    "/customers/{id}/recording",
    response_model=RecordingOut,
    summary="Read the call-recording setting",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described("directory.recording.read", "CFG-9."),
)
def get_recording(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    setting = media.get_recording(c.uow, c.ctx, id)
    c.require("directory.recording.read")
    return read_response(request, dump(RecordingOut, setting))


@router.put(
    "/customers/{id}/recording",
    response_model=RecordingOut,
    summary="Switch call recording on or off",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("CFG-9")),
    **described(
        "directory.recording.update",
        "CFG-9: only an administrator of the account, acknowledging the legal duties, switches it on "
        "(else 422 term-violation, rule CFG-9).",
    ),
)
def set_recording(id: ID, body: RecordingChange, c: Call = Depends(call)) -> Response:
    media.get_recording(c.uow, c.ctx, id)
    c.require("directory.recording.update")
    administrator = body.administrator_id
    if administrator is None and c.claims.kind == "user":
        administrator = c.claims.subject
    setting = media.set_recording(
        c.uow, c.ctx, id, enabled=body.enabled, administrator_id=administrator, acknowledged=body.acknowledged
    )
    data = dump(RecordingOut, setting)
    c.uow.commit()
    return write_response(data)
