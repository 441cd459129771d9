"""The SIP data plane, live (SIP-1): current registrations and calls, for the operator.

``GET /sip/registrations`` and ``GET /sip/calls`` read the SIP server running in this process,
``GET /sip/autodialer-blocks`` the accounts its call policy blocked as automatic calling machines
(SIP-4, kept until the operator clears them);
anyone but the operator's staff gets 404 (TEN-4: nothing reveals them). A process that runs
without SIP (``nuage serve --no-sip``) answers 503 naming the upstream.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response

from nuage.api.caching import read_response
from nuage.api.crud import NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import ErrorBody
from nuage.api.schemas import Output
from nuage.bootstrap import SipRuntime
from nuage.errors import NotFound, UpstreamUnavailable

UNAVAILABLE = {503: {"model": ErrorBody, "description": "SIP does not run in this process"}}

router = APIRouter()


class RegistrationOut(Output):
    """One registered contact of a device."""

    device_id: str
    username: str
    contact: str
    expires_at: datetime
    source: str
    user_agent: str


class CallOut(Output):
    """One call in progress."""

    call_id: str
    state: str
    direction: str
    caller: str
    callee: str
    account_id: str | None
    started_at: datetime
    answered_at: datetime | None


class RegistrationsOut(Output):
    """Every live registration."""

    items: list[RegistrationOut]
    total: int


class CallsOut(Output):
    """Every call in progress."""

    items: list[CallOut]
    total: int


class AutoDialerBlockOut(Output):
    """An account (or trunk) blocked as an automatic calling machine (SIP-4)."""

    account_id: str | None
    trunk_id: str | None
    since: datetime
    reason: str


class AutoDialerBlocksOut(Output):
    """Every current SIP-4 block."""

    items: list[AutoDialerBlockOut]
    total: int


def _sip(c: Call) -> SipRuntime:
    if not c.ctx.scope.is_operator:
        raise NotFound("sip view", "-")
    runtime = c.runtime.platform.sip
    if runtime is None:
        raise UpstreamUnavailable("sip", "SIP does not run in this process (started with --no-sip)")
    return runtime


@router.get(
    "/sip/registrations",
    response_model=RegistrationsOut,
    summary="Live registrations",
    tags=["sip"],
    responses=responses(NOT_FOUND, NOT_MODIFIED, UNAVAILABLE),
    **described("operations.sip.read", "SIP-1: the phones registered now, with where they registered from."),
)
def list_registrations(request: Request, c: Call = Depends(call)) -> Response:
    c.require("operations.sip.read")
    bindings = _sip(c).server.registrations()
    items = [
        RegistrationOut(
            device_id=b.device_id,
            username=b.username,
            contact=b.contact,
            expires_at=b.expires_at,
            source=f"{b.source_transport.lower()}:{b.source_host}:{b.source_port}",
            user_agent=b.user_agent,
        )
        for b in sorted(bindings, key=lambda b: (b.username, b.contact))
    ]
    return read_response(request, RegistrationsOut(items=items, total=len(items)).model_dump_json().encode())


@router.get(
    "/sip/calls",
    response_model=CallsOut,
    summary="Calls in progress",
    tags=["sip"],
    responses=responses(NOT_FOUND, NOT_MODIFIED, UNAVAILABLE),
    **described("operations.sip.read", "SIP-1: the calls in progress, with their state and account."),
)
def list_calls(request: Request, c: Call = Depends(call)) -> Response:
    c.require("operations.sip.read")
    items = [
        CallOut(
            call_id=info.call_id,
            state=info.state.value,
            direction=info.direction.value,
            caller=info.caller,
            callee=info.callee,
            account_id=info.account_id,
            started_at=info.started_at,
            answered_at=info.answered_at,
        )
        for info in sorted(_sip(c).server.calls(), key=lambda i: i.started_at)
    ]
    return read_response(request, CallsOut(items=items, total=len(items)).model_dump_json().encode())


@router.get(
    "/sip/autodialer-blocks",
    response_model=AutoDialerBlocksOut,
    summary="Accounts blocked as auto-dialers",
    tags=["sip"],
    responses=responses(NOT_FOUND, NOT_MODIFIED, UNAVAILABLE),
    **described(
        "operations.sip.read",
        "SIP-4: the accounts blocked for outbound calls as automatic calling machines, since when and why.",
    ),
)
def list_autodialer_blocks(request: Request, c: Call = Depends(call)) -> Response:
    c.require("operations.sip.read")
    items = [
        AutoDialerBlockOut(
            account_id=b.subject.id if b.subject.kind == "account" else None,
            trunk_id=b.subject.id if b.subject.kind == "trunk" else None,
            since=b.since,
            reason=b.reason,
        )
        for b in _sip(c).policy.autodialer_blocks()
    ]
    return read_response(
        request, AutoDialerBlocksOut(items=items, total=len(items)).model_dump_json().encode()
    )
