"""Orders (TEN-3): placing an order accepts the terms; ``/orders``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output, Short, Street
from nuage.services import tenancy as t
from nuage.tenancy.model import Language, OrderLine


class OrderLineBody(Input):
    """One item: a one-time fee (BIL-1) or a recurring service."""

    item: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    description: Street = ""


class OrderCreate(Input):
    """TEN-3: the terms version, language and who accepted them are recorded with the time."""

    customer_id: Id
    terms_version: Short
    language: Language
    accepted_by: Name
    service_start_on: date
    minimum_term_months: Annotated[int, Field(ge=1, le=240)] = 24  # CTR-1 default
    description: Street = ""
    lines: Annotated[list[OrderLineBody], Field(max_length=200)] = []


class OrderLineOut(Output):
    """One item of an order."""

    item: str
    quantity: int
    description: str


class OrderOut(Output):
    """TEN-3: an order and the acceptance of the terms it records."""

    id: str
    customer_id: str
    placed_by_party_id: str
    terms_version: str
    language: Language
    accepted_at: datetime
    accepted_by: str
    service_start_on: date
    minimum_term_months: int
    description: str
    lines: list[OrderLineOut]


def _create(c: Call, body: OrderCreate) -> Any:
    return t.place_order(
        c.uow,
        c.ctx,
        body.customer_id,
        terms_version=body.terms_version,
        language=body.language,
        accepted_by=body.accepted_by,
        service_start_on=body.service_start_on,
        minimum_term_months=body.minimum_term_months,
        lines=[OrderLine(line.item, line.quantity, line.description) for line in body.lines],
        description=body.description,
    )


ORDERS = Resource(
    path="/orders",
    area="tenancy",
    name="orders",
    tag="tenancy",
    noun="order",
    out=OrderOut,
    repo=lambda uow: uow.orders,
    owner_field="customer_id",
    filters={"customer_id": Id},
    order_fields=("accepted_at", "service_start_on"),
    create_body=OrderCreate,
    create=_create,
    rules="TEN-3.",
)

router = APIRouter()
register(router, ORDERS)
