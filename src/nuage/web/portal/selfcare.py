"""Portal page of a user's own devices (self-care, CFG-1's "user" role): ``/my/devices``.

A user sees the devices linked to it and nothing else; a device's SIP password is never shown
again (SIP-5): the user draws a new one, shown once on the answer (with a QR code for a softphone
to scan), and the phone must then register with it. The same use case as the API's
``PATCH /devices/{id}`` (``sip_password``), allowed by the user's ``SELF_CARE`` permissions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.directory.model import Device
from nuage.directory.rules import generate_sip_password
from nuage.errors import NotFound
from nuage.services.directory.devices import DeviceChanges, update_device
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


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, **more: Any) -> Response:
        viewer.require("directory.devices.read", self_id=viewer.user.id)
        mine = uow.devices.list(
            account_id=viewer.party.id, user_id=viewer.user.id, order_by=("label", "id"), limit=MAX_ROWS
        )
        return portal.render(
            request, "my_devices.html", session=viewer.session, viewer=viewer, items=mine, **more
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
            realm = portal.runtime.platform.settings.sip.realm
            qr = qr_svg(
                f"sip:{updated.sip_username}:{password}@{realm}",
                title=i18n.gettext(viewer.language)("The new device's SIP credentials"),
            )
            return page(request, viewer, uow, reset=updated, password=password, qr=qr)

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
