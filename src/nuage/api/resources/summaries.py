"""Monthly summaries (CNT-1): ``/billing/summaries`` and the state of their hash chains.

A customer reads its own frozen month-end counts, a partner its customers', the operator every
account's (TEN-4). Each summary carries its hash and the previous month's, so anyone can re-check
the chain; ``/billing/summaries/verification`` does it for every account the caller sees.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from nuage.api.caching import read_response
from nuage.api.crud import CONFLICT, FORBIDDEN, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import ID_PATTERN, Output
from nuage.services.billing import summaries

router = APIRouter()

READ = "billing.summaries.read"
AccountParam = Annotated[str, Query(min_length=1, max_length=40, pattern=ID_PATTERN)]


class SummaryOut(Output):
    """CNT-1: one frozen month-end count: the items, when it was frozen, its place in the chain."""

    account_id: str
    month: str
    items: dict[str, Decimal]
    frozen_at: datetime
    previous_hash: str
    hash: str


class SummaryListOut(Output):
    """CNT-1: an account's summaries, oldest first, their chain checked."""

    items: list[SummaryOut]


class BreakOut(Output):
    """CNT-1: the first link that does not hold."""

    month: str
    reason: str


class ChainOut(Output):
    """CNT-1: one account's chain."""

    account_id: str
    months: int
    first: str | None
    last: str | None
    last_hash: str | None
    intact: bool
    broken: BreakOut | None


class VerificationOut(Output):
    """CNT-1: every chain the caller sees; ``intact`` only when all hold."""

    intact: bool
    accounts: list[ChainOut]


@router.get(
    "/billing/summaries",
    response_model=SummaryListOut,
    summary="An account's monthly summaries",
    tags=["billing"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(READ, "CNT-1: the frozen month-end counts of an account, oldest first, chain checked."),
)
def list_summaries(request: Request, account_id: AccountParam, c: Call = Depends(call)) -> Response:
    c.require(READ)
    found = summaries.account_summaries(c.uow, c.ctx, account_id)
    out = SummaryListOut(
        items=[
            SummaryOut(
                account_id=s.account_id,
                month=str(s.month),
                items={kind.value: quantity for kind, quantity in s.items},
                frozen_at=s.frozen_at,
                previous_hash=s.previous_hash,
                hash=s.hash,
            )
            for s in found
        ]
    )
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/billing/summaries/verification",
    response_model=VerificationOut,
    summary="Verify the summaries' hash chains",
    tags=["billing"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(READ, "CNT-1: re-checks the hash chain of every account the caller sees."),
)
def verify_summaries(request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    states = summaries.chain_states(c.uow, c.ctx)
    out = VerificationOut(
        intact=all(state.intact for state in states),
        accounts=[
            ChainOut(
                account_id=state.account_id,
                months=state.months,
                first=None if state.first is None else str(state.first),
                last=None if state.last is None else str(state.last),
                last_hash=state.last_hash,
                intact=state.intact,
                broken=None
                if state.broken is None
                else BreakOut(month=str(state.broken.month), reason=state.broken.reason),
            )
            for state in states
        ],
    )
    return read_response(request, out.model_dump_json().encode())
