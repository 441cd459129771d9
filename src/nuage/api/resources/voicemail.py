"""Voicemail (issue #16): ``/voicemail-boxes`` and ``/voicemail-messages``, tenant-scoped (TEN-4).

A box is a user's own (its number: the user's extension) or shared by a group (``members``); its
settings are its language (EN/FR/NL: prompts and e-mails), where messages are e-mailed, whether
the audio is attached, how long messages are kept, the longest message. ``PUT /voicemail-boxes/
{id}/pin`` sets the PIN (hashed, never shown); ``PUT /voicemail-boxes/{id}/greetings/{greeting}``
uploads a greeting (the audio as the body: WAV, FLAC or OGG), stored as FLAC. Messages are listed,
downloaded (``GET /voicemail-messages/{id}/audio``, a FLAC), marked heard and deleted; a change
lights or darkens the phones of the box (message waiting) when the SIP plane runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import soundfile
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StringConstraints

from nuage.api.caching import cached_file_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, NOT_FOUND, NOT_MODIFIED, Resource, dump, register, responses
from nuage.api.deps import Call, call, runtime
from nuage.api.schemas import Id, Input, Name, Output
from nuage.directory.voicemail import MAX_GREETING_BYTES, BoxSettings, Greeting, VoicemailBox
from nuage.errors import InvalidInput, NotFound
from nuage.services import voicemail as vm

Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,10}$")]
Number = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,16}$")]
Language = Annotated[str, StringConstraints(pattern=r"^(en|fr|nl)$")]
Email = Annotated[str, StringConstraints(max_length=320)]
GREETING_TYPES = ("audio/wav", "audio/x-wav", "audio/flac", "audio/ogg")


class BoxCreate(Input):
    """A user's box (``user_id``: number, name, language and e-mail default to the user's), or a
    shared box (``name``, ``number``, ``members``)."""

    account_id: Id | None = None
    user_id: Id | None = None
    name: Name | None = None
    number: Number | None = None
    language: Language | None = None
    email: Email | None = None
    members: list[Id] = Field(default_factory=list, max_length=200)


class BoxUpdate(Input):
    """Change a box's settings (what is left out is unchanged; ``email: null`` stops e-mails)."""

    name: Name | None = None
    language: Language | None = None
    email: Email | None = None
    attach_audio: bool | None = None
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    max_message_s: int | None = Field(default=None, ge=10, le=600)
    members: list[Id] | None = Field(default=None, max_length=200)


class PinChange(Input):
    """The PIN that opens the box from a phone (*97): 4 to 10 digits, not a run or one digit repeated."""

    pin: Pin


class BoxOut(Output):
    """A voicemail box (its PIN is never shown: ``has_pin``)."""

    id: str
    account_id: str
    name: str
    number: str
    user_id: str | None
    members: list[str]
    has_pin: bool
    language: str
    email: str | None
    attach_audio: bool
    retention_days: int
    max_message_s: int
    greetings: list[str]
    created_at: datetime


class MessageOut(Output):
    """A message left in a box: who called, when, how long; ``new`` until heard."""

    id: str
    box_id: str
    account_id: str
    caller: str
    caller_name: str
    received_at: datetime
    duration_ms: int
    size_bytes: int
    folder: str
    heard_at: datetime | None
    emailed_at: datetime | None


def _create(c: Call, body: BoxCreate) -> Any:
    return vm.create_box(
        c.uow,
        c.ctx,
        body.account_id or c.claims.account_id,
        user_id=body.user_id,
        name=body.name,
        number=body.number,
        language=body.language,
        email=body.email,
        members=tuple(body.members),
    )


def _update(c: Call, key: str, body: BoxUpdate) -> Any:
    given = body.model_fields_set
    settings = BoxSettings(
        name=body.name,
        language=body.language,
        email=body.email,
        clear_email="email" in given and body.email is None,
        attach_audio=body.attach_audio,
        retention_days=body.retention_days,
        max_message_s=body.max_message_s,
        members=tuple(body.members) if body.members is not None else None,
    )
    return vm.update_box(c.uow, c.ctx, key, settings)


BOXES = Resource(
    path="/voicemail-boxes",
    area="directory",
    name="voicemail-boxes",
    tag="voicemail",
    noun="voicemail box",
    out=BoxOut,
    repo=lambda uow: uow.voicemail_boxes,
    filters={"account_id": Id, "user_id": Id},
    order_fields=("number", "created_at"),
    create_body=BoxCreate,
    create=_create,
    update_body=BoxUpdate,
    update=_update,
)

MESSAGES = Resource(
    path="/voicemail-messages",
    area="directory",
    name="voicemail-messages",
    tag="voicemail",
    noun="voicemail message",
    out=MessageOut,
    repo=lambda uow: uow.voicemail_messages,
    filters={"account_id": Id, "box_id": Id, "folder": str},
    order_fields=("received_at",),
)

router = APIRouter()
register(router, BOXES)
register(router, MESSAGES)


def _data_dir(request: Request) -> Path:
    return runtime(request).platform.settings.data_dir


def _changed(request: Request, box: VoicemailBox) -> None:
    """Tell the SIP plane of this process (message waiting) that ``box``'s messages changed."""
    sip = runtime(request).platform.sip
    plane = getattr(sip, "voicemail", None)
    if plane is not None:
        plane.store.changed(box)


@router.put(
    "/voicemail-boxes/{box_id}/pin",
    status_code=204,
    summary="Set a voicemail box's PIN",
    tags=["voicemail"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    openapi_extra={"x-permission": "directory.voicemail-boxes.update"},
    description="The PIN is stored hashed (argon2) and never shown.\n\n"
    "Permission: `directory.voicemail-boxes.update`.",
)
async def set_box_pin(box_id: Id, body: PinChange, c: Call = Depends(call)) -> Response:
    def run() -> None:
        c.require("directory.voicemail-boxes.update")
        vm.set_pin(c.uow, c.ctx, box_id, body.pin)
        c.uow.commit()

    await run_in_threadpool(run)
    return Response(status_code=204)


def _as_flac(content: bytes) -> bytes:
    """An uploaded greeting as a mono FLAC (InvalidInput when it is not audio). Blocking."""
    try:
        data, rate = soundfile.read(io.BytesIO(content), dtype="int16", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise InvalidInput("body", f"The greeting is not audio that can be read: {exc}") from None
    if not len(data) or len(data) / rate > 300:
        raise InvalidInput("body", "A greeting lasts up to 5 minutes")
    out = io.BytesIO()
    soundfile.write(out, data[:, 0], rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


@router.put(
    "/voicemail-boxes/{box_id}/greetings/{greeting}",
    response_model=BoxOut,
    summary="Upload a voicemail greeting",
    tags=["voicemail"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    openapi_extra={
        "x-permission": "directory.voicemail-boxes.update",
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in GREETING_TYPES},
        },
    },
    description="The greeting callers hear (``unavailable``, ``busy``) or the box's name, as the body "
    "(WAV, FLAC or OGG, at most 5 MB and 5 minutes); stored as FLAC.\n\n"
    "Permission: `directory.voicemail-boxes.update`.",
)
async def upload_greeting(
    box_id: Id, greeting: Greeting, request: Request, c: Call = Depends(call)
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in GREETING_TYPES:
        raise InvalidInput("content_type", f"Upload the greeting as {', '.join(GREETING_TYPES)}")
    content = await request.body()
    if len(content) > MAX_GREETING_BYTES:
        raise InvalidInput("body", f"A greeting has at most {MAX_GREETING_BYTES} bytes")
    flac = await asyncio.to_thread(_as_flac, content)

    def store() -> bytes:
        c.require("directory.voicemail-boxes.update")
        box = vm.get_box(c.uow, c.ctx, box_id)
        path = vm.greeting_file(_data_dir(request), box, greeting)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(flac)
        data = dump(BoxOut, vm.greeting_set(c.uow, c.ctx, box_id, greeting, True))
        c.uow.commit()
        return data

    return write_response(await run_in_threadpool(store), 200)


@router.get(
    "/voicemail-messages/{message_id}/audio",
    response_class=Response,
    summary="Download a voicemail message",
    tags=["voicemail"],
    responses={
        200: {"content": {"audio/flac": {}}, "description": "The message, a mono FLAC"},
        **responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    },
    openapi_extra={"x-permission": "directory.voicemail-messages.read"},
    description="The caller's message as recorded.\n\nPermission: `directory.voicemail-messages.read`.",
)
async def download_message(message_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def find() -> Path:
        c.require("directory.voicemail-messages.read")
        message = vm.get_message(c.uow, c.ctx, message_id)  # TEN-4: 404 when not visible
        return vm.message_file(_data_dir(request), vm.get_box(c.uow, c.ctx, message.box_id), message.id)

    path = await run_in_threadpool(find)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("voicemail message", message_id) from None
    return cached_file_response(request, content, "audio/flac", f"{message_id}.flac")


@router.post(
    "/voicemail-messages/{message_id}/heard",
    response_model=MessageOut,
    summary="Mark a voicemail message heard",
    tags=["voicemail"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    openapi_extra={"x-permission": "directory.voicemail-messages.update"},
    description="The message moves to the ``old`` folder.\n\n"
    "Permission: `directory.voicemail-messages.update`.",
)
async def mark_heard(message_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def run() -> tuple[bytes, VoicemailBox]:
        c.require("directory.voicemail-messages.update")
        message = vm.mark_heard(c.uow, c.ctx, message_id)
        box = vm.get_box(c.uow, c.ctx, message.box_id)
        data = dump(MessageOut, message)
        c.uow.commit()
        return data, box

    data, box = await run_in_threadpool(run)
    _changed(request, box)
    return write_response(data, 200)


@router.delete(
    "/voicemail-messages/{message_id}",
    status_code=204,
    summary="Delete a voicemail message",
    tags=["voicemail"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    openapi_extra={"x-permission": "directory.voicemail-messages.delete"},
    description="The message and its file are deleted.\n\nPermission: `directory.voicemail-messages.delete`.",
)
async def delete_message(message_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def run() -> tuple[Path, VoicemailBox]:
        c.require("directory.voicemail-messages.delete")
        message = vm.delete_message(c.uow, c.ctx, message_id)
        box = vm.get_box(c.uow, c.ctx, message.box_id)
        c.uow.commit()
        return vm.message_file(_data_dir(request), box, message.id), box

    path, box = await run_in_threadpool(run)
    with contextlib.suppress(FileNotFoundError):
        await asyncio.to_thread(path.unlink)
    _changed(request, box)
    return Response(status_code=204)
