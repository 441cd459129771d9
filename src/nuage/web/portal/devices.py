"""Portal pages of a customer's devices: the list, the form that adds one (CFG-3..5, CFG-13, SIP-5)
and the button that removes one (its numbers are unassigned, its hot-desk sessions end).

The form is validated by the API's ``DeviceCreate`` and carried out by the same use case; the form
answers with a redirect to the list (POST/redirect/GET: reloading adds nothing), which shows the new
device's SIP credentials this once (SIP-5), kept on the server for that page only, never again,
with a QR code of them (a ``sip:`` URI with the password, for a softphone to scan).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.devices import DeviceCreate
from nuage.directory.model import Device, DeviceKind, LinePurpose
from nuage.errors import NuageError
from nuage.services.directory.devices import add_device, remove_device
from nuage.services.queries import get_visible, page_visible
from nuage.tenancy.model import Party
from nuage.web.portal import i18n
from nuage.web.portal.base import Form, Portal, Viewer, form_text, read_form, refusal
from nuage.web.portal.charts import qr_svg
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS, customer_of

KINDS = tuple(kind.value for kind in DeviceKind)
PURPOSES = tuple(purpose.value for purpose in LinePurpose)


def _fields(form: Form) -> dict[str, Any]:
    return {
        "label": form_text(form, "label", 200),
        "kind": form_text(form, "kind", 40),
        "user_id": form_text(form, "user_id", 40),
        "purpose": form_text(form, "purpose", 20) or LinePurpose.TELEPHONY.value,
        "room_id": form_text(form, "room_id", 40),
        "hot_desk": form.get("hot_desk") == "on",
        "site": form_text(form, "site", 200),
    }


def _show_once(portal: Portal, viewer: Viewer, device: Device) -> None:
    """SIP-5: the new device's credentials, for the next page only (a device without a SIP
    account, a pager: only that it was added)."""
    if device.sip_username and device.sip_password:
        portal.keep_once(viewer.session, sip_username=device.sip_username, sip_password=device.sip_password)
    else:
        portal.flash(viewer.session, "device-added")


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(
        request: Request,
        viewer: Viewer,
        uow: ApiUnitOfWork,
        customer: Party,
        *,
        values: dict[str, Any] | None = None,
        **more: Any,
    ) -> Response:
        where = {"account_id": customer.id}
        qr = None
        created = portal.once(viewer.session) if "refused" not in more else {}
        if created.get("sip_username") and created.get("sip_password"):
            realm = portal.runtime.platform.settings.sip.realm
            uri = f"sip:{created['sip_username']}:{created['sip_password']}@{realm}"
            qr = qr_svg(uri, title=i18n.gettext(viewer.language)("The new device's SIP credentials"))
        devices = page_visible(uow.devices, viewer.ctx, order_by=("label", "id"), limit=MAX_ROWS, where=where)
        people = uow.users.list(account_id=customer.id, order_by=("name",), limit=MAX_ROWS)
        return portal.render(
            request,
            "devices.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if "refused" in more else 200,
            customer=customer,
            items=devices.items,
            people={u.id: u.name for u in people},
            users=people,
            rooms=uow.rooms.list(account_id=customer.id, order_by=("name",), limit=MAX_ROWS),
            kinds=KINDS,
            purposes=PURPOSES,
            values=values or {"kind": DeviceKind.DESK_PHONE.value, "purpose": LinePurpose.TELEPHONY.value},
            created=created or None,
            qr=qr,
            **more,
        )

    @routes.get("/accounts/{account_id}/devices", include_in_schema=False)
    def devices(request: Request, account_id: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.devices.read")
            return page(request, viewer, uow, customer)

        return portal.serve(request, work)

    @routes.post("/accounts/{account_id}/devices", include_in_schema=False)
    async def create(request: Request, account_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.devices.create")
            values = _fields(form)
            try:
                body = DeviceCreate.model_validate({k: v for k, v in values.items() if v is not None})
                fields = body.model_dump(exclude={"account_id", "kind", "label"})
                device = add_device(uow, viewer.ctx, customer.id, body.kind, body.label, **fields)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, customer, values=values, refused=refusal(error))
            uow.commit()
            _show_once(portal, viewer, device)
            return portal.redirect(request, f"/accounts/{customer.id}/devices")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/devices/{device_id}/remove", include_in_schema=False)
    async def remove(request: Request, account_id: str, device_id: str) -> Response:
        """The API's ``DELETE /devices/{id}``: an administrator removes a device of the account."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            device = get_visible(uow.devices, viewer.ctx, device_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.devices.delete")
            remove_device(uow, viewer.ctx, device.id)
            uow.commit()
            portal.flash(viewer.session, "device-removed")
            return portal.redirect(request, f"/accounts/{customer.id}/devices")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
