"""The click-to-call widget's public side (CFG-10): the script a customer puts on its website and the
requests it makes from the visitor's browser.

* ``GET /widget/loader.js``: the script (``static/widget.js``), embedded as
  ``<script src=".../widget/loader.js" data-widget="<web channel id>" async></script>``;
* ``POST /widget/{id}/token``: only from the widget's allowed origin (``Origin``, CORS); rate
  limited per address and per visitor; a short-lived, single-use signed token;
* ``POST /widget/{id}/call``: the token buys a call **ticket** (``nuage.directory.widget_tickets``):
  signed with a key derived from the platform's secret key, for one call within a minute, to the
  destination the administrator configured (the visitor chooses no number), with what the page
  needs to place it through the WebRTC gateway's SIP plugin.

The SIP plane checks the ticket and counts the call against the web channel's channels among the
calls in progress (CFG-10: the call beyond them is refused, 486 "All lines busy"), so the count is
right whichever web node issued the ticket, and a line is free again as soon as its call ends,
including when the visitor's tab closes (the gateway then hangs up). Tokens of the first step are
signed with a key drawn per web process: with several web nodes, a visitor's token and call
requests must reach the same node (sticky sessions), which the tickets do not need.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nuage.api.errors import error_body, field_message, http_status_for
from nuage.bootstrap import Platform
from nuage.directory.widget import check_origin, origin_of
from nuage.directory.widget_tickets import HEADER, WidgetTickets, ticket_key
from nuage.errors import InvalidInput, NotFound, NuageError, TermViolation, UpstreamUnavailable
from nuage.web.windows import SlidingWindow

LOADER = Path(__file__).parent / "static" / "widget.js"
TOKEN_TTL = timedelta(seconds=60)
MAX_BODY = 1024
PER_ADDRESS = 20  # tokens per address and window
PER_VISITOR = 5  # tokens per visitor and window
WINDOW = timedelta(minutes=10)
_NO_STORE = {"Cache-Control": "no-store"}
_ID = r"^[A-Za-z0-9_-]{1,64}$"


class TokenBody(BaseModel):
    """A visitor (an id the script keeps in the page's storage) asks to call."""

    model_config = ConfigDict(extra="forbid")

    visitor: str = Field(pattern=_ID)


class CallBody(BaseModel):
    """The token the widget got a moment ago."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=400)


class Tokens:
    """Short-lived, single-use tokens signed with this process's key."""

    def __init__(self, platform: Platform) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = platform.clock
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, widget_id: str, visitor: str) -> str:
        expires = int((self._clock.now() + TOKEN_TTL).timestamp())
        claims = {"w": widget_id, "v": visitor, "exp": expires, "n": secrets.token_urlsafe(9)}
        body = (
            base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
        )
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def redeem(self, widget_id: str, token: str) -> None:
        """CFG-10: a token of this widget, not expired, used once; else ``InvalidInput("token")``."""
        body, _, signature = token.partition(".")
        refused = InvalidInput(
            "token", "This call token is not valid (expired or used): ask again", rule_id="CFG-10"
        )
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise refused
        try:
            claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise refused from None
        now = self._clock.now().timestamp()
        if claims.get("w") != widget_id or int(claims.get("exp", 0)) <= now:
            raise refused
        with self._lock:
            for nonce in [key for key, until in self._used.items() if until <= now]:
                del self._used[nonce]
            if claims["n"] in self._used:
                raise refused
            self._used[str(claims["n"])] = float(claims["exp"])


def router(platform: Platform) -> APIRouter:
    """The widget's script and requests."""
    routes = APIRouter()
    tokens = Tokens(platform)
    tickets = WidgetTickets(ticket_key(platform.secret_key()), platform.clock)
    by_address = SlidingWindow(platform.clock, limit=PER_ADDRESS, window=WINDOW)
    by_visitor = SlidingWindow(platform.clock, limit=PER_VISITOR, window=WINDOW)
    config = platform.settings.janus

    def allowed(widget_id: str, request: Request) -> tuple[Any, str]:
        """The widget, if the request comes from its allowed origin (CFG-10); its CORS origin."""
        origin = request.headers.get("origin")
        with platform.uow() as uow:
            widget = uow.web_channels.find(widget_id) if len(widget_id) <= 40 else None
            if widget is None:
                raise NotFound("web channel", widget_id)
            check_origin(widget.allowed_origin, origin, widget_id)
            number = uow.numbers.find(widget.target_number_id) if widget.target_number_id else None
        return (widget, number.e164 if number else None), origin_of(origin or "") or ""

    def cors(origin: str) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **_NO_STORE}

    def failure(error: NuageError, origin: str = "") -> JSONResponse:
        headers = cors(origin) if origin else _NO_STORE
        return JSONResponse(
            error_body(error.error_id, str(error), error.details),
            status_code=http_status_for(error),
            headers=headers,
        )

    async def read(request: Request, model: type[BaseModel]) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise InvalidInput("content-type", "Send the request as application/json")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise InvalidInput("body", f"At most {MAX_BODY} bytes")
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            raise InvalidInput(field, f"{field}: {field_message(first)}") from None

    @routes.get("/widget/loader.js", include_in_schema=False)
    def loader() -> Response:
        return Response(
            LOADER.read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
        )

    @routes.options("/widget/{widget_id}/{action}", include_in_schema=False)
    def preflight(widget_id: str, action: str, request: Request) -> Response:
        try:
            _, origin = allowed(widget_id, request)
        except NuageError as error:
            return failure(error)
        headers = {
            **cors(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "content-type",
            "Access-Control-Max-Age": "600",
        }
        return Response(status_code=204, headers=headers)

    @routes.post("/widget/{widget_id}/token", include_in_schema=False)
    async def token(widget_id: str, request: Request) -> Response:
        try:
            _, origin = allowed(widget_id, request)
        except NuageError as error:
            return failure(error)
        try:
            body: TokenBody = await read(request, TokenBody)
        except NuageError as error:
            return failure(error, origin)
        address = request.client.host if request.client else "-"
        if by_address.full((widget_id, address)) or by_visitor.full((widget_id, body.visitor)):
            answer = error_body(
                "too-many-calls", "Too many calls from here: try again later", {"rule_id": "CFG-10"}
            )
            return JSONResponse(answer, status_code=429, headers={"Retry-After": "600", **cors(origin)})
        by_address.count((widget_id, address))
        by_visitor.count((widget_id, body.visitor))
        issued = tokens.issue(widget_id, body.visitor)
        return JSONResponse(
            {"token": issued, "expires_in": int(TOKEN_TTL.total_seconds())}, headers=cors(origin)
        )

    @routes.post("/widget/{widget_id}/call", include_in_schema=False)
    async def call(widget_id: str, request: Request) -> Response:
        try:
            (widget, destination), origin = allowed(widget_id, request)
        except NuageError as error:
            return failure(error)
        try:
            body: CallBody = await read(request, CallBody)
            tokens.redeem(widget_id, body.token)
            if destination is None:
                raise TermViolation(
                    "CFG-10", "This widget has no destination configured", widget_id=widget_id
                )
            if config.browser_url is None or config.sip_proxy is None:
                raise UpstreamUnavailable("janus", "Calls from the web are not configured here")
            ticket = tickets.issue(widget_id, widget.account_id, destination, widget.channels)
        except NuageError as error:
            return failure(error, origin)
        domain = config.sip_domain or config.sip_proxy.split(":", 1)[1].split(";")[0]
        return JSONResponse(
            {
                "ticket": ticket,
                "header": HEADER,
                "destination": destination,
                "janus_url": config.browser_url,
                "ice_servers": config.ice_servers(),
                "sip": {
                    "uri": f"sip:web@{domain}",
                    "proxy": config.sip_proxy,
                    "identity": f"sip:web@{domain}",
                },
            },
            headers=cors(origin),
        )

    return routes


def install(app: FastAPI, platform: Platform) -> None:
    """Add the widget's routes to ``app``."""
    app.include_router(router(platform))
