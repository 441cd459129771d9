"""The SIP data plane, live (SIP-1), and the operator's settings of the terms on every call.

``GET /sip/registrations`` and ``GET /sip/calls`` read the SIP server running in this process;
without SIP in the process (``nuage serve --no-sip``) they answer 503 naming the upstream.
``GET /sip/autodialer-blocks`` lists the accounts and customer trunks blocked as automatic
calling machines (SIP-4, kept until the operator clears them: stored, so a restart keeps them),
``DELETE /sip/autodialer-blocks/{subject_kind}/{subject_id}`` clears one (every SIP node lets it
call again within one reload of its policy, a few seconds). ``/call-limits/{account_id}``
reads, sets (``PUT``) and clears (``DELETE``) an account's daily outbound spending cap (SIP-5),
taken into account by the SIP nodes within one reload. Anyone but the operator's staff gets 404
(TEN-4: nothing reveals them).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import FORBIDDEN, ID, INVALID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call, current_claims, in_call
from nuage.api.deps import runtime as api_runtime
from nuage.api.errors import ErrorBody
from nuage.api.schemas import Input, Output
from nuage.api.tokens import Claims
from nuage.bootstrap import SipRuntime
from nuage.errors import NotFound, UpstreamUnavailable
from nuage.policy import AutoDialerBlock, Subject
from nuage.tenancy.model import PartyKind

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
    """An account (or a customer trunk) blocked as an automatic calling machine (SIP-4)."""

    subject_kind: Literal["account", "trunk"]
    subject_id: str
    account_id: str | None
    trunk_id: str | None
    since: datetime
    reason: str


class AutoDialerBlocksOut(Output):
    """Every current SIP-4 block."""

    items: list[AutoDialerBlockOut]
    total: int


def _operator(c: Call) -> None:
    if not c.ctx.scope.is_operator:
        raise NotFound("sip view", "-")


def _sip(c: Call) -> SipRuntime:
    _operator(c)
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


def _block_out(block: AutoDialerBlock) -> AutoDialerBlockOut:
    kind = block.subject.kind
    return AutoDialerBlockOut(
        subject_kind="trunk" if kind == "trunk" else "account",
        subject_id=block.subject.id,
        account_id=block.account_id or (block.subject.id if kind == "account" else None),
        trunk_id=block.subject.id if kind == "trunk" else None,
        since=block.since,
        reason=block.reason,
    )


@router.get(
    "/sip/autodialer-blocks",
    response_model=AutoDialerBlocksOut,
    summary="Accounts and trunks blocked as auto-dialers",
    tags=["sip"],
    responses=responses(NOT_FOUND, NOT_MODIFIED),
    **described(
        "operations.sip.read",
        "SIP-4: the accounts and customer trunks blocked for outbound calls as automatic calling "
        "machines, since when and why (emergency calls still go through). Kept until cleared.",
    ),
)
def list_autodialer_blocks(request: Request, c: Call = Depends(call)) -> Response:
    _operator(c)
    c.require("operations.sip.read")
    runtime = c.runtime.platform.sip
    # without SIP in this process: what the SIP nodes stored
    blocks = runtime.policy.autodialer_blocks() if runtime is not None else c.uow.policy.autodialer_blocks()
    items = [_block_out(b) for b in blocks]
    return read_response(
        request, AutoDialerBlocksOut(items=items, total=len(items)).model_dump_json().encode()
    )


@router.delete(
    "/sip/autodialer-blocks/{subject_kind}/{subject_id}",
    status_code=204,
    response_class=Response,
    summary="Clear an auto-dialer block",
    tags=["sip"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(
        "operations.sip.update",
        "SIP-4: the operator lets an account (`account`) or a customer trunk (`trunk`) call out "
        "again; every SIP node applies it within a few seconds. 404 when it is not blocked.",
    ),
)
async def clear_autodialer_block(
    subject_kind: Literal["account", "trunk"],
    subject_id: ID,
    request: Request,
    claims: Claims = Depends(current_claims),
) -> Response:
    subject = Subject(subject_kind, subject_id)

    def work(c: Call) -> bool:
        _operator(c)
        c.require("operations.sip.update")
        store = c.uow.policy
        if c.runtime.platform.sip is not None:  # cleared through the policy: written behind in order
            return any(b.subject == subject for b in store.autodialer_blocks())
        found = store.delete_autodialer_block(subject)
        c.uow.commit()
        return found

    stored = await in_call(request, claims, work)
    runtime = api_runtime(request).platform.sip
    cleared = False
    if runtime is not None:
        cleared = runtime.policy.clear_autodialer_block(subject_id, subject_kind)
        await runtime.policy_state.flush()
    if not (stored or cleared):
        raise NotFound("auto-dialer block", f"{subject_kind}/{subject_id}")
    return write_response(None, 204)


# --- SIP-5: the daily outbound spending cap -----------------------------------------------------------


class CallLimitsChange(Input):
    """SIP-5: the account's daily outbound spending cap, EUR excl. VAT per Brussels day."""

    daily_spend_cap: Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), decimal_places=2)]


class CallLimitsOut(Output):
    """SIP-5: an account's daily spending cap (null: none) and, where SIP runs, today's spend."""

    account_id: str
    daily_spend_cap: Decimal | None
    updated_at: datetime | None
    spent_today: Decimal | None = Field(
        default=None,
        description="Outbound spend today as this process's SIP node counted it (null: no SIP here)",
    )


def _customer(c: Call, account_id: str) -> None:
    _operator(c)
    party = c.uow.parties.find(account_id)
    if party is None or party.kind is not PartyKind.CUSTOMER:
        raise NotFound("account", account_id)


def _limits_out(c: Call, account_id: str) -> CallLimitsOut:
    found = c.uow.policy.spend_cap(account_id)
    runtime = c.runtime.platform.sip
    return CallLimitsOut(
        account_id=account_id,
        daily_spend_cap=found.daily_spend_cap if found else None,
        updated_at=found.updated_at if found else None,
        spent_today=runtime.policy.spend.spent(account_id) if runtime is not None else None,
    )


@router.get(
    "/call-limits/{account_id}",
    response_model=CallLimitsOut,
    summary="Read an account's daily spending cap",
    tags=["sip"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described("operations.call-limits.read", "SIP-5: the account's daily outbound spending cap."),
)
def get_call_limits(account_id: ID, request: Request, c: Call = Depends(call)) -> Response:
    _customer(c, account_id)
    c.require("operations.call-limits.read")
    return read_response(request, _limits_out(c, account_id).model_dump_json().encode())


@router.put(
    "/call-limits/{account_id}",
    response_model=CallLimitsOut,
    summary="Set an account's daily spending cap",
    tags=["sip"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described(
        "operations.call-limits.update",
        "SIP-5: once today's outbound calls (priced with the retail tariffs, per second, rounded up "
        "per call) reach the cap, the account's outbound calls are refused citing SIP-5 until the "
        "next Brussels day; a call in progress is cut when it has spent what was left. Emergency "
        "calls are never refused nor cut (EMG-4).",
    ),
)
def set_call_limits(account_id: ID, body: CallLimitsChange, c: Call = Depends(call)) -> Response:
    _customer(c, account_id)
    c.require("operations.call-limits.update")
    c.uow.policy.set_spend_cap(account_id, body.daily_spend_cap, c.ctx.clock.now())
    data = _limits_out(c, account_id).model_dump_json().encode()
    c.uow.commit()
    return write_response(data)


@router.delete(
    "/call-limits/{account_id}",
    status_code=204,
    response_class=Response,
    summary="Clear an account's daily spending cap",
    tags=["sip"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described("operations.call-limits.update", "SIP-5: the account has no daily spending cap any more."),
)
def clear_call_limits(account_id: ID, c: Call = Depends(call)) -> Response:
    _customer(c, account_id)
    c.require("operations.call-limits.update")
    c.uow.policy.set_spend_cap(account_id, None, c.ctx.clock.now())
    c.uow.commit()
    return write_response(None, 204)
