"""The Web Meeting join page (MTG-1): ``/meet/{room}`` under the account's brand (TEN-2), the browser
client (``/meet/client.js``, ``static/meeting.js``) and ``POST /meet/{room}/join``, which checks the
PIN, the payment (BIL-6) and the lock, then hands the browser what it needs to enter the room on
Janus. Visitors have no account: the page needs no session.

The join answer is JSON only (``Content-Type: application/json``: a cross-site form cannot send it).
Wrong PINs are counted per address and room: after ``MAX_FAILURES`` in ``FAILURE_WINDOW`` the address
is refused (429) until the window has passed. The page's CSP lets its script reach this origin and
the Janus gateway only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nuage.api.errors import error_body, field_message, http_status_for
from nuage.bootstrap import Platform
from nuage.errors import InvalidInput, NotFound, NuageError, UpstreamUnavailable
from nuage.services.meetings import rooms as m
from nuage.web.headers import new_nonce, origin_sources
from nuage.web.portal import i18n
from nuage.web.portal.base import TEMPLATES, Brand
from nuage.web.windows import SlidingWindow

CLIENT = Path(__file__).parent / "static" / "meeting.js"
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=10)
MAX_BODY = 2048


class JoinBody(BaseModel):
    """MTG-1: a visitor's name and the room's PIN."""

    model_config = ConfigDict(extra="forbid")

    pin: str = Field(pattern=r"^[0-9]{4,12}$")
    display: str = Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f-\x9f<>]*$")


def page_policy(nonce: str, janus_urls: Sequence[str]) -> str:
    """The join page's CSP: its style block, its script from this origin, requests to this origin and
    to the gateway instances, media from the camera and the room."""
    gateway = "".join(dict.fromkeys(origin_sources(url) for url in janus_urls))
    return (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        f"style-src 'nonce-{nonce}'; script-src 'self'; connect-src 'self'{gateway}; "
        "media-src 'self' blob: mediastream:"
    )


def _error(error: NuageError) -> JSONResponse:
    return JSONResponse(
        error_body(error.error_id, str(error), error.details),
        status_code=http_status_for(error),
        headers=_NO_STORE,
    )


_NO_STORE = {"Cache-Control": "no-store"}


def router(platform: Platform) -> APIRouter:
    """The join page, its client and its join request."""
    routes = APIRouter()
    attempts = SlidingWindow(platform.clock, limit=MAX_FAILURES, window=FAILURE_WINDOW)
    config = platform.settings.janus

    @routes.get("/meet/client.js", include_in_schema=False)
    def client() -> Response:
        return Response(
            CLIENT.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @routes.get("/meet/{room_id}", include_in_schema=False)
    def page(room_id: str, request: Request) -> Response:
        language = i18n.choose(None, None, request.headers.get("accept-language"))
        with platform.uow() as uow:
            try:
                if not _valid_room_id(room_id):
                    raise NotFound("meeting room", room_id)
                room = m.meeting_room_for_visitor(uow, room_id)
                brand = m.meeting_brand(uow, room)
            except NotFound:
                return HTMLResponse("Not found", status_code=404, headers=_NO_STORE)
        shown = Brand(brand.name, brand.primary_color, brand.secondary_color, brand.support_email)
        nonce = new_nonce()
        html = TEMPLATES.get_template("meet.html").render(
            _=i18n.gettext(language),
            language=language,
            brand=Brand.of(None) if not shown.name else shown,
            room_name=room.name,
            room_id=room.id,
            csp_nonce=nonce,
        )
        urls = [instance.browser_url for instance in config.gateways()]
        headers = {"Content-Security-Policy": page_policy(nonce, urls), **_NO_STORE}
        return HTMLResponse(html, headers=headers)

    @routes.post("/meet/{room_id}/join", include_in_schema=False)
    async def join(room_id: str, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(InvalidInput("content-type", "Send the join request as application/json"))
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(InvalidInput("body", f"A join request has at most {MAX_BODY} bytes"))
        try:
            body = JoinBody.model_validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            return _error(InvalidInput(field, f"{field}: {field_message(first)}"))
        key = (request.client.host if request.client else "-", room_id)
        if attempts.full(key):
            answer = error_body(
                "too-many-attempts", "Too many wrong PINs: try again later", {"rule_id": "MTG-1"}
            )
            return JSONResponse(answer, status_code=429, headers={"Retry-After": "600", **_NO_STORE})
        gateways = platform.meeting_gateways
        if gateways is None:
            return _error(UpstreamUnavailable("janus", "Web Meeting is not configured: set [janus] url"))
        try:
            if not _valid_room_id(room_id):
                raise NotFound("meeting room", room_id)
            with platform.uow() as uow:
                ticket = m.join_meeting(uow, platform.clock, room_id, body.pin, gateways, platform.payments)
        except InvalidInput as error:
            if error.field == "pin":
                attempts.count(key)
            return _error(error)
        except NuageError as error:
            return _error(error)
        return JSONResponse(
            {
                "janus_url": ticket.gateway_url,
                "room": ticket.gateway_room,
                "key": ticket.gateway_pin,
                "display": body.display,
                "name": ticket.name,
                "ice_servers": config.ice_servers(),
            },
            headers=_NO_STORE,
        )

    return routes


def _valid_room_id(room_id: str) -> bool:
    return 0 < len(room_id) <= 40 and all(c.isalnum() or c == "_" for c in room_id) and room_id.isascii()


def install(app: FastAPI, platform: Platform) -> None:
    """Add the join page to ``app``."""
    app.include_router(router(platform))
