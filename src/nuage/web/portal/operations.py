"""Portal pages of the operator's SIP operations: bans (SIP-5) and live registrations (SIP-1).

``/sip/bans`` lists the source addresses the SIP edge drops unanswered and lifts one, exactly as
the API's ``/sip/bans`` does (this process's SIP node when it runs here, else the bans' store);
``/sip/registrations`` shows the phones registered on this process's SIP node, followed live
(``/sip/registrations/events``, server-sent events: a new phone appears without a reload; without
script the page reloads itself every few seconds). Anyone but the operator's staff gets the 404
page (TEN-4: nothing reveals them).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.errors import NotFound
from nuage.web.portal.base import Portal, Viewer, read_form
from nuage.web.portal.live import Frame, fragment, stream

#: seconds between two reloads of the live registrations
REFRESH_S = 5
#: the most registrations one page shows
MAX_SHOWN = 2000
#: seconds between two looks at the registrations for a live page
LIVE_TICK_S = 1.0


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()
    platform = portal.runtime.platform

    def operator(viewer: Viewer, permission: str) -> None:
        if not viewer.ctx.scope.is_operator:
            raise NotFound("page", "sip")
        viewer.require(permission)

    async def active_bans() -> list[Any]:
        if platform.sip is not None:
            return list(platform.sip.server.bans())
        async with platform.ban_store() as store:
            return list(await store.active(platform.clock.now()))

    async def lift(address: str) -> bool:
        if platform.sip is not None:
            return await platform.sip.lift_ban(address)
        async with platform.ban_store() as store:
            return await store.lift(address, platform.clock.now())

    def bans_page(request: Request, viewer: Viewer, **more: Any) -> Response:
        try:
            bans = anyio.from_thread.run(active_bans)
        except Exception:  # the store cannot be reached: say so, as the API's 503 does
            return portal.render(
                request,
                "bans.html",
                session=viewer.session,
                viewer=viewer,
                status=503,
                bans=[],
                unavailable=True,
            )
        return portal.render(request, "bans.html", session=viewer.session, viewer=viewer, bans=bans, **more)

    @routes.get("/sip/bans", include_in_schema=False)
    async def bans(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator(viewer, "operations.sip.read")
            return bans_page(request, viewer)

        return await run_in_threadpool(portal.serve, request, work)

    @routes.post("/sip/bans/lift", include_in_schema=False)
    async def lift_ban(request: Request) -> Response:
        """SIP-5: the address is served again and its failed authentications are forgotten."""
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator(viewer, "operations.sip.update")
            try:
                address = str(ipaddress.ip_address(form.get("address", "")[:45]))
            except ValueError:
                return bans_page(request, viewer, problem="address")
            if not anyio.from_thread.run(lift, address):
                return bans_page(request, viewer, problem="not-banned")
            portal.flash(viewer.session, "ban-lifted")
            return portal.redirect(request, "/sip/bans")

        return await run_in_threadpool(portal.serve, request, work, form)

    def registered(viewer: Viewer, uow: ApiUnitOfWork) -> dict[str, Any]:
        operator(viewer, "operations.sip.read")
        runtime = platform.sip
        bindings = [] if runtime is None else runtime.server.registrations()[:MAX_SHOWN]
        devices = {d.id: d for d in (uow.devices.find(i) for i in {b.device_id for b in bindings}) if d}
        accounts = (uow.parties.find(i) for i in {d.account_id for d in devices.values()})
        return {
            "running": runtime is not None,
            "bindings": sorted(bindings, key=lambda b: (b.username, b.contact)),
            "devices": devices,
            "names": {party.id: party.name for party in accounts if party is not None},
        }

    @routes.get("/sip/registrations", include_in_schema=False)
    def registrations(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            values = registered(viewer, uow)
            return portal.render(
                request,
                "registrations.html",
                session=viewer.session,
                viewer=viewer,
                refresh=REFRESH_S,
                **values,
            )

        return portal.serve(request, work)

    @routes.get("/sip/registrations/events", include_in_schema=False)
    async def registration_events(request: Request) -> Response:
        """SIP-1: the registrations' rows, sent again whenever they change."""

        def tick(viewer: Viewer, uow: ApiUnitOfWork) -> Frame:
            return Frame(fragment(viewer, "registrations_rows.html", **registered(viewer, uow)))

        return await stream(portal, request, tick, LIVE_TICK_S)

    return routes
