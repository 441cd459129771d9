"""SIP-5: the SIP edge's bans, for the operator.

``GET /sip/bans`` lists the source addresses the SIP edge drops unanswered (too many failed
authentications; stored, so a restart and the other SIP nodes keep them): those of the SIP node
of this process, or the stored ones when SIP runs elsewhere. ``DELETE /sip/bans/{address}``
lifts one: at once in this process's node and in the store, within one sync on the others.
Anyone but the operator's staff gets 404 (TEN-4: nothing reveals them).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from nuage.api.caching import read_response, write_response
from nuage.api.crud import FORBIDDEN, INVALID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, current_claims, in_call
from nuage.api.deps import runtime as api_runtime
from nuage.api.errors import ErrorBody
from nuage.api.schemas import Output
from nuage.api.tokens import Claims
from nuage.errors import InvalidInput, NotFound, UpstreamUnavailable

UNAVAILABLE = {503: {"model": ErrorBody, "description": "The store of the bans cannot be reached"}}

router = APIRouter()


class BanOut(Output):
    """SIP-5: a source address whose SIP messages are dropped unanswered until ``until``."""

    address: str
    since: datetime
    until: datetime
    reason: str


class BansOut(Output):
    """Every ban in force, the longest remaining first."""

    items: list[BanOut]
    total: int


BanAddress = Annotated[
    str,
    Path(
        min_length=2,
        max_length=45,
        pattern=r"^[0-9A-Fa-f.:]+$",
        description="The banned IPv4 or IPv6 address",
    ),
]


def _sip_operator(c: Call, permission: str) -> None:
    if not c.ctx.scope.is_operator:
        raise NotFound("sip view", "-")
    c.require(permission)


@router.get(
    "/sip/bans",
    response_model=BansOut,
    summary="Addresses the SIP edge bans",
    tags=["sip"],
    responses=responses(NOT_FOUND, NOT_MODIFIED, UNAVAILABLE),
    **described(
        "operations.sip.read",
        "SIP-5: the source addresses whose SIP messages are dropped unanswered (too many failed "
        "authentications), since when, until when and why; kept over restarts, shared by the SIP "
        "nodes. 503 when the store of the bans (the database, or Redis) cannot be reached.",
    ),
)
async def list_bans(request: Request, claims: Claims = Depends(current_claims)) -> Response:
    await in_call(request, claims, lambda c: _sip_operator(c, "operations.sip.read"), read=True)
    platform = api_runtime(request).platform
    if platform.sip is not None:  # this process's node: its bans now (the others' within one sync)
        items = [
            BanOut(address=b.address, since=b.since, until=b.until, reason=b.reason)
            for b in platform.sip.server.bans()
        ]
    else:
        async with platform.ban_store() as store:
            try:
                found = await store.active(platform.clock.now())
            except Exception as error:
                raise UpstreamUnavailable("bans", "the store of the SIP bans cannot be reached") from error
        items = [BanOut(address=b.address, since=b.since, until=b.until, reason=b.reason) for b in found]
    return read_response(request, BansOut(items=items, total=len(items)).model_dump_json().encode())


@router.delete(
    "/sip/bans/{address}",
    status_code=204,
    response_class=Response,
    summary="Lift a ban",
    tags=["sip"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID, UNAVAILABLE),
    **described(
        "operations.sip.update",
        "SIP-5: the address is served again (at once by this process's SIP node, within a few "
        "seconds by the others) and its failed authentications are forgotten. 404 when it is not banned.",
    ),
)
async def lift_ban(
    address: BanAddress, request: Request, claims: Claims = Depends(current_claims)
) -> Response:
    await in_call(request, claims, lambda c: _sip_operator(c, "operations.sip.update"))
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        raise InvalidInput("address", "not an IPv4 or IPv6 address") from None
    platform = api_runtime(request).platform
    try:
        if platform.sip is not None:
            lifted = await platform.sip.lift_ban(address)
        else:
            async with platform.ban_store() as store:
                lifted = await store.lift(address, platform.clock.now())
    except Exception as error:
        raise UpstreamUnavailable("bans", "the store of the SIP bans cannot be reached") from error
    if not lifted:
        raise NotFound("ban", address)
    return write_response(None, 204)
