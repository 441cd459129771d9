"""The browser softphone page (CFG-1, CFG-3): ``/softphone`` for a logged-in user with telephony, its
client (``/softphone/client.js``, ``static/softphone.js``) and ``POST /softphone/registration``, which
hands the page what Janus's SIP plugin needs to register the user's browser device to Nuage, with
the emergency numbers and the location the user last declared; ``POST /softphone/location`` holds
where the browser stands (EMG-3), which the page asks before or when the user dials an emergency
number and it is not known.

Both are JSON POSTs (a cross-site form cannot send one) with the session's CSRF token in
``X-CSRF-Token``, bounded at the edge and never cached: the registration answer carries the
device's SIP password. The page's CSP adds
its script (this origin) and its requests to the gateway to the portal's policy.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.errors import error_body, http_status_for
from nuage.errors import InvalidInput, NuageError, UpstreamUnavailable
from nuage.services.directory.browser_phone import MAX_LOCATION, browser_softphone, set_browser_location
from nuage.services.emergency import list_emergency_numbers
from nuage.web.headers import origin_sources, with_sources
from nuage.web.portal.base import Portal, Viewer
from nuage.web.portal.sessions import csrf_ok

MAX_BODY = 1024
CLIENT = Path(__file__).parent.parent / "static" / "softphone.js"
_NO_STORE = {"Cache-Control": "no-store"}


def router(portal: Portal) -> APIRouter:
    """The softphone page, its client and its registration."""
    routes = APIRouter()
    config = portal.runtime.platform.settings.janus

    @routes.get("/softphone/client.js", include_in_schema=False)
    def client() -> Response:
        return Response(
            CLIENT.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @routes.get("/softphone", include_in_schema=False)
    def page(request: Request) -> Response:
        def work(viewer: Viewer, _: ApiUnitOfWork) -> Response:
            answer = portal.render(request, "softphone.html", session=viewer.session, viewer=viewer)
            policy = answer.headers["content-security-policy"]  # script-src 'self' already
            policy = with_sources(policy, "connect-src", f"'self'{origin_sources(config.browser_url)}")
            answer.headers["content-security-policy"] = with_sources(
                policy, "media-src", "'self' blob: mediastream:"
            )
            return answer

        return portal.serve(request, work)

    @routes.post("/softphone/registration", include_in_schema=False)
    async def registration(request: Request) -> Response:
        json_body = _json_request(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if not json_body or not csrf_ok(viewer.session, _csrf(request)):
                return _forbidden()
            try:
                if config.browser_url is None or config.sip_proxy is None:
                    raise UpstreamUnavailable(
                        "janus", "Browser calls are not configured: set [janus] url and sip_proxy"
                    )
                device = browser_softphone(uow, viewer.ctx, viewer.user.id)
                emergency = [found.number for found in list_emergency_numbers(uow, viewer.ctx)]
            except NuageError as error:
                return JSONResponse(
                    error_body(error.error_id, str(error), error.details),
                    status_code=http_status_for(error),
                    headers=_NO_STORE,
                )
            uow.commit()
            domain = config.sip_domain or config.sip_proxy.split(":", 1)[1].split(";")[0]  # host[:port]
            return JSONResponse(
                {
                    "janus_url": config.browser_url,
                    "ice_servers": config.ice_servers(),
                    "emergency_numbers": emergency,
                    "location": device.site,
                    "sip": {
                        "uri": f"sip:{device.sip_username}@{domain}",
                        "secret": device.sip_password,
                        "proxy": config.sip_proxy,
                        "domain": domain,
                        "display": viewer.user.name,
                    },
                },
                headers=_NO_STORE,
            )

        return await run_in_threadpool(portal.serve, request, work)

    @routes.post("/softphone/location", include_in_schema=False)
    async def location(request: Request) -> Response:
        json_body = _json_request(request)
        raw = await request.body() if json_body else b""

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if not json_body or not csrf_ok(viewer.session, _csrf(request)):
                return _forbidden()
            try:
                if len(raw) > MAX_BODY:
                    raise InvalidInput("body", f"At most {MAX_BODY} bytes")
                try:
                    body = LocationBody.model_validate_json(raw)
                except ValidationError:
                    raise InvalidInput(
                        "location", f"location must have 3 to {MAX_LOCATION} characters", rule_id="EMG-3"
                    ) from None
                device = set_browser_location(uow, viewer.ctx, viewer.user.id, body.location)
            except NuageError as error:
                return JSONResponse(
                    error_body(error.error_id, str(error), error.details),
                    status_code=http_status_for(error),
                    headers=_NO_STORE,
                )
            uow.commit()
            return JSONResponse({"location": device.site}, headers=_NO_STORE)

        return await run_in_threadpool(portal.serve, request, work)

    return routes


class LocationBody(BaseModel):
    """EMG-3: where the browser stands, as the user says (an address)."""

    model_config = ConfigDict(extra="forbid")

    location: str = Field(max_length=MAX_LOCATION)


def _json_request(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def _csrf(request: Request) -> str:
    return request.headers.get("x-csrf-token", "")[:200]


def _forbidden() -> JSONResponse:
    return JSONResponse(
        error_body("forbidden", "Send the request as JSON with the page's CSRF token"),
        status_code=403,
        headers=_NO_STORE,
    )
