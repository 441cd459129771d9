"""The ASGI application: health, the API under ``/api/v1`` and the portal's pages on the same app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from nuage import __version__
from nuage.api.app import ApiDispatch, create_api
from nuage.api.errors import install_edge as install_api_edge
from nuage.api.limits import ConcurrencyLimiter
from nuage.bootstrap import Platform
from nuage.web import demo_shop, meeting, widget
from nuage.web.headers import SecurityHeaders
from nuage.web.portal import install as install_portal
from nuage.web.provisioning import install as install_provisioning


class WebApp(FastAPI):
    """The web application; ``/api/v1/...`` requests go straight to the API's gate, before this
    application's own middleware (error pages, telemetry, body limits) and routing: the API's
    inner application has its own, and the hot read path stays short."""

    entry: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.entry is None:
            await super().__call__(scope, receive, send)
        else:
            await self.entry(scope, receive, send)

    async def _framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(platform: Platform, *, limiter: ConcurrencyLimiter | None = None) -> FastAPI:
    """Build the web application over a wired platform (``limiter``: see ``create_api``)."""
    api_app = create_api(platform, limiter=limiter)
    runtime = api_app.state.api

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await runtime.close()  # Redis clients of the API-2 limiter and API-3 counters

    app = WebApp(
        title="Nuage", version=__version__, docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.platform = platform
    api = api_app.state.entry
    app.mount("/api/v1", api)  # API-1..4
    # the same, without the outer stack on the hot path; security headers on every answer
    app.entry = SecurityHeaders(ApiDispatch(app._framework, api=api))
    install_api_edge(app)  # unmatched /api/ paths answer in the API's error shape

    @app.get("/health")
    def health() -> JSONResponse:
        checks: dict[str, Any] = {"version": __version__}
        try:
            platform.ping()
            checks["database"] = "ok"
            checks["schema_current"] = platform.schema_is_current()
        except Exception as exc:  # the health page reports the failing upstream instead of failing
            checks["database"] = f"unavailable: {type(exc).__name__}"
            return JSONResponse({"status": "degraded", **checks}, status_code=503)
        return JSONResponse({"status": "ok", **checks})

    install_provisioning(app, platform)  # HW-1: the desk phones' configurations, by MAC
    install_portal(app, runtime)  # every page but the login page needs a session
    meeting.install(app, platform)  # MTG-1: the Web Meeting join page (no session)
    widget.install(app, platform)  # CFG-10: the click-to-call widget's public requests
    demo_shop.install(app, platform)  # CFG-10: the demo's shop page (only when the demo loaded it)

    return app
