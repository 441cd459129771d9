"""The Telavox UCaaS resale (BIL-8): ``/ucaas``.

The catalogue; activations by the customer or its partner (billed only once the provider's
confirmation is recorded, pro rata as activated, alarm and lift lines refused); the operator's
monthly billing (once per activation and month, BIL-9) and retroactive licences on abuse.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, MonthText, Output
from nuage.directory.model import LinePurpose
from nuage.resale.ucaas import Activation, UcaasKind
from nuage.services.support import ucaas
from nuage.shared.month import Month

UC_READ, UC_CREATE, UC_UPDATE = "resale.ucaas.read", "resale.ucaas.create", "resale.ucaas.update"
UC_CONFIRM, UC_BILL = "resale.ucaas.confirm", "billing.ucaas.bill"

router = APIRouter(tags=["support"])


class CatalogueItemOut(Output):
    """BIL-8: one item of the Telavox catalogue, per month excluding VAT."""

    code: str
    kind: UcaasKind
    name: str
    monthly_price: Decimal


class CatalogueOut(Output):
    """BIL-8: the resale catalogue."""

    items: list[CatalogueItemOut]


class ActivationBody(Input):
    """BIL-8: a quantity of a catalogue item for an account; alarm and lift lines are refused."""

    account_id: Id
    item_code: Annotated[str, Field(min_length=1, max_length=40)]
    quantity: Annotated[int, Field(ge=1, le=10_000)] = 1
    purpose: LinePurpose = LinePurpose.TELEPHONY


class ConfirmBody(Input):
    """BIL-8: the day the upstream provider confirmed the activation (default today)."""

    on: date | None = None


class ActivationOut(Output):
    """BIL-8: an activation; billed from ``active_from`` (None: not confirmed yet) to ``active_until``."""

    id: str
    account_id: str
    item_code: str
    quantity: int
    active_from: date | None
    active_until: date | None


class ActivationPage(Output):
    """BIL-8: an account's activations."""

    items: list[ActivationOut]


class BillBody(Input):
    """BIL-8: the month (over) to bill as activated."""

    month: MonthText


class BilledOut(Output):
    """BIL-8/BIL-9: how many activations were charged for the month (none twice)."""

    month: str
    charged: int


class RetroactiveBody(Input):
    """BIL-8 (abuse): how many user licences were missing, and the evidence (a note, a finding's key)."""

    missing: Annotated[int, Field(ge=1, le=10_000)]
    evidence: Annotated[str, Field(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9_.:#/-]+$")]


class LineOut(Output):
    """BIL-10: a line waiting for the next invoice: its rule, amount and what it comes from."""

    rule_id: str
    amount: Decimal
    description_params: dict[str, str]
    sources: list[tuple[str, str]]


def _activation(found: Activation) -> ActivationOut:
    return ActivationOut.model_validate(found, from_attributes=True)


@router.get(
    "/ucaas/catalogue",
    response_model=CatalogueOut,
    summary="The Telavox UCaaS catalogue",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        UC_READ,
        "BIL-8: licences, shared extensions, features and add-ons with their monthly price: with "
        "`account_id`, that account's price list's (BIL-2), else the default prices.",
    ),
)
def read_catalogue(
    request: Request,
    account_id: Annotated[
        str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    ] = None,
    c: Call = Depends(call),
) -> Response:
    c.require(UC_READ)
    items = ucaas.catalogue(c.uow, c.ctx, account_id)
    out = CatalogueOut(items=[CatalogueItemOut.model_validate(i, from_attributes=True) for i in items])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/ucaas/activations",
    response_model=ActivationOut,
    status_code=201,
    summary="Activate a Telavox item",
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("CFG-5")),
    **described(UC_CREATE, "BIL-8: request an item for an account; billed once the upstream confirms it."),
)
def activate(body: ActivationBody, c: Call = Depends(call)) -> Response:
    c.require(UC_CREATE)
    found = ucaas.activate(c.uow, c.ctx, body.account_id, body.item_code, body.quantity, body.purpose)
    return write_response(_activation(found).model_dump_json().encode(), 201)


@router.get(
    "/customers/{id}/ucaas/activations",
    response_model=ActivationPage,
    summary="A customer's Telavox activations",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(UC_READ, "BIL-8: what is activated, since and until when."),
)
def list_activations(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(UC_READ)
    out = ActivationPage(items=[_activation(a) for a in ucaas.list_activations(c.uow, c.ctx, id)])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/ucaas/activations/{id}/confirmation",
    response_model=ActivationOut,
    summary="Record the upstream's confirmation",
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(UC_CONFIRM, "BIL-8: the provider confirmed the activation (operator): billed from that day."),
)
def confirm(id: ID, body: ConfirmBody, c: Call = Depends(call)) -> Response:
    c.require(UC_CONFIRM)
    return write_response(_activation(ucaas.confirm(c.uow, c.ctx, id, body.on)).model_dump_json().encode())


@router.post(
    "/ucaas/activations/{id}/deactivation",
    response_model=ActivationOut,
    summary="Deactivate a Telavox item",
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(UC_UPDATE, "BIL-8: stop the item from today (today is no longer billed)."),
)
def deactivate(id: ID, c: Call = Depends(call)) -> Response:
    c.require(UC_UPDATE)
    return write_response(_activation(ucaas.deactivate(c.uow, c.ctx, id)).model_dump_json().encode())


@router.post(
    "/ucaas/billing",
    response_model=BilledOut,
    summary="Bill a month of Telavox activations",
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(
        UC_BILL, "BIL-8/BIL-9: each activation's pro rata line for the month on the next invoice, once."
    ),
)
def bill(body: BillBody, c: Call = Depends(call)) -> Response:
    c.require(UC_BILL)
    month = Month.parse(body.month)
    made = ucaas.bill_month(c.uow, c.ctx, month)
    return write_response(BilledOut(month=str(month), charged=made).model_dump_json().encode())


@router.post(
    "/customers/{id}/ucaas/retroactive-licences",
    response_model=LineOut,
    status_code=201,
    summary="Add Telavox licences retroactively (abuse)",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        UC_BILL,
        "BIL-8 (abuse): missing user licences billed from the contract start to last month, on one line "
        "of the next invoice citing the evidence (operator; once per evidence).",
    ),
)
def add_retroactive_licences(id: ID, body: RetroactiveBody, c: Call = Depends(call)) -> Response:
    c.require(UC_BILL)
    line = ucaas.add_retroactive_licences(c.uow, c.ctx, id, body.missing, body.evidence)
    out = LineOut(
        rule_id=line.rule_id,
        amount=line.amount,
        description_params=dict(line.description_params),
        sources=[(s.kind, s.key) for s in line.sources],
    )
    return write_response(out.model_dump_json().encode(), 201)
