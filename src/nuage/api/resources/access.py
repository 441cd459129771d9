"""API clients, limits and usage (API-1..4): ``/api-clients``, ``/api-limits/{id}``, ``/api-usage``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import (
    CURSOR,
    FORBIDDEN,
    ID,
    INVALID,
    NOT_FOUND,
    NOT_MODIFIED,
    TOTAL,
    Resource,
    described,
    dump,
    dump_listed,
    page_model,
    register,
    responses,
)
from nuage.api.deps import Call, call
from nuage.api.paging import refuse_offset
from nuage.api.schemas import Id, Input, Name, Output
from nuage.directory.model import Role
from nuage.errors import NotFound
from nuage.services import access as a

# --- clients ---------------------------------------------------------------------------------------------


class ClientCreate(Input):
    """API-1: credentials for an account (default: the caller's); ``supervisor`` clients only read."""

    account_id: Id | None = None
    name: Name
    role: Role = Role.ADMINISTRATOR


class ClientStatusChange(Input):
    """API-3: the operator suspends a client at once (``suspended``) or lets it back in (``active``)."""

    status: a.ClientStatus


class ClientOut(Output):
    """An API client (never its secret)."""

    id: str = Field(description="The client_id")
    account_id: str
    name: str
    role: Role
    status: a.ClientStatus
    created_at: datetime
    created_by: str | None
    status_changed_at: datetime | None


class ClientIssued(ClientOut):
    """The new client with its secret, shown this once; only a hash is stored."""

    client_secret: str


def _issue(c: Call, body: ClientCreate) -> Any:
    client, secret = a.issue_client(
        c.uow,
        c.store,
        c.ctx,
        body.account_id or c.claims.account_id,
        body.name,
        role=body.role,
        created_by=c.claims.subject,
    )
    return ClientIssued(**ClientOut.model_validate(client).model_dump(), client_secret=secret)


def _revoke(c: Call, key: str) -> None:
    a.revoke_client(c.store, c.ctx, key)
    c.runtime.state.block_client(key)


CLIENTS = Resource(
    path="/api-clients",
    area="access",
    name="api-clients",
    tag="access",
    noun="API client",
    out=ClientOut,
    created_out=ClientIssued,
    repo=lambda uow: uow.access.clients,
    filters={"account_id": Id, "status": a.ClientStatus},
    order_fields=("created_at", "name"),
    create_body=ClientCreate,
    create=_issue,
    delete=_revoke,
    get=lambda c, key: a.get_client(c.store, c.ctx, key),
    rules="API-1 (the secret is shown once, stored hashed); DELETE revokes the client for good (API-4).",
)


router = APIRouter()
register(router, CLIENTS)


@router.put(
    "/api-clients/{id}/status",
    response_model=ClientOut,
    summary="Suspend an API client, or let it back in",
    tags=["access"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described(
        "access.api-clients.update-status",
        "API-3: the operator suspends a client at once; its existing tokens stop working immediately.",
    ),
)
def set_client_status(id: ID, body: ClientStatusChange, c: Call = Depends(call)) -> Response:
    a.get_client(c.store, c.ctx, id)
    c.require("access.api-clients.update-status")
    client = a.set_client_status(c.store, c.ctx, id, body.status)
    data = dump(ClientOut, client)
    c.uow.commit()
    if client.status is a.ClientStatus.ACTIVE:
        c.runtime.state.unblock_client(id)
    else:
        c.runtime.state.block_client(id)
    return write_response(data)


# --- limits (API-2) ------------------------------------------------------------------------------------


class LimitsChange(Input):
    """API-2: requests in flight allowed for the account, counted across all its clients."""

    max_reads: Annotated[int, Field(ge=1, le=1000)]
    max_writes: Annotated[int, Field(ge=1, le=1000)]


class LimitsOut(Output):
    """API-2: an account's limits (the defaults are 10 reads and 1 write in flight)."""

    account_id: str
    max_reads: int
    max_writes: int
    updated_at: datetime


@router.get(
    "/api-limits/{account_id}",
    response_model=LimitsOut,
    summary="Read an account's API limits",
    tags=["access"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described("access.api-limits.read", "API-2."),
)
def get_limits(account_id: ID, request: Request, c: Call = Depends(call)) -> Response:
    state = c.runtime.state
    limits = a.get_limits(
        c.uow,
        c.store,
        c.ctx,
        account_id,
        default_reads=state.default_reads,
        default_writes=state.default_writes,
    )
    c.require("access.api-limits.read")
    return read_response(request, dump(LimitsOut, limits))


@router.put(
    "/api-limits/{account_id}",
    response_model=LimitsOut,
    summary="Change an account's API limits",
    tags=["access"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described("access.api-limits.update", "API-2: the operator may change an account's limits."),
)
def set_limits(account_id: ID, body: LimitsChange, c: Call = Depends(call)) -> Response:
    if not c.ctx.scope.can_see(account_id) or c.uow.parties.find(account_id) is None:
        raise NotFound("account", account_id)
    c.require("access.api-limits.update")
    limits = a.set_limits(
        c.uow, c.store, c.ctx, account_id, max_reads=body.max_reads, max_writes=body.max_writes
    )
    data = dump(LimitsOut, limits)
    c.uow.commit()
    c.runtime.state.set_limits(account_id, limits.max_reads, limits.max_writes)
    return write_response(data)


# --- usage (API-3) -------------------------------------------------------------------------------------


class UsageOut(Output):
    """API-3: what one client (or portal user) of an account did; errors and refusals are requests too."""

    account_id: str
    client_id: str
    requests: int
    errors: int
    refusals: int


UsagePage = page_model(UsageOut)


@router.get(
    "/api-usage",
    response_model=UsagePage,
    summary="API use per client and account",
    tags=["access"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(
        "access.api-usage.read",
        "API-3: requests, errors (4xx/5xx) and refusals (429, API-2) per client and account.",
    ),
)
async def api_usage(
    request: Request,
    account_id: Annotated[Id | None, Query()] = None,
    client_id: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CURSOR = None,
    total: TOTAL = False,
    c: Call = Depends(call),
) -> Response:
    refuse_offset(request.query_params)
    await run_in_threadpool(c.require, "access.api-usage.read")
    rows = [
        r
        for r in await c.runtime.meter.rows()
        if (account_id is None or r.account_id == account_id)
        and (client_id is None or r.client_id == client_id)
    ]
    return read_response(request, dump_listed(UsageOut, rows, limit, cursor, "usage", total))
