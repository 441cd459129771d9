"""Sound files (CFG-12): ``/sound-files``; upload the audio as the request body.

``POST /sound-files?account_id=…&name=…&copyright_acknowledged=true`` with ``Content-Type:
audio/wav`` (or mpeg, ogg, basic): without the copyright acknowledgment the upload is refused with
422 ``term-violation`` citing CFG-12.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from nuage.api.caching import write_response
from nuage.api.crud import (
    CONFLICT,
    FORBIDDEN,
    NOT_FOUND,
    Resource,
    dump,
    register,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Name, Output
from nuage.errors import InvalidInput
from nuage.services.directory.media import add_sound_file, remove_sound_file

AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/mpeg", "audio/ogg", "audio/basic")


class SoundFileOut(Output):
    """A sound file's metadata (music on hold, prompts); the uploader acknowledged copyright (CFG-12)."""

    id: str
    account_id: str
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_user_id: str | None
    copyright_acknowledged_at: datetime
    created_at: datetime


SOUND_FILES = Resource(
    path="/sound-files",
    area="directory",
    name="sound-files",
    tag="directory",
    noun="sound file",
    out=SoundFileOut,
    repo=lambda uow: uow.sound_files,
    filters={"account_id": Id},
    order_fields=("created_at", "name"),
    delete=lambda c, key: remove_sound_file(c.uow, c.ctx, key),
    rules="CFG-12.",
)

router = APIRouter()
register(router, SOUND_FILES)


@router.post(
    "/sound-files",
    status_code=201,
    response_model=SoundFileOut,
    summary="Upload a sound file",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("CFG-12"), CONFLICT),
    openapi_extra={
        "x-permission": "directory.sound-files.create",
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_TYPES},
        },
    },
    description="CFG-12: the audio is the request body; `copyright_acknowledged=true` is required "
    "(else 422 term-violation, rule CFG-12). At most 20 MiB.\n\nPermission: `directory.sound-files.create`.",
)
async def upload_sound_file(
    request: Request,
    name: Annotated[Name, Query(description="A name for people")],
    copyright_acknowledged: Annotated[
        bool, Query(description="CFG-12: the uploader takes responsibility for the copyright")
    ] = False,
    account_id: Annotated[Id | None, Query(description="The account (default: the caller's)")] = None,
    c: Call = Depends(call),
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in AUDIO_TYPES:
        raise InvalidInput("content_type", f"Upload the audio as {', '.join(AUDIO_TYPES)}")
    content = await request.body()  # at most MAX_SOUND_BYTES: the edge refused more (413)

    def upload() -> bytes:
        c.require("directory.sound-files.create")
        sound = add_sound_file(
            c.uow,
            c.ctx,
            account_id or c.claims.account_id,
            name,
            content_type,
            content,
            uploaded_by_user_id=c.claims.subject if c.claims.kind == "user" else None,
            copyright_acknowledged=copyright_acknowledged,
        )
        data = dump(SoundFileOut, sound)
        c.uow.commit()
        return data

    return write_response(await run_in_threadpool(upload), 201)
