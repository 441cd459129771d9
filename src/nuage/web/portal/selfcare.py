"""Portal pages of a user's own devices (self-care, CFG-1's "user" role): ``/my/devices``, and
the recordings of its own calls (CFG-9), played on its calls page.

A user sees the devices linked to it and nothing else; a device's SIP password is never shown
again (SIP-5): the user draws a new one, shown once on the page the form leads to (with a QR
code for a softphone to scan), and the phone must then register with it. The same use case as the API's
``PATCH /devices/{id}`` (``sip_password``), allowed by the user's ``SELF_CARE`` permissions.
A recording (``/my/recordings/{id}/audio``) is the user's when its call is among the user's
latest ``MY_CALLS`` calls, the ones its calls page lists; anyone else's is the 404 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.directory.model import CallRecording, Device
from nuage.directory.rules import generate_sip_password
from nuage.errors import NotFound
from nuage.services.call_record_ports import CallRecord, CallRecordFilter
from nuage.services.call_records import list_call_records
from nuage.services.directory.devices import DeviceChanges, update_device
from nuage.services.directory.media import recording_file
from nuage.web.portal import i18n
from nuage.web.portal.base import Portal, Viewer, read_form
from nuage.web.portal.charts import qr_svg
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS


def own_device(uow: ApiUnitOfWork, viewer: Viewer, device_id: str) -> Device:
    """One of the viewer's own devices; anyone else's is NotFound (TEN-4: not even its existence)."""
    device = uow.devices.find(device_id[:ID_LENGTH])
    if device is None or device.user_id != viewer.user.id:
        raise NotFound("device", device_id[:ID_LENGTH])
    return device


#: the calls a user's calls page lists, and whose recordings it plays
MY_CALLS = 100


def my_calls(uow: ApiUnitOfWork, viewer: Viewer) -> list[CallRecord]:
    """The viewer's latest calls (as the API's ``GET /call-records?user_id=`` of its own id)."""
    viewer.require("billing.call-records.read", self_id=viewer.user.id)
    return list_call_records(uow, viewer.ctx, CallRecordFilter(user_id=viewer.user.id), limit=MY_CALLS).items


def my_recordings(uow: ApiUnitOfWork, viewer: Viewer, calls: list[CallRecord]) -> dict[str, CallRecording]:
    """CFG-9: the recordings of these calls of the viewer's, by call id."""
    wanted = {record.call_id for record in calls}
    if not wanted:
        return {}
    found = uow.call_recordings.list(account_id=viewer.party.id, order_by=("created_at",), limit=MAX_ROWS * 4)
    return {r.call_id: r for r in found if r.call_id in wanted}


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, **more: Any) -> Response:
        viewer.require("directory.devices.read", self_id=viewer.user.id)
        mine = uow.devices.list(
            account_id=viewer.party.id, user_id=viewer.user.id, order_by=("label", "id"), limit=MAX_ROWS
        )
        reset = portal.once(viewer.session)  # SIP-5: a new password, on the page after the form only
        qr = None
        if reset.get("sip_username") and reset.get("sip_password"):
            realm = portal.runtime.platform.settings.sip.realm
            qr = qr_svg(
                f"sip:{reset['sip_username']}:{reset['sip_password']}@{realm}",
                title=i18n.gettext(viewer.language)("The new device's SIP credentials"),
            )
        return portal.render(
            request,
            "my_devices.html",
            session=viewer.session,
            viewer=viewer,
            items=mine,
            reset=reset or None,
            password=reset.get("sip_password"),
            qr=qr,
            **more,
        )

    @routes.get("/my/devices", include_in_schema=False)
    def devices(request: Request) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow))

    @routes.post("/my/devices/{device_id}/password", include_in_schema=False)
    async def new_password(request: Request, device_id: str) -> Response:
        """SIP-5: a new SIP password, drawn here and shown this once."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            device = own_device(uow, viewer, device_id)
            if device.sip_username is None:  # no SIP account (a pager, a buzzer): nothing to reset
                raise NotFound("device", device.id)
            viewer.require("directory.devices.update", self_id=device.user_id)
            password = generate_sip_password()
            updated = update_device(uow, viewer.ctx, device.id, DeviceChanges(sip_password=password))
            uow.commit()
            portal.keep_once(viewer.session, sip_username=updated.sip_username or "", sip_password=password)
            return portal.redirect(request, "/my/devices")  # POST/redirect/GET: shown there, this once

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.get("/my/recordings/{recording_id}/audio", include_in_schema=False)
    async def recording(request: Request, recording_id: str) -> Response:
        """CFG-9: a recording of one of the viewer's calls (a stereo FLAC), for its calls page."""

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            mine = my_recordings(uow, viewer, my_calls(uow, viewer))
            found = next((r for r in mine.values() if r.id == recording_id[:ID_LENGTH]), None)
            if found is None:
                raise NotFound("call recording", recording_id[:ID_LENGTH])
            path = recording_file(portal.runtime.platform.settings.data_dir, found.account_id, found.id)
            try:
                content = path.read_bytes()  # on a worker thread, not the event loop
            except FileNotFoundError:
                raise NotFound("call recording", found.id) from None
            headers = {"Cache-Control": "private, no-store"}
            return Response(content, media_type="audio/flac", headers=headers)

        return await run_in_threadpool(portal.serve, request, work)

    return routes
