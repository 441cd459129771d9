"""The gate every API request passes: bearer token (API-1), access state (API-3/4), limits (API-2),
usage counting (API-3) and, once an accepted write is answered, its audit-log record (``audit``).
A pure ASGI middleware, so the read path stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nuage.api.errors import response_for
from nuage.api.fastlane import FastLane
from nuage.api.limits import Access, ConcurrencyLimiter
from nuage.api.state import AccessState
from nuage.api.tokens import Claims, TokenSigner
from nuage.api.usage import UsageMeter
from nuage.shared.clock import Clock

PUBLIC_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/openapi.json"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REALM = 'Bearer realm="nuage-api"'
#: records an accepted write: (claims, method, path, status, client address)
AuditHook = Callable[[Claims, str, str, int, str], Awaitable[None]]
LOST_ACCESS = "The client or user behind this token has lost access (API-3, API-4)"


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _error(error_id: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error_id": error_id, "message": message, "details": details}


class ApiGate:
    """Authenticates, limits and counts every request but the public ones (token, revocation, OpenAPI)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        signer: TokenSigner,
        state: AccessState,
        limiter: ConcurrencyLimiter,
        meter: UsageMeter,
        clock: Clock,
        fast_lane: FastLane | None = None,
        audit: AuditHook | None = None,
    ) -> None:
        self.app = app
        self.signer = signer
        self.state = state
        self.limiter = limiter
        self.meter = meter
        self.clock = clock
        self.fast_lane = fast_lane
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        claims = self._authenticate(scope)
        if not isinstance(claims, str) and not self.state.knows_holder(claims):
            try:
                await self.state.check_holder(claims)  # a user's first token on this node
            except Exception as exc:  # the database did not answer: 503, as the API answers it
                response = response_for(exc)
                if response is None:
                    raise
                await response(scope, receive, send)
                return
            if self.state.is_blocked(claims):
                claims = LOST_ACCESS
        if isinstance(claims, str):
            await _send_json(
                send,
                401,
                _error("unauthenticated", claims),
                {"WWW-Authenticate": f'{REALM}, error="invalid_token"', "Cache-Control": "no-store"},
            )
            return
        access: Access = "read" if scope["method"] in READ_METHODS else "write"
        reads, writes = self.state.limits_for(claims.account_id)
        limit = reads if access == "read" else writes
        slot = await self.limiter.acquire(claims.account_id, access, limit)
        if slot is None:
            await self.meter.record(claims.account_id, claims.subject, "refused")
            await _send_json(
                send,
                429,
                _error(
                    f"api-{access}-limit-reached",
                    f"At most {limit} {access} request(s) of this account may be in flight at once (API-2); "
                    "retry when one has finished",
                    rule_id="API-2",
                    limit=access,
                    max_in_flight=limit,
                    account_id=claims.account_id,
                ),
                {"Retry-After": "1", "Cache-Control": "no-store"},
            )
            return
        status = 500
        held = True

        async def release() -> None:
            nonlocal held
            if held:
                held = False
                await self.limiter.release(claims.account_id, access, slot)

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # The slot is free before the client can see the answer: a client that waits for
                # each answer before its next request is never refused (cleanup is not "in flight").
                await release()
            await send(message)

        try:
            inner = dict(scope)
            inner["state"] = {**scope.get("state", {}), "claims": claims}
            if self.fast_lane is None or not await self.fast_lane(
                inner, receive, send_and_watch, claims, path
            ):
                await self.app(inner, receive, send_and_watch)
        finally:
            await release()
            await self.meter.record(claims.account_id, claims.subject, "error" if status >= 400 else "ok")
            if self.audit is not None and access == "write" and status < 400:
                client = scope.get("client")
                await self.audit(
                    claims, scope["method"], root + path, status, client[0] if client else "unknown"
                )

    def _authenticate(self, scope: Scope) -> Claims | str:
        """The token's claims, or why there are none."""
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        if not header:
            return "A bearer token is required (POST /api/v1/oauth/token)"
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "A bearer token is required (POST /api/v1/oauth/token)"
        claims = self.signer.verify(token.strip(), int(self.clock.now().timestamp()))
        if claims is None:
            return "The token is invalid or expired"
        self.state.maybe_refresh()
        if self.state.knows_holder(claims) and self.state.is_blocked(claims):
            return LOST_ACCESS
        return claims
