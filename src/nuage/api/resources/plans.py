"""Price plans (BIL-1, BIL-2, CAP-1, PAY-2): ``/plans``: list, publish a price-list version, assign.

A price list is one version of a plan's prices for one audience (customer-retail or
partner-wholesale): a recurring price per counted item (per user, per number, per item), the
one-time fees (BIL-1) and the plan's settings: the CAP-1 capacity reading (read by the call
policy and the capacity view of every customer billed with the plan) and the PAY-2 interest
reading (null: the operator's setting). Operator only: the terms give partners no say on prices.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import Input, Output
from nuage.billing.charge_models import ChargeModelKind, ChargeSpec, Tier
from nuage.billing.plans import Audience, OneTimeKind, PriceList, PricePlan
from nuage.payments.dunning import InterestMode
from nuage.services.billing import plans
from nuage.terms.counting import ItemKind

router = APIRouter()

READ, WRITE, ASSIGN = "billing.plans.read", "billing.plans.create", "billing.plans.assign"
PLAN = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="plan id")]
Price = Annotated[Decimal, Field(ge=0, lt=1_000_000, decimal_places=4)]
ResaleCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]  # BIL-8: a catalogue item's code


class TierIO(Input):
    """BIL-2: a tier of a graduated or volume price (``up_to`` null: unbounded)."""

    up_to: Annotated[Decimal, Field(ge=0, lt=1_000_000, decimal_places=4)] | None = None
    unit_price: Price
    flat_fee: Price = Decimal(0)


class ChargeIO(Input):
    """BIL-2: a recurring price: per unit, or graduated/volume tiers."""

    model: ChargeModelKind = ChargeModelKind.PER_UNIT
    unit_price: Price = Decimal(0)
    tiers: list[TierIO] = Field(default_factory=list, max_length=20)


class PriceListIO(Input):
    """BIL-1/BIL-2/CAP-1/PAY-2: one version of a plan's prices for one audience."""

    version: str = Field(min_length=1, max_length=64)
    audience: Audience
    valid_from: date
    valid_to: date | None = None  # output only: set when the next version closes this one
    recurring: dict[ItemKind, ChargeIO] = Field(max_length=len(ItemKind))
    one_time: dict[OneTimeKind, Price] = Field(default_factory=dict, max_length=len(OneTimeKind))
    resale: dict[ResaleCode, Price] = Field(default_factory=dict, max_length=100)  # BIL-8: monthly
    capacity_reading: Literal["literal", "graduated"] = "literal"
    interest_reading: InterestMode | None = None
    run_day: int = Field(default=28, ge=1, le=28)


class PlanOut(Output):
    """BIL-2: a plan and its price-list versions, oldest first per audience."""

    plan_id: str
    price_lists: list[PriceListIO]


class PlansOut(Output):
    """BIL-2: every plan, and the parties with a plan of their own."""

    plans: list[PlanOut]
    assignments: dict[str, str]


class AssignmentIn(Input):
    """BIL-2: the plan a customer (or all of a partner's customers) is billed with."""

    plan_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")


def _price_list_io(p: PriceList) -> PriceListIO:
    return PriceListIO(
        version=p.version,
        audience=p.audience,
        valid_from=p.valid_from,
        valid_to=p.valid_to,
        recurring={
            kind: ChargeIO(
                model=spec.model,
                unit_price=spec.unit_price,
                tiers=[
                    TierIO(up_to=t.up_to, unit_price=t.unit_price, flat_fee=t.flat_fee) for t in spec.tiers
                ],
            )
            for kind, spec in p.recurring.items()
        },
        one_time=dict(p.one_time),
        resale=dict(p.resale),
        capacity_reading=p.capacity_reading,
        interest_reading=p.interest_reading,
        run_day=p.run_day,
    )


def _plan_out(plan: PricePlan) -> PlanOut:
    return PlanOut(plan_id=plan.plan_id, price_lists=[_price_list_io(p) for p in plan.price_lists])


@router.get(
    "/plans",
    response_model=PlansOut,
    summary="List the price plans",
    tags=["plans"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described(READ, "BIL-2: every plan with its price-list versions, and the plan assignments."),
)
def list_plans(request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    out = PlansOut(
        plans=[_plan_out(plan) for plan in plans.list_plans(c.uow, c.ctx)],
        assignments=plans.plan_assignments(c.uow, c.ctx),
    )
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/plans/{plan_id}",
    response_model=PlanOut,
    summary="Get a price plan",
    tags=["plans"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "BIL-2: a plan with its price-list versions."),
)
def get_plan(plan_id: PLAN, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    out = _plan_out(plans.get_plan(c.uow, c.ctx, plan_id))
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/plans/{plan_id}/price-lists",
    response_model=PriceListIO,
    status_code=201,
    summary="Publish or schedule a price-list version",
    tags=["plans"],
    responses=responses(FORBIDDEN, CONFLICT),
    **described(
        WRITE,
        "BIL-1/BIL-2: a new version from `valid_from` (today or later) closing the open-ended one of "
        "the audience; CAP-1 and PAY-2 readings are plan settings. A new plan id creates the plan.",
    ),
)
def publish_price_list(plan_id: PLAN, body: PriceListIO, c: Call = Depends(call)) -> Response:
    c.require(WRITE)
    price_list = PriceList(
        version=body.version,
        audience=body.audience,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        recurring={
            kind: ChargeSpec(
                charge.model,
                charge.unit_price,
                tuple(Tier(t.up_to, t.unit_price, t.flat_fee) for t in charge.tiers),
            )
            for kind, charge in body.recurring.items()
        },
        one_time=dict(body.one_time),
        resale=dict(body.resale),
        capacity_reading=body.capacity_reading,
        run_day=body.run_day,
        interest_reading=body.interest_reading,
    )
    published = plans.publish_price_list(c.uow, c.ctx, plan_id, price_list)
    return write_response(_price_list_io(published).model_dump_json().encode(), 201)


@router.put(
    "/parties/{id}/plan",
    response_model=AssignmentIn,
    summary="Assign a price plan to a customer or a partner",
    tags=["plans"],
    responses=responses(FORBIDDEN, NOT_FOUND),
    **described(ASSIGN, "BIL-2: a customer's plan, or a partner's (then its customers' without one)."),
)
def assign_plan(id: ID, body: AssignmentIn, c: Call = Depends(call)) -> Response:
    c.require(ASSIGN)
    plans.assign_plan(c.uow, c.ctx, id, body.plan_id)
    return write_response(AssignmentIn(plan_id=body.plan_id).model_dump_json().encode())
