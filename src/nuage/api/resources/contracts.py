"""Contract life (CTR-1..4): ``/customers/{id}/contract``, its notice and its bankruptcy.

A notice is first previewed (``confirm`` false: the effective date and the early-termination
balance, nothing written), then confirmed (recorded, the balance invoiced). On the effective date
the customer's status becomes ``terminated`` and the SIP policy refuses its calls but emergency
ones; a bankruptcy stops service and billing from its proof date. Only the operator changes a
contract; the customer and its partner read it (TEN-4).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, Request, Response

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, INVALID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import Input, Name, Output
from nuage.services.billing import contract_reversals, contracts
from nuage.shared.clock import business_date
from nuage.terms.contract import Contract, service_interrupted

router = APIRouter()

READ, UPDATE = "billing.contracts.read", "billing.contracts.update"


class TerminationOut(Output):
    """CTR-2: when the notice was received and the first day without service."""

    received_on: date
    effective_on: date
    last_period: str


class ContractOut(Output):
    """CTR-1..4: a customer's contract: its start, its minimum term, a notice, a bankruptcy."""

    contract_id: str
    customer_id: str
    contracting_party_id: str
    start_on: date
    minimum_term_months: int
    minimum_term_end_on: date
    termination: TerminationOut | None
    bankruptcy_proof_on: date | None
    in_service_today: bool


class BalanceLineOut(Output):
    """CTR-3: one service of the previous invoice owed for the rest of the term."""

    item_kind: str | None
    quantity: Decimal
    unit_price: Decimal
    months: str
    amount: Decimal


class NoticeBody(Input):
    """CTR-2: the registered letter's date of receipt; ``confirm`` false only shows the outcome."""

    received_on: date
    requested_end_on: date | None = None
    confirm: bool = False


class NoticeOut(Output):
    """CTR-2/CTR-3: the contract with its notice, and the balance (invoiced once confirmed)."""

    confirmed: bool
    contract: ContractOut
    balance: Decimal
    balance_lines: list[BalanceLineOut]
    balance_invoice: str | None


class BankruptcyBody(Input):
    """CTR-4: the date of the proof of bankruptcy."""

    proof_on: date


def _contract_out(contract: Contract, today: date) -> ContractOut:
    termination = contract.termination
    return ContractOut(
        contract_id=contract.contract_id,
        customer_id=contract.customer_id,
        contracting_party_id=contract.contracting_party_id,
        start_on=contract.start_on,
        minimum_term_months=contract.minimum_term_months,
        minimum_term_end_on=contract.minimum_term_end_on,
        termination=None
        if termination is None
        else TerminationOut(
            received_on=termination.received_on,
            effective_on=termination.effective_on,
            last_period=str(termination.last_period),
        ),
        bankruptcy_proof_on=contract.bankruptcy_proof_on,
        in_service_today=not service_interrupted(contract, today),
    )


@router.get(
    "/customers/{id}/contract",
    response_model=ContractOut,
    summary="Get a customer's contract",
    tags=["contracts"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "CTR-1..4: the contract, its minimum term, a termination notice, a bankruptcy."),
)
def get_contract(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    state = contracts.contract_of(c.uow, c.ctx, id)
    c.uow.commit()  # a contract made from the first order on this read is kept
    out = _contract_out(state.contract, business_date(c.ctx.clock.now()))
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/customers/{id}/contract/notice",
    response_model=NoticeOut,
    summary="Preview or record a termination notice",
    tags=["contracts"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, INVALID),
    **described(
        UPDATE,
        "CTR-2: effective at the end of the current recurring period, nothing refunded; CTR-3: an "
        "early termination invoices the balance of the term. `confirm: false` only shows it.",
    ),
)
def give_notice(id: ID, body: NoticeBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    platform = c.runtime.platform
    outcome = contracts.give_notice(
        c.uow,
        c.ctx,
        id,
        body.received_on,
        requested_end_on=body.requested_end_on,
        settings=platform.payments,
        validator=platform.einvoice_validator,
        confirm=body.confirm,
    )
    draft = outcome.draft
    out = NoticeOut(
        confirmed=outcome.confirmed,
        contract=_contract_out(outcome.contract, business_date(c.ctx.clock.now())),
        balance=outcome.balance,
        balance_lines=[
            BalanceLineOut(
                item_kind=line.item_kind,
                quantity=line.quantity,
                unit_price=line.unit_price,
                months=str(dict(line.description_params).get("months", "")),
                amount=line.amount,
            )
            for line in (draft.lines if draft is not None else ())
        ],
        balance_invoice=None if outcome.balance_invoice is None else outcome.balance_invoice.issued.number,
    )
    return write_response(out.model_dump_json().encode(), 201 if outcome.confirmed else 200)


@router.post(
    "/customers/{id}/contract/bankruptcy",
    response_model=ContractOut,
    status_code=201,
    summary="Declare a customer's bankruptcy",
    tags=["contracts"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, INVALID),
    **described(UPDATE, "CTR-4: on proof, service is interrupted (but emergency calls) and billing stops."),
)
def declare_bankruptcy(id: ID, body: BankruptcyBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    contract = contracts.declare_bankruptcy(c.uow, c.ctx, id, body.proof_on)
    out = _contract_out(contract, business_date(c.ctx.clock.now()))
    return write_response(out.model_dump_json().encode(), 201)


class ReasonBody(Input):
    """Why the operator reverses it (kept in the contract's audit trail)."""

    reason: Name


class EventOut(Output):
    """CTR-2/CTR-4: one change of the contract's life: when, what, why, by whom."""

    at: datetime
    action: str
    detail: str
    actor_id: str


class EventsOut(Output):
    """The contract's audit trail, oldest first."""

    items: list[EventOut]


@router.post(
    "/customers/{id}/contract/notice/withdrawal",
    response_model=ContractOut,
    summary="Withdraw a termination notice",
    tags=["contracts"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, INVALID),
    **described(
        UPDATE,
        "CTR-2: a notice withdrawn by agreement before it takes effect; the CTR-3 balance invoice is "
        "credited by a credit note (BIL-4). After the end, a new order makes a new contract.",
    ),
)
def withdraw_notice(id: ID, body: ReasonBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    platform = c.runtime.platform
    contract = contract_reversals.withdraw_notice(
        c.uow,
        c.ctx,
        id,
        body.reason,
        validator=platform.einvoice_validator,
        settings=platform.payments,
    )
    out = _contract_out(contract, business_date(c.ctx.clock.now()))
    return write_response(out.model_dump_json().encode())


@router.post(
    "/customers/{id}/contract/bankruptcy/reversal",
    response_model=ContractOut,
    summary="Reverse a bankruptcy",
    tags=["contracts"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, INVALID),
    **described(UPDATE, "CTR-4: a bankruptcy recorded in error or reversed: service and billing resume."),
)
def reverse_bankruptcy(id: ID, body: ReasonBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    contract = contract_reversals.reverse_bankruptcy(c.uow, c.ctx, id, body.reason)
    out = _contract_out(contract, business_date(c.ctx.clock.now()))
    return write_response(out.model_dump_json().encode())


@router.get(
    "/customers/{id}/contract/events",
    response_model=EventsOut,
    summary="A contract's audit trail",
    tags=["contracts"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "CTR-2/CTR-4: notices, ends, bankruptcies and their reversals, with who and why."),
)
def contract_events(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    events = contracts.contract_history(c.uow, c.ctx, id)
    out = EventsOut(items=[EventOut.model_validate(event, from_attributes=True) for event in events])
    return read_response(request, out.model_dump_json().encode())
