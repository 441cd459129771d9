"""The browser softphone page (CFG-1, CFG-3): ``/softphone`` for a logged-in user with telephony, its
client (``/softphone/client.js``, ``static/softphone.js``) and ``POST /softphone/registration``, which
hands the page what Janus's SIP plugin needs to register the user's browser device to Nuage.

The registration answer carries the device's SIP password, so it is a JSON POST (a cross-site form
cannot send it) with the session's CSRF token in ``X-CSRF-Token``, never cached. The page's CSP adds
its script (this origin) and its requests to the gateway to the portal's policy.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from nuage.api.deps import ApiUnitOfWork
from nuage.api.errors import error_body, http_status_for
from nuage.errors import NuageError, UpstreamUnavailable
from nuage.services.directory.browser_phone import browser_softphone
from nuage.web.headers import with_sources
from nuage.web.portal.base import Portal, Viewer
from nuage.web.portal.sessions import csrf_ok

CLIENT = Path(__file__).parent.parent / "static" / "softphone.js"
_NO_STORE = {"Cache-Control": "no-store"}


def _gateway_origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f" {parts.scheme}://{parts.netloc}"


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
            policy = with_sources(policy, "connect-src", f"'self'{_gateway_origin(config.browser_url)}")
            answer.headers["content-security-policy"] = with_sources(
                policy, "media-src", "'self' blob: mediastream:"
            )
            return answer

        return portal.serve(request, work)

    @routes.post("/softphone/registration", include_in_schema=False)
    async def registration(request: Request) -> Response:
        csrf = request.headers.get("x-csrf-token", "")[:200]
        json_body = request.headers.get("content-type", "").split(";")[0].strip() == "application/json"

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            if not json_body or not csrf_ok(viewer.session, csrf):
                return JSONResponse(
                    error_body("forbidden", "Send the registration as JSON with the page's CSRF token"),
                    status_code=403,
                    headers=_NO_STORE,
                )
            try:
                if config.browser_url is None or config.sip_proxy is None:
                    raise UpstreamUnavailable(
                        "janus", "Browser calls are not configured: set [janus] url and sip_proxy"
                    )
                device = browser_softphone(uow, viewer.ctx, viewer.user.id)
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

    return routes
