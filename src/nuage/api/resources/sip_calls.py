"""Call control of the live calls (issue #15): ``POST /sip/calls/{call_id}/transfer``, for the operator.

A blind transfer of a call in progress of this process's SIP node, as if the released party had
sent a REFER: the kept party (``caller`` by default) is reconnected to ``to`` (an extension, user
or number of the released party's account, or an external number: the call policy applies, the
new leg is that account's call). 202 once the target is being rung; the outcome shows in
``GET /sip/calls`` and the call records. Anyone but the operator's staff gets 404 (TEN-4), like
the live view; without SIP in the process 503 naming the upstream.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field

from nuage.api.caching import write_response
from nuage.api.crud import FORBIDDEN, INVALID, NOT_FOUND, described, responses
from nuage.api.deps import Call, current_claims, in_call
from nuage.api.deps import runtime as api_runtime
from nuage.api.errors import ErrorBody
from nuage.api.schemas import Input, Output
from nuage.api.tokens import Claims
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation, UpstreamUnavailable

UNAVAILABLE = {503: {"model": ErrorBody, "description": "SIP does not run in this process"}}
CONFLICT = {
    409: {"model": ErrorBody, "description": "The call is not answered, or already being transferred"}
}
REFUSED = {422: {"model": ErrorBody, "description": "A rule of the terms refuses the transfer (its rule ID)"}}

router = APIRouter()

CallId = Annotated[str, Path(min_length=1, max_length=256, description="The call's SIP Call-ID")]


class TransferIn(Input):
    """Where the kept party goes."""

    to: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z+*#._-]+$")]
    keep: Literal["caller", "callee"] = "caller"


class TransferOut(Output):
    """The transfer under way."""

    call_id: str
    to: str
    kept: Literal["caller", "callee"]


def _operator(c: Call) -> None:
    if not c.ctx.scope.is_operator:
        raise NotFound("sip view", "-")
    c.require("operations.sip.update")


@router.post(
    "/sip/calls/{call_id}/transfer",
    status_code=202,
    response_model=TransferOut,
    summary="Transfer a call in progress",
    tags=["sip"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID, CONFLICT, REFUSED, UNAVAILABLE),
    **described(
        "operations.sip.update",
        "Blind transfer: the kept party is reconnected to `to`, the other party released. The new "
        "leg is a call of the released party's account (TEN-4: a target of another account is "
        "refused; CAP-3, SIP-2, SIP-5 and EMG-4 apply as to any call).",
    ),
)
async def transfer_call(
    call_id: CallId, body: TransferIn, request: Request, claims: Claims = Depends(current_claims)
) -> Response:
    await in_call(request, claims, _operator)
    sip = api_runtime(request).platform.sip
    if sip is None:
        raise UpstreamUnavailable("sip", "SIP does not run in this process (started with --no-sip)")
    refused = await sip.server.transfer(call_id, body.to, keep=body.keep)
    if refused is not None:
        if refused.refusal is not None:
            raise TermViolation(refused.refusal.rule_id, refused.refusal.reason)
        if refused.status == 404 and refused.reason == "No Such Call":
            raise NotFound("call", call_id)
        if refused.status == 404:
            raise InvalidInput("to", f"{body.to!r} is no destination of the account")
        raise Conflict(f"the call cannot be transferred now: {refused.reason}", call_id=call_id)
    out = TransferOut(call_id=call_id, to=body.to, kept=body.keep)
    return write_response(out.model_dump_json().encode(), 202)
