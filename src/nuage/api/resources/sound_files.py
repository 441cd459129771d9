"""Sound files (CFG-12): ``/sound-files``; upload the audio as the request body. Music on hold
(issue #15): ``/customers/{id}/hold-music`` names the sound file the account's held parties hear.

``POST /sound-files?account_id=…&name=…&copyright_acknowledged=true`` with ``Content-Type:
audio/wav`` (or mpeg, ogg, opus, flac, basic): without the copyright acknowledgment the upload is
refused with 422 ``term-violation`` citing CFG-12; bytes that are not audio with 422
``unreadable-audio``; audio over 10 minutes with 422 ``invalid-input``; a body over 20 MiB with 413.
The audio is converted once (``nuage.media.sounds``: mono, 8 kHz, loudness-normalised) and kept in
the account's data folder; ``GET /sound-files/{id}/audio`` downloads what callers hear and
``DELETE`` removes the record and its file.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from nuage.api.caching import cached_file_response, read_response, write_response
from nuage.api.crud import (
    CONFLICT,
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
from nuage.api.deps import Call, call, runtime
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Name, Output
from nuage.directory.rules import SOUND_TYPES
from nuage.errors import InvalidInput, NotFound
from nuage.media.sounds import convert
from nuage.services.directory import sound_files as sounds

AUDIO_TYPES = tuple(sorted(SOUND_TYPES))


class SoundFileOut(Output):
    """A sound file's metadata (music on hold, prompts); the uploader acknowledged copyright (CFG-12)."""

    id: str
    account_id: str
    name: str
    content_type: str
    size_bytes: int
    sha256: str
    duration_ms: int | None  # the converted audio's length (None: uploaded before audio was kept)
    uploaded_by_user_id: str | None
    copyright_acknowledged_at: datetime
    created_at: datetime


class HoldMusicChange(Input):
    """Issue #15: the account's sound file its held parties hear (null: the platform's default)."""

    sound_file_id: Id | None = None


class HoldMusicOut(Output):
    """The account's music on hold: one of its sound files, or none (the default melody)."""

    account_id: str
    sound_file_id: str | None


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
    rules="CFG-12.",
)

router = APIRouter()
register(router, SOUND_FILES)


def _data_dir(request: Request) -> Path:
    return runtime(request).platform.settings.data_dir


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
    description="CFG-12: the audio is the request body (WAV, MP3, Ogg Vorbis or Opus, FLAC, µ-law); "
    "`copyright_acknowledged=true` is required (else 422 term-violation, rule CFG-12). At most 20 MiB "
    "(else 413) and 10 minutes; bytes that are not audio: 422 `unreadable-audio`. Converted once to "
    "8 kHz mono at a common loudness.\n\nPermission: `directory.sound-files.create`.",
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
    data_dir = _data_dir(request)

    def upload() -> bytes:
        c.require("directory.sound-files.create")
        sound, path = sounds.upload_sound_file(
            c.uow,
            c.ctx,
            data_dir,
            account_id or c.claims.account_id,
            name,
            content_type,
            content,
            convert,
            uploaded_by_user_id=c.claims.subject if c.claims.kind == "user" else None,
            copyright_acknowledged=copyright_acknowledged,
        )
        data = dump(SoundFileOut, sound)
        try:
            c.uow.commit()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return data

    return write_response(await run_in_threadpool(upload), 201)


@router.get(
    "/sound-files/{sound_id}/audio",
    response_class=Response,
    summary="Download a sound file as callers hear it",
    tags=["directory"],
    responses={
        200: {"content": {"audio/wav": {}}, "description": "The converted audio: 8 kHz mono 16-bit WAV"},
        **responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    },
    openapi_extra={"x-permission": "directory.sound-files.read"},
    description="CFG-12: the audio as converted at upload.\n\nPermission: `directory.sound-files.read`.",
)
async def download_sound_file(sound_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def find() -> Path:
        c.require("directory.sound-files.read")
        sound = SOUND_FILES.fetch(c, sound_id)  # TEN-4: 404 when not visible
        return sounds.sound_path(_data_dir(request), sound.account_id, sound.id)

    path = await run_in_threadpool(find)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("sound file audio", sound_id) from None
    return cached_file_response(request, content, "audio/wav", f"{sound_id}.wav")


@router.delete(
    "/sound-files/{sound_id}",
    status_code=204,
    summary="Remove a sound file",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    openapi_extra={"x-permission": "directory.sound-files.delete"},
    description="CFG-12: the record and its audio go; an account whose music on hold it was hears "
    "the default again.\n\nPermission: `directory.sound-files.delete`.",
)
async def delete_sound_file(sound_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def delete() -> Path:
        SOUND_FILES.fetch(c, sound_id)
        c.require("directory.sound-files.delete")
        path = sounds.remove_sound_file(c.uow, c.ctx, _data_dir(request), sound_id)
        c.uow.commit()
        return path

    path = await run_in_threadpool(delete)
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)
    return Response(status_code=204)


@router.get(
    "/customers/{id}/hold-music",
    response_model=HoldMusicOut,
    summary="Read the music on hold",
    tags=["directory"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described("directory.hold-music.read", "Issue #15: none is the platform's default melody."),
)
def get_hold_music(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    setting = sounds.get_hold_music(c.uow, c.ctx, id)
    c.require("directory.hold-music.read")
    return read_response(request, dump(HoldMusicOut, setting))


@router.put(
    "/customers/{id}/hold-music",
    response_model=HoldMusicOut,
    summary="Choose the music on hold",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        "directory.hold-music.update",
        "Issue #15: one of the account's sound files (CFG-12), played in a loop to held parties; "
        "null: the default again.",
    ),
)
def set_hold_music(id: ID, body: HoldMusicChange, c: Call = Depends(call)) -> Response:
    sounds.get_hold_music(c.uow, c.ctx, id)
    c.require("directory.hold-music.update")
    setting = sounds.set_hold_music(c.uow, c.ctx, id, body.sound_file_id)
    data = dump(HoldMusicOut, setting)
    c.uow.commit()
    return write_response(data)
