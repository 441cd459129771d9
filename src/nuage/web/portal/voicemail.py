"""Portal page of a user's own voicemail (self-care): ``/my/voicemail``.

The boxes shown are the viewer's own box and the shared boxes it is a member of, nothing else:
another user's box or message is the 404 page (TEN-4), whatever the viewer's role. A message is
listened to in the page (``<audio>``, its FLAC served here with the session's scope), marked
heard and deleted; the box's PIN is changed and its greetings uploaded (WAV, FLAC or OGG, stored
as FLAC). The same use cases as the API's ``/voicemail-boxes`` and ``/voicemail-messages``; a
change of the messages lights or darkens the box's phones when the SIP plane runs here.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.voicemail import PinChange
from nuage.api.resources.voicemail import _as_flac as as_flac
from nuage.directory.voicemail import MAX_GREETING_BYTES, Greeting, VoicemailBox, VoicemailMessage
from nuage.errors import InvalidInput, NotFound, NuageError
from nuage.services import voicemail as vm
from nuage.web.portal.base import Portal, Viewer, read_form, refusal
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS
from nuage.web.portal.media import read_upload

GREETINGS = tuple(g.value for g in Greeting)


def mine(viewer: Viewer, box: VoicemailBox) -> bool:
    """Whether ``box`` is the viewer's own, or a shared box it is a member of."""
    return box.user_id == viewer.user.id or viewer.user.id in box.members


def own_box(uow: ApiUnitOfWork, viewer: Viewer, box_id: str) -> VoicemailBox:
    """One of the viewer's boxes; anyone else's is NotFound (TEN-4)."""
    box = vm.get_box(uow, viewer.ctx, box_id[:ID_LENGTH])
    if not mine(viewer, box):
        raise NotFound("voicemail box", box.id)
    return box


def own_message(uow: ApiUnitOfWork, viewer: Viewer, message_id: str) -> tuple[VoicemailMessage, VoicemailBox]:
    """A message of one of the viewer's boxes, and its box; anyone else's is NotFound (TEN-4)."""
    message = vm.get_message(uow, viewer.ctx, message_id[:ID_LENGTH])
    try:
        return message, own_box(uow, viewer, message.box_id)
    except NotFound:
        raise NotFound("voicemail message", message.id) from None


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()
    platform = portal.runtime.platform

    def changed(boxes: list[VoicemailBox]) -> None:
        plane = getattr(platform.sip, "voicemail", None)
        if plane is None:
            return
        for box in boxes:
            plane.store.changed(box)

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, **more: Any) -> Response:
        viewer.require("directory.voicemail-boxes.read", self_id=viewer.user.id)
        boxes = [
            box
            for box in uow.voicemail_boxes.list(account_id=viewer.party.id, order_by=("number", "id"))
            if mine(viewer, box)
        ]
        messages = {box.id: vm.list_messages(uow, viewer.ctx, box.id)[:MAX_ROWS] for box in boxes}
        return portal.render(
            request,
            "my_voicemail.html",
            session=viewer.session,
            viewer=viewer,
            status=more.pop("status", 422 if "refused" in more else 200),
            boxes=boxes,
            messages=messages,
            greetings=GREETINGS,
            **more,
        )

    def back(request: Request, viewer: Viewer, flash: str) -> Response:
        portal.flash(viewer.session, flash)
        return portal.redirect(request, "/my/voicemail")

    @routes.get("/my/voicemail", include_in_schema=False)
    def show(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow))

    @routes.get("/my/voicemail/messages/{message_id}/audio", include_in_schema=False)
    async def audio(request: Request, message_id: str) -> Response:
        """The message as recorded (a mono FLAC), for the page's player: the owner's only."""

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            message, box = own_message(uow, viewer, message_id)
            viewer.require("directory.voicemail-messages.read", self_id=viewer.user.id)
            path = vm.message_file(platform.settings.data_dir, box, message.id)
            try:
                content = path.read_bytes()  # on a worker thread, not the event loop
            except FileNotFoundError:
                raise NotFound("voicemail message", message.id) from None
            headers = {"Cache-Control": "private, no-store", "Accept-Ranges": "none"}
            return Response(content, media_type="audio/flac", headers=headers)

        return await run_in_threadpool(portal.serve, request, work)

    @routes.post("/my/voicemail/messages/{message_id}/heard", include_in_schema=False)
    async def heard(request: Request, message_id: str) -> Response:
        form = await read_form(request)
        touched: list[VoicemailBox] = []

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            message, box = own_message(uow, viewer, message_id)
            viewer.require("directory.voicemail-messages.update", self_id=viewer.user.id)
            vm.mark_heard(uow, viewer.ctx, message.id)
            uow.commit()
            touched.append(box)
            return back(request, viewer, "voicemail-heard")

        answer = await run_in_threadpool(portal.serve, request, work, form)
        changed(touched)
        return answer

    @routes.post("/my/voicemail/messages/{message_id}/delete", include_in_schema=False)
    async def delete(request: Request, message_id: str) -> Response:
        form = await read_form(request)
        touched: list[VoicemailBox] = []

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            message, box = own_message(uow, viewer, message_id)
            viewer.require("directory.voicemail-messages.delete", self_id=viewer.user.id)
            vm.delete_message(uow, viewer.ctx, message.id)
            uow.commit()
            path: Path = vm.message_file(platform.settings.data_dir, box, message.id)
            with contextlib.suppress(FileNotFoundError):  # once the change is committed
                path.unlink()
            touched.append(box)
            return back(request, viewer, "voicemail-deleted")

        answer = await run_in_threadpool(portal.serve, request, work, form)
        changed(touched)
        return answer

    @routes.post("/my/voicemail/boxes/{box_id}/pin", include_in_schema=False)
    async def pin(request: Request, box_id: str) -> Response:
        """The PIN that opens the box from a phone (hashed, never shown)."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            box = own_box(uow, viewer, box_id)
            viewer.require("directory.voicemail-boxes.update", self_id=viewer.user.id)
            try:
                body = PinChange(pin=form.get("pin", "").strip()[:11])
                vm.set_pin(uow, viewer.ctx, box.id, body.pin)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, refused=refusal(error), refused_box=box.id)
            uow.commit()
            return back(request, viewer, "voicemail-pin-set")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/my/voicemail/boxes/{box_id}/greetings", include_in_schema=False)
    async def greeting(request: Request, box_id: str) -> Response:
        """A greeting callers hear (unavailable, busy) or the box's name, stored as FLAC."""
        read = await read_upload(request)
        form, sent = read if read is not None else ({}, None)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            box = own_box(uow, viewer, box_id)
            viewer.require("directory.voicemail-boxes.update", self_id=viewer.user.id)
            if read is None:
                return page(request, viewer, uow, problem="too-large", status=413)
            try:
                which = form.get("greeting", "")
                if which not in GREETINGS:
                    raise InvalidInput("greeting", f"A greeting is one of {', '.join(GREETINGS)}")
                content = sent[1] if sent is not None else b""
                if not content or len(content) > MAX_GREETING_BYTES:
                    raise InvalidInput("body", f"Upload the greeting: at most {MAX_GREETING_BYTES} bytes")
                flac = as_flac(content)
            except NuageError as error:
                return page(request, viewer, uow, refused=refusal(error), refused_box=box.id)
            path = vm.greeting_file(platform.settings.data_dir, box, Greeting(which))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(flac)
            vm.greeting_set(uow, viewer.ctx, box.id, Greeting(which), True)
            uow.commit()
            return back(request, viewer, "voicemail-greeting")

        return await run_in_threadpool(portal.serve, request, work, form if read is not None else None)

    return routes
