"""Call recordings (CFG-9): ``/call-recordings``, listed, downloaded and deleted, tenant-scoped (TEN-4).

A recording is made by the SIP plane when the account's recording setting is on (both directions of
an answered call, a stereo FLAC); its bytes count in the account's recording volume, billed only
while at least one recording is held. ``GET /call-recordings/{id}/audio`` downloads the FLAC;
``DELETE`` removes it and its bytes leave the volume.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from nuage.api.caching import cached_file_response
from nuage.api.crud import FORBIDDEN, NOT_FOUND, NOT_MODIFIED, Resource, register, responses
from nuage.api.deps import Call, call, runtime
from nuage.api.schemas import Id, Output
from nuage.errors import NotFound
from nuage.services.directory.media import recording_file, remove_call_recording


class CallRecordingOut(Output):
    """A recorded call (CFG-9): both directions in a stereo FLAC, counted in the recording volume."""

    id: str
    account_id: str
    call_id: str
    size_bytes: int
    duration_ms: int
    created_at: datetime


CALL_RECORDINGS = Resource(
    path="/call-recordings",
    area="directory",
    name="call-recordings",
    tag="directory",
    noun="call recording",
    out=CallRecordingOut,
    repo=lambda uow: uow.call_recordings,
    filters={"account_id": Id},
    order_fields=("created_at",),
    rules="CFG-9.",
)

router = APIRouter()
register(router, CALL_RECORDINGS)


def _data_dir(request: Request) -> Path:
    return runtime(request).platform.settings.data_dir


@router.get(
    "/call-recordings/{recording_id}/audio",
    response_class=Response,
    summary="Download a call recording",
    tags=["directory"],
    responses={
        200: {"content": {"audio/flac": {}}, "description": "The recording, a stereo FLAC"},
        **responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    },
    openapi_extra={"x-permission": "directory.call-recordings.read"},
    description="CFG-9: both directions of the call (caller left, callee right).\n\n"
    "Permission: `directory.call-recordings.read`.",
)
async def download_call_recording(recording_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def find() -> Path:
        c.require("directory.call-recordings.read")
        recording = CALL_RECORDINGS.fetch(c, recording_id)  # TEN-4: 404 when not visible
        return recording_file(_data_dir(request), recording.account_id, recording.id)

    path = await run_in_threadpool(find)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("call recording", recording_id) from None
    return cached_file_response(request, content, "audio/flac", f"{recording_id}.flac")


@router.delete(
    "/call-recordings/{recording_id}",
    status_code=204,
    summary="Delete a call recording",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    openapi_extra={"x-permission": "directory.call-recordings.delete"},
    description="CFG-9: the file is removed and its bytes leave the recording volume billed.\n\n"
    "Permission: `directory.call-recordings.delete`.",
)
async def delete_call_recording(recording_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def delete() -> Path:
        c.require("directory.call-recordings.delete")
        recording = remove_call_recording(c.uow, c.ctx, recording_id)
        c.uow.commit()
        return recording_file(_data_dir(request), recording.account_id, recording.id)

    path = await run_in_threadpool(delete)
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)
    return Response(status_code=204)
