"""Portal page of a customer's media: call recording (CFG-9), sound files (CFG-12), faxes (CFG-7).

``/accounts/{account_id}/media``. Recording is switched on by an administrator of the account who
ticks the legal acknowledgment (else CFG-9 refuses it, in words, with the rule), and who chooses
whose calls are recorded (all, ticked users, ticked numbers; made, received or both) and for how
many days recordings are kept; a sound file is
uploaded only with the copyright acknowledgment (CFG-12); a virtual fax comes with the warning
that fax is best effort (CFG-7). The same use cases as the API's ``/customers/{id}/recording``,
``/sound-files`` and ``/virtual-faxes``.

The upload is a ``multipart/form-data`` body read as it streams in and refused past
``MAX_UPLOAD`` (the largest sound file and room for the form's other fields).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.faxes import FaxCreate
from nuage.directory.recording import RecordingDirection, RecordingScope
from nuage.directory.rules import MAX_SOUND_BYTES
from nuage.errors import InvalidInput, NuageError
from nuage.media.sounds import convert
from nuage.services.directory import media
from nuage.services.directory import sound_files as sounds
from nuage.services.directory.recording_choice import RecordingChoice
from nuage.services.fax import fax_usage
from nuage.services.queries import get_visible, page_visible
from nuage.web.portal.base import Form, Portal, Viewer, form_text, read_form, refusal
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS, customer_of

MAX_UPLOAD = MAX_SOUND_BYTES + 64 * 1024


async def read_upload(request: Request) -> tuple[Form, tuple[str, bytes] | None] | None:
    """A posted multipart form: its text fields and its file (content type, bytes), or None when
    the body is larger than ``MAX_UPLOAD`` or is not a multipart form."""
    kind = request.headers.get("content-type", "")
    if not kind.lower().startswith("multipart/form-data") or len(kind) > 200:
        return None
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            return None
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + bytes(body))
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return None
    fields: Form = {}
    upload: tuple[str, bytes] | None = None
    for part in list(message.iter_parts())[:20]:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is not None:
            if payload:
                upload = (part.get_content_type(), payload)
        else:
            fields[name] = payload.decode("utf-8", "replace")[:1000]
    return fields, upload


def recording_choice(form: Form) -> RecordingChoice:
    """CFG-9: the recording form's choice: scope and direction (a value not offered is refused),
    the ticked ``user-<id>`` and ``number-<id>`` boxes, the retention in days (empty: none)."""
    try:
        scope, direction = (
            RecordingScope(form.get("scope", "all")),
            RecordingDirection(form.get("direction", "both")),
        )
    except ValueError:
        raise InvalidInput("scope", "Choose whose calls are recorded among those offered") from None
    days = form_text(form, "retention_days", 8)
    if days is not None and not days.isdigit():
        raise InvalidInput("retention_days", "A retention period is a whole number of days")
    ticked = [name for name, value in form.items() if value == "on"]
    return RecordingChoice(
        scope=scope,
        direction=direction,
        user_ids=tuple(name.removeprefix("user-") for name in ticked if name.startswith("user-")),
        number_ids=tuple(name.removeprefix("number-") for name in ticked if name.startswith("number-")),
        retention_days=int(days) if days is not None else None,
    )


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, account_id: str, **more: Any) -> Response:
        customer = customer_of(uow, viewer, account_id)
        viewer.require("directory.recording.read")
        where = {"account_id": customer.id}
        recording = media.get_recording(uow, viewer.ctx, customer.id)
        sounds = page_visible(
            uow.sound_files, viewer.ctx, order_by=("name", "id"), limit=MAX_ROWS, where=where
        )
        faxes = page_visible(uow.faxes, viewer.ctx, order_by=("email", "id"), limit=MAX_ROWS, where=where)
        numbers = uow.numbers.list(account_id=customer.id, order_by=("e164",), limit=MAX_ROWS)
        users = uow.users.list(account_id=customer.id, order_by=("name", "id"), limit=MAX_ROWS)
        usage = fax_usage(uow, viewer.ctx, customer.id)  # CFG-7: heavy fax users are warned
        return portal.render(
            request,
            "media.html",
            session=viewer.session,
            viewer=viewer,
            status=more.pop("status", 422 if "refused" in more else 200),
            customer=customer,
            recording=recording,
            sounds=sounds.items,
            faxes=faxes.items,
            fax_usage=usage,
            numbers=numbers,
            users=users,
            e164={n.id: n.e164 for n in numbers},
            values=more.pop("values", {}),
            **more,
        )

    def back(request: Request, viewer: Viewer, account_id: str, flash: str) -> Response:
        portal.flash(viewer.session, flash)
        return portal.redirect(request, f"/accounts/{account_id}/media")

    @routes.get("/accounts/{account_id}/media", include_in_schema=False)
    def show(request: Request, account_id: str) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow, account_id))

    @routes.post("/accounts/{account_id}/recording", include_in_schema=False)
    async def recording(request: Request, account_id: str) -> Response:
        """CFG-9: on only by an administrator of the account, with the legal acknowledgment."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.recording.update")
            enabled = form.get("enabled") == "on"
            try:
                media.set_recording(
                    uow,
                    viewer.ctx,
                    customer.id,
                    enabled=enabled,
                    administrator_id=viewer.user.id if viewer.user.account_id == customer.id else None,
                    acknowledged=form.get("acknowledged") == "on",
                    choice=recording_choice(form),
                )
            except NuageError as error:
                return page(request, viewer, uow, customer.id, refused=refusal(error))
            uow.commit()
            return back(request, viewer, customer.id, "recording-on" if enabled else "recording-off")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/sound-files", include_in_schema=False)
    async def upload(request: Request, account_id: str) -> Response:
        """CFG-12: a sound file, accepted only with the copyright acknowledgment."""
        read = await read_upload(request)
        form, sent = read if read is not None else ({}, None)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.sound-files.create")
            if read is None:
                return page(request, viewer, uow, customer.id, problem="too-large", status=413)
            name = form_text(form, "name", 200) or ""
            content_type, content = sent if sent is not None else ("", b"")
            try:
                _, path = sounds.upload_sound_file(
                    uow,
                    viewer.ctx,
                    portal.runtime.platform.settings.data_dir,
                    customer.id,
                    name,
                    content_type,
                    content,
                    convert,
                    uploaded_by_user_id=viewer.user.id,
                    copyright_acknowledged=form.get("copyright") == "on",
                )
            except NuageError as error:
                return page(request, viewer, uow, customer.id, refused=refusal(error), values={"name": name})
            try:
                uow.commit()
            except BaseException:
                path.unlink(missing_ok=True)  # the record is not kept: neither is its audio
                raise
            return back(request, viewer, customer.id, "sound-uploaded")

        # the CSRF token travels in the multipart form: checked by ``serve`` like any form's; a body
        # too large to read has none, and gets the page saying so (it changes nothing)
        return await run_in_threadpool(portal.serve, request, work, form if read is not None else None)

    @routes.post("/accounts/{account_id}/sound-files/{sound_id}/remove", include_in_schema=False)
    async def remove_sound(request: Request, account_id: str, sound_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            sound = get_visible(uow.sound_files, viewer.ctx, sound_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.sound-files.delete")
            path = sounds.remove_sound_file(
                uow, viewer.ctx, portal.runtime.platform.settings.data_dir, sound.id
            )
            uow.commit()
            path.unlink(missing_ok=True)
            return back(request, viewer, customer.id, "sound-removed")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/faxes", include_in_schema=False)
    async def add_fax(request: Request, account_id: str) -> Response:
        """CFG-7: faxes to the number arrive by e-mail; best effort."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.virtual-faxes.create")
            values = {
                "number_id": form_text(form, "number_id", ID_LENGTH),
                "email": form_text(form, "email", 320),
            }
            try:
                body = FaxCreate.model_validate({k: v for k, v in values.items() if v is not None})
                media.add_virtual_fax(uow, viewer.ctx, customer.id, body.number_id, body.email)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, customer.id, refused=refusal(error), values=values)
            uow.commit()
            return back(request, viewer, customer.id, "fax-added")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/faxes/{fax_id}/remove", include_in_schema=False)
    async def remove_fax(request: Request, account_id: str, fax_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            fax = get_visible(uow.faxes, viewer.ctx, fax_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.virtual-faxes.delete")
            media.remove_virtual_fax(uow, viewer.ctx, fax.id)
            uow.commit()
            return back(request, viewer, customer.id, "fax-removed")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
