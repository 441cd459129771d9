"""Balances and dunning (PAY-1, PAY-2, PAY-3): ``/balances`` and ``/balances/{party_id}/dunning``.

A contracting party reads what it owes split into services, reminder fees and late interest
(what is invoiced and what waits for the next invoice), and where it stands in dunning: its
overdue invoices, the reminders sent and the next one, a suspension and what restores the
service. The operator reads every party's (TEN-4).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Depends, Request, Response

from nuage.api.caching import read_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import Output
from nuage.services.payments import payments
from nuage.services.payments.status import dunning_status

router = APIRouter()

READ = "billing.balances.read"


class BalanceOut(Output):
    """PAY-1/PAY-2: what a contracting party owes; negative: credit on its account."""

    party_id: str
    name: str
    billed: Decimal
    principal: Decimal
    fees: Decimal
    interest: Decimal
    received: Decimal
    balance: Decimal
    pending_fees: Decimal
    pending_interest: Decimal
    pending_other: Decimal
    total_due: Decimal
    overdue: Decimal


class BalancesOut(Output):
    """Every balance the caller may see."""

    items: list[BalanceOut]


class OverdueOut(Output):
    """PAY-1: one overdue invoice and its reminders."""

    number: str
    due_on: date
    outstanding: Decimal
    last_reminder: int | None
    last_reminder_on: date | None
    next_reminder: int | None
    next_reminder_on: date | None


class DunningOut(Output):
    """PAY-1/PAY-3: where the party stands and what restores its service."""

    party_id: str
    on: date
    overdue_total: Decimal
    overdue: list[OverdueOut]
    suspended: bool
    suspension_from: date | None
    explanation: str


@router.get(
    "/balances",
    response_model=BalancesOut,
    summary="List balances",
    tags=["payments"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(READ, "PAY-1/PAY-2: what each contracting party owes: services, fees, interest."),
)
def list_balances(request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    found = payments.balances(c.uow, c.ctx, c.runtime.platform.payments)
    out = BalancesOut(
        items=[
            BalanceOut(
                party_id=b.party_id,
                name=b.name,
                billed=b.billed,
                principal=b.principal,
                fees=b.fees,
                interest=b.interest,
                received=b.received,
                balance=b.balance,
                pending_fees=b.pending_fees,
                pending_interest=b.pending_interest,
                pending_other=b.pending_other,
                total_due=b.total_due,
                overdue=b.overdue,
            )
            for b in found
        ]
    )
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/balances/{party_id}/dunning",
    response_model=DunningOut,
    summary="A party's dunning status",
    tags=["payments"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "PAY-1/PAY-3: overdue invoices, reminders, a suspension and what restores service."),
)
def get_dunning(party_id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    status = dunning_status(c.uow, c.ctx, c.runtime.platform.payments, party_id)
    out = DunningOut(
        party_id=status.party_id,
        on=status.on,
        overdue_total=status.overdue_total,
        overdue=[OverdueOut.model_validate(invoice) for invoice in status.overdue],
        suspended=status.suspended,
        suspension_from=status.suspension_from,
        explanation=status.explanation,
    )
    return read_response(request, out.model_dump_json().encode())
