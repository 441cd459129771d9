"""Call recording (CFG-9): ``/customers/{id}/recording``, one setting per account: switched on by an
administrator, who chooses whose calls are recorded (every call, selected users or selected numbers;
calls made, received or both) and how many days a recording is kept. A field left out of ``PUT``
keeps its value."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, dump, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Output
from nuage.directory.recording import (
    MAX_RETENTION_DAYS,
    MAX_SELECTED,
    MIN_RETENTION_DAYS,
    RecordingDirection,
    RecordingScope,
)
from nuage.services.directory import media
from nuage.services.directory.recording_choice import RecordingChoice

RetentionDays = Annotated[int, Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)]


class RecordingChange(Input):
    """CFG-9: an administrator switches recording on and acknowledges the legal duties.

    ``administrator_id`` defaults to the calling user; API clients name the administrator. ``scope``
    says whose calls are recorded (``all``, the ``users`` in ``user_ids``, the ``numbers`` in
    ``number_ids``), ``direction`` which of their calls (``inbound``, ``outbound``, ``both``);
    ``retention_days`` (1 to 3650; null: kept until deleted) how long a recording is held.
    """

    enabled: bool
    acknowledged: bool = False
    administrator_id: Id | None = None
    scope: RecordingScope | None = None
    direction: RecordingDirection | None = None
    user_ids: list[Id] | None = Field(default=None, max_length=MAX_SELECTED)
    number_ids: list[Id] | None = Field(default=None, max_length=MAX_SELECTED)
    retention_days: RetentionDays | None = None

    def choice(self) -> RecordingChoice:
        """The fields given (a field left out keeps its value; ``retention_days: null`` clears it)."""
        given = self.model_fields_set
        values: dict[str, object] = {
            name: getattr(self, name)
            for name in ("scope", "direction")
            if name in given and getattr(self, name) is not None
        }
        for name in ("user_ids", "number_ids"):
            if name in given:
                values[name] = tuple(getattr(self, name) or ())
        if "retention_days" in given:
            values["retention_days"] = self.retention_days
        return RecordingChoice(**values)  # type: ignore[arg-type]


class RecordingOut(Output):
    """The account's recording setting and the volume stored (billed only with recordings held)."""

    account_id: str
    enabled: bool
    acknowledged_by_user_id: str | None
    acknowledged_at: datetime | None
    stored_bytes: int
    recordings: int
    scope: RecordingScope
    direction: RecordingDirection
    user_ids: list[str]
    number_ids: list[str]
    retention_days: int | None


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
        "(else 422 term-violation, rule CFG-9); the same call chooses whose calls are recorded and the "
        "retention period (a field left out keeps its value).",
    ),
)
def set_recording(id: ID, body: RecordingChange, c: Call = Depends(call)) -> Response:
    media.get_recording(c.uow, c.ctx, id)
    c.require("directory.recording.update")
    administrator = body.administrator_id
    if administrator is None and c.claims.kind == "user":
        administrator = c.claims.subject
    setting = media.set_recording(
        c.uow,
        c.ctx,
        id,
        enabled=body.enabled,
        administrator_id=administrator,
        acknowledged=body.acknowledged,
        choice=body.choice(),
    )
    data = dump(RecordingOut, setting)
    c.uow.commit()
    return write_response(data)
