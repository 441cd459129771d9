"""What handlers receive: the runtime, the caller's claims, a unit of work and the tenant scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2

from nuage.api.errors import Forbidden
from nuage.api.limits import ConcurrencyLimiter
from nuage.api.permissions import granted, self_granted
from nuage.api.state import AccessState
from nuage.api.throttle import LoginThrottle, MemoryThrottle
from nuage.api.tokens import Claims, TokenSigner
from nuage.api.usage import UsageMeter
from nuage.bootstrap import Platform
from nuage.config import ApiSettings, LoginThrottleSettings
from nuage.errors import NotFound
from nuage.services.access import AccessStore
from nuage.services.call_record_ports import PlatformUnitOfWork
from nuage.services.context import Context
from nuage.services.ports import KeyReader
from nuage.services.tenancy import scope_of
from nuage.tenancy.rules import TenantScope

T = TypeVar("T")


ApiUnitOfWork = PlatformUnitOfWork


class ApiUnitOfWorkFactory(Protocol):
    """Makes the unit of work of one request."""

    def __call__(self) -> ApiUnitOfWork: ...


oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl="oauth/token"),
        password=OAuthFlowPassword(tokenUrl="oauth/token"),
    ),
    scheme_name="oauth2",
    description="API clients: client credentials (API-1); portal users: password grant.",
    auto_error=False,
)


@dataclass
class ApiRuntime:
    """Everything the API needs beyond the platform, built once per application."""

    platform: Platform
    settings: ApiSettings
    signer: TokenSigner
    state: AccessState
    limiter: ConcurrencyLimiter
    meter: UsageMeter
    uow: ApiUnitOfWorkFactory  # the platform's read-optimised units of work (Platform.api_uow)
    inline_reads: bool = False  # api.inline_item_reads resolved for this database
    reader: KeyReader | None = None  # primary-key reads of the fast lane (Platform.key_reader)
    throttle: LoginThrottle = field(default_factory=lambda: MemoryThrottle(LoginThrottleSettings()))

    async def close(self) -> None:
        """Close what the API holds open beside the engine: Redis clients, the fast lane's connections."""
        try:
            await self.limiter.close()
        finally:
            try:
                await self.meter.close()
            finally:
                try:
                    await self.throttle.close()
                finally:
                    if self.reader is not None:
                        await self.reader.close()


def runtime(request: Request) -> ApiRuntime:
    """The API runtime of this application."""
    found: ApiRuntime = request.app.state.api
    return found


async def current_claims(request: Request, _token: str | None = Security(oauth2)) -> Claims:
    """The claims the gate verified (API-1)."""
    claims: Claims | None = getattr(request.state, "claims", None)
    if claims is None:  # the gate lets only public paths through without claims
        raise NotFound("resource", request.url.path)
    return claims


def unit_of_work(request: Request) -> Iterator[ApiUnitOfWork]:
    """One transaction per request; handlers commit what they write."""
    with runtime(request).uow() as uow:
        yield uow


def scope_for_claims(uow: ApiUnitOfWork, claims: Claims) -> TenantScope:
    """TEN-4: the operator sees all; a partner itself and its customers; a customer itself."""
    if claims.account_kind == "operator":
        return TenantScope(claims.account_id, None)
    if claims.account_kind == "partner":
        return scope_of(uow, claims.account_id)
    return TenantScope(claims.account_id, frozenset({claims.account_id}))


@dataclass
class Call:
    """One API call: who, in which scope, over which transaction."""

    claims: Claims
    uow: ApiUnitOfWork
    ctx: Context
    runtime: ApiRuntime
    _store: AccessStore | None = field(default=None, repr=False)

    @property
    def store(self) -> AccessStore:
        """API clients and limits, in the same transaction."""
        if self._store is None:
            self._store = self.uow.access
        return self._store

    def require(self, permission: str, *, self_id: str | None = None) -> None:
        """403 unless the caller's role carries ``permission`` (or it is the caller's own user)."""
        if granted(self.claims, permission):
            return
        if self_id is not None and self_granted(self.claims, permission, self_id):
            return
        raise Forbidden(permission)


async def in_call(request: Request, claims: Claims, work: Callable[[Call], T], *, read: bool = False) -> T:
    """Run ``work`` in one worker-thread hop: open the transaction, scope the caller, do the work.

    Reads run on the event loop instead when ``inline_reads`` is set (SQLite: WAL readers never
    wait); writes always go to a worker thread, since they may wait for the database's lock.
    """
    rt = runtime(request)

    def run() -> T:
        with rt.uow() as uow:
            return work(Call(claims, uow, Context(scope_for_claims(uow, claims), rt.platform.clock), rt))

    if read and rt.inline_reads:
        return run()
    return await run_in_threadpool(run)


def call(
    request: Request,
    claims: Claims = Depends(current_claims),
    uow: ApiUnitOfWork = Depends(unit_of_work),
) -> Call:
    """The call's claims, scope and transaction."""
    rt = runtime(request)
    ctx = Context(scope_for_claims(uow, claims), rt.platform.clock)
    return Call(claims, uow, ctx, rt)


__all__ = ["ApiRuntime", "Call", "call", "current_claims", "in_call", "oauth2", "runtime", "unit_of_work"]
