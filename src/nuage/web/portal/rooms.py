"""Portal page of a customer's shared places: communal rooms (CFG-4) and hot desks (CFG-13).

``/accounts/{account_id}/rooms``: the rooms (add, remove), the users' hot-desk PINs (set, clear:
the PIN is hashed and never shown again) and who is logged in on which shared phone (log out).
The forms are validated by the API's input models (``RoomCreate``, ``HotDeskPin``) and carried
out by the same use cases; a supervisor sees the page without its forms, and a form it forges is
refused (403) like the API's call would be.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.rooms import RoomCreate
from nuage.api.resources.users import HotDeskPin
from nuage.directory.model import RoomUse
from nuage.errors import NuageError
from nuage.services import hot_desk as h
from nuage.services.directory.rooms import add_room, remove_room
from nuage.services.queries import get_visible, page_visible
from nuage.web.portal.base import Portal, Viewer, form_text, read_form, refusal
from nuage.web.portal.directory import ID_LENGTH, MAX_ROWS, customer_of

USES = tuple(use.value for use in RoomUse)


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    def page(request: Request, viewer: Viewer, uow: ApiUnitOfWork, account_id: str, **more: Any) -> Response:
        customer = customer_of(uow, viewer, account_id)
        viewer.require("directory.rooms.read")
        where = {"account_id": customer.id}
        rooms = page_visible(uow.rooms, viewer.ctx, order_by=("name", "id"), limit=MAX_ROWS, where=where)
        users = page_visible(uow.users, viewer.ctx, order_by=("name", "id"), limit=MAX_ROWS, where=where)
        devices = {d.id: d.label for d in uow.devices.list(account_id=customer.id, limit=MAX_ROWS)}
        sessions = h.list_hot_desk_sessions(uow, viewer.ctx, account_id=customer.id)
        return portal.render(
            request,
            "rooms.html",
            session=viewer.session,
            viewer=viewer,
            status=422 if "refused" in more else 200,
            customer=customer,
            rooms=rooms.items,
            users=[u for u in users.items if not u.no_service],
            people={u.id: u.name for u in users.items},
            devices=devices,
            sessions=sessions,
            uses=USES,
            values=more.pop("values", {"use": RoomUse.NON_USERS.value}),
            **more,
        )

    @routes.get("/accounts/{account_id}/rooms", include_in_schema=False)
    def rooms(request: Request, account_id: str) -> Response:
        return portal.serve(request, lambda viewer, uow: page(request, viewer, uow, account_id))

    @routes.post("/accounts/{account_id}/rooms", include_in_schema=False)
    async def create(request: Request, account_id: str) -> Response:
        """CFG-4: a room used by non-users counts one user per phone; by users, none."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            viewer.require("directory.rooms.create")
            values = {"name": form_text(form, "name", 200), "use": form_text(form, "use", 20)}
            try:
                body = RoomCreate.model_validate({k: v for k, v in values.items() if v is not None})
                add_room(uow, viewer.ctx, customer.id, body.name, body.use)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, customer.id, values=values, refused=refusal(error))
            uow.commit()
            portal.flash(viewer.session, "room-created")
            return portal.redirect(request, f"/accounts/{customer.id}/rooms")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/rooms/{room_id}/remove", include_in_schema=False)
    async def remove(request: Request, account_id: str, room_id: str) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            room = get_visible(uow.rooms, viewer.ctx, room_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.rooms.delete")
            try:
                remove_room(uow, viewer.ctx, room.id)
            except NuageError as error:
                return page(request, viewer, uow, customer.id, refused=refusal(error))
            uow.commit()
            portal.flash(viewer.session, "room-removed")
            return portal.redirect(request, f"/accounts/{customer.id}/rooms")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/users/{user_id}/hot-desk-pin", include_in_schema=False)
    async def pin(request: Request, account_id: str, user_id: str) -> Response:
        """CFG-13: set a user's PIN (``pin`` given) or clear it (``clear``); CFG-2 refuses one for
        a no-service user."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            user = get_visible(uow.users, viewer.ctx, user_id[:ID_LENGTH], account_id=customer.id)
            viewer.require("directory.users.update")
            try:
                if form.get("clear"):
                    h.clear_hot_desk_pin(uow, viewer.ctx, user.id)
                else:
                    body = HotDeskPin.model_validate({"pin": form.get("pin", "")[:9]})
                    h.set_hot_desk_pin(uow, viewer.ctx, user.id, body.pin)
            except (ValidationError, NuageError) as error:
                return page(request, viewer, uow, customer.id, refused=refusal(error))
            uow.commit()
            portal.flash(viewer.session, "pin-cleared" if form.get("clear") else "pin-set")
            return portal.redirect(request, f"/accounts/{customer.id}/rooms")

        return await run_in_threadpool(portal.serve, request, work, form)

    @routes.post("/accounts/{account_id}/hot-desks/{device_id}/logout", include_in_schema=False)
    async def logout(request: Request, account_id: str, device_id: str) -> Response:
        """CFG-13: end the session on a shared phone (the API's ``DELETE /hot-desk-sessions/{id}``)."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            customer = customer_of(uow, viewer, account_id)
            get_visible(uow.devices, viewer.ctx, device_id[:ID_LENGTH], account_id=customer.id)
            found = h.get_hot_desk_session(uow, viewer.ctx, device_id[:ID_LENGTH])
            viewer.require("directory.hot-desk-sessions.delete")
            h.log_out(uow, viewer.ctx, found.device_id)
            uow.commit()
            portal.flash(viewer.session, "hot-desk-ended")
            return portal.redirect(request, f"/accounts/{customer.id}/rooms")

        return await run_in_threadpool(portal.serve, request, work, form)

    return routes
