"""The API application, mounted by ``nuage.web.app`` under ``/api/v1`` (API-1..4)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from nuage import __version__
from nuage.api import errors
from nuage.api.audit_trail import AuditTrail
from nuage.api.body_limit import BodyLimit
from nuage.api.crud import ITEM_READS, LIST_READS
from nuage.api.deps import ApiRuntime
from nuage.api.fastlane import FastLane
from nuage.api.gate import ApiGate
from nuage.api.limits import ConcurrencyLimiter, MemoryLimiter, RedisLimiter
from nuage.api.resources import (
    access,
    applications,
    audit,
    balances,
    billing,
    call_recordings,
    calls,
    carrier_trunks,
    conferences,
    contracts,
    devices,
    emergency_numbers,
    faxes,
    forwarding,
    hot_desk,
    meetings,
    numbers,
    oauth,
    orders,
    packs,
    parties,
    plans,
    provisioning,
    recording,
    ring_groups,
    rooms,
    sip,
    sip_bans,
    sip_calls,
    sound_files,
    summaries,
    support,
    tariffs,
    ticket_attachments,
    tickets,
    trunks,
    ucaas,
    users,
    views,
    voicemail,
    web_channels,
)
from nuage.api.state import AccessState, Holder, Snapshot
from nuage.api.throttle import default_throttle
from nuage.api.tokens import TokenSigner
from nuage.api.usage import MemoryUsageMeter, RedisUsageMeter, UsageMeter
from nuage.bootstrap import Platform
from nuage.config import ApiSettings
from nuage.services import access as a

DESCRIPTION = """\
Everything the portal can do (API-1). Authenticate at `POST /oauth/token` (OAuth 2 client
credentials for API clients, password grant for portal users) and send `Authorization: Bearer
<token>`. Every operation names the permission it needs (`x-permission`).

* Collections page, sort and filter alike: `limit`, `cursor`, `order`, `direction`, `total`,
  equality filters; answers are `{"items", "limit", "next"}` (`"total"` with `total=true`).
* Errors have one shape: `{"error_id", "message", "details"}`; a refusal by the terms is 422
  `term-violation` with `details.rule_id`.
* Another tenant's objects are answered exactly like missing ones (404, TEN-4).
* API-2: per account at most 10 reads and 1 write in flight (the operator may change this);
  excess is refused at once with 429 and `Retry-After`, never queued.
* API-4: reads carry `ETag` and `Cache-Control: private, max-age=0, must-revalidate`
  (`If-None-Match` gives 304); writes and tokens are `no-store`.
* Failed logins at `/oauth/token` slow down their account and address (429 `login-throttled`
  with `Retry-After`); `POST /oauth/revoke` revokes a token (RFC 7009); setting a password ends
  the user's existing tokens.
"""

ROUTERS = (
    oauth.router,
    parties.router,
    orders.router,
    users.router,
    devices.router,
    rooms.router,
    numbers.router,
    faxes.router,
    conferences.router,
    applications.router,
    recording.router,
    call_recordings.router,
    meetings.router,
    web_channels.router,
    packs.router,
    trunks.router,
    sound_files.router,
    voicemail.router,
    carrier_trunks.router,
    emergency_numbers.router,
    hot_desk.router,
    forwarding.router,
    ring_groups.router,
    views.router,
    audit.router,
    access.router,
    billing.router,
    balances.router,
    calls.router,
    contracts.router,
    summaries.router,
    sip.router,
    sip_bans.router,
    sip_calls.router,
    tariffs.router,
    plans.router,
    tickets.router,
    ticket_attachments.router,
    provisioning.router,
    support.router,
    ucaas.router,
)


def default_limiter(settings: ApiSettings) -> ConcurrencyLimiter:
    """API-2: the limiter ``api.limits_backend`` names (Redis: shared by the web nodes)."""
    if settings.limits_backend == "redis":
        return RedisLimiter(
            settings.redis_url, prefix=settings.redis_key_prefix, lease_s=settings.slot_lease_s
        )
    return MemoryLimiter()


def _meter(settings: ApiSettings) -> UsageMeter:
    if settings.limits_backend == "redis":
        return RedisUsageMeter(settings.redis_url, prefix=settings.redis_key_prefix)
    return MemoryUsageMeter()


class ApiDispatch:
    """On the outer application: sends ``/api/v1/...`` straight to the API, as its mount would, minus
    the outer routing (the read path stays short)."""

    def __init__(self, app: ASGIApp, *, api: ASGIApp, prefix: str = "/api/v1") -> None:
        self.app = app
        self.api = api
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            path: str = scope["path"]
            if path.startswith(root + self.prefix + "/"):
                await self.api({**scope, "root_path": root + self.prefix}, receive, send)
                return
        await self.app(scope, receive, send)


def _inline_reads(platform: Platform) -> bool:
    choice = platform.settings.api.inline_item_reads
    if choice == "auto":
        return platform.database_kind == "sqlite"
    return choice == "always"


def create_api(platform: Platform, *, limiter: ConcurrencyLimiter | None = None) -> FastAPI:
    """The API over a wired platform; mount ``app.state.entry`` (the gated application) at ``/api/v1``.

    ``limiter``: API-2's limiter, when not the one the settings name (a test's, that holds requests).
    """
    settings = platform.settings.api
    app = FastAPI(
        title="Nuage API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(BodyLimit)  # every body bounded before it is read whole
    for router in ROUTERS:
        app.include_router(router)

    def load() -> Snapshot:
        with platform.uow() as uow:
            store = uow.access
            revoked = store.revoked_token_ids(platform.clock.now())
            return Snapshot(a.blocked_client_ids(store), a.all_limits(store), revoked)

    def load_users(user_ids: frozenset[str]) -> dict[str, Holder]:
        with platform.uow() as uow:
            return uow.access.user_holders(user_ids)

    state = AccessState(
        load,
        default_reads=settings.default_max_reads,
        default_writes=settings.default_max_writes,
        refresh_s=settings.state_refresh_s,
        load_users=load_users,
        holder_ttl_s=settings.token_ttl_s,
    )
    state.reload()
    limiter = limiter or default_limiter(settings)
    meter = _meter(settings)
    signer = TokenSigner(platform.secret_key())
    inline = _inline_reads(platform)
    # The fast lane's primary-key reads: on SQLite only where reads may run on the event loop.
    reader = platform.key_reader() if inline or platform.database_kind != "sqlite" else None
    throttle = default_throttle(
        settings.limits_backend, settings.login, settings.redis_url, settings.redis_key_prefix
    )
    runtime = ApiRuntime(
        platform, settings, signer, state, limiter, meter, platform.api_uow, inline, reader, throttle
    )
    app.state.api = runtime
    # The gate wraps the whole application (outside the framework's middleware), so that the hot read
    # path (its fast lane) costs only the gate; ``app.state.entry`` is what to mount.
    app.state.entry = ApiGate(
        app,
        signer=signer,
        state=state,
        limiter=limiter,
        meter=meter,
        clock=platform.clock,
        fast_lane=FastLane(runtime, ITEM_READS, inline=inline, lists=LIST_READS, reader=reader),
        audit=AuditTrail(runtime),
    )
    return app
