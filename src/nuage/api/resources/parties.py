"""Partners and customers (TEN-1, TEN-2, TEN-4, PAY-4): ``/partners``, ``/customers``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response

from nuage.api.caching import write_response
from nuage.api.crud import FORBIDDEN, ID, INVALID, NOT_FOUND, Resource, described, dump, register, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import (
    City,
    Color,
    Country,
    Email,
    Id,
    Input,
    Name,
    Output,
    Phone,
    Street,
    Url,
    changes,
)
from nuage.services import tenancy as t
from nuage.tenancy.model import CapacityReading, Language, PartyKind, PartyStatus

ID_PATH = "/{id}"


class _Profile(Input):
    email: Email | None = None
    phone: Phone | None = None
    vat_number: Phone | None = None
    enterprise_number: Phone | None = None
    street: Street | None = None
    postal_code: Phone | None = None
    city: City | None = None
    country: Country | None = None


class _Branding(Input):
    brand_name: Name | None = None
    brand_logo_url: Url | None = None
    brand_primary_color: Color | None = None
    brand_secondary_color: Color | None = None
    brand_support_email: Email | None = None
    brand_support_phone: Phone | None = None
    brand_portal_host: Name | None = None


class PartnerCreate(_Profile, _Branding):
    """TEN-1/TEN-2: a partner, optionally white-labelled (brand_* fields)."""

    name: Name
    language: Language = Language.EN


class PartnerUpdate(_Profile, _Branding):
    """Change a partner's profile or branding (TEN-2)."""

    name: Name | None = None
    language: Language | None = None


class CustomerCreate(_Profile):
    """TEN-1: a final customer; with ``partner_id`` it is indirect (a partner's own customers by default)."""

    name: Name
    partner_id: Id | None = None
    language: Language = Language.EN
    capacity_reading: CapacityReading = CapacityReading.LITERAL


class CustomerUpdate(_Profile):
    """Change a customer's profile; ``capacity_reading`` (CAP-1) is the operator's price-plan setting."""

    name: Name | None = None
    language: Language | None = None
    capacity_reading: CapacityReading | None = None


class _PartyOut(Output):
    id: str
    name: str
    status: PartyStatus
    language: Language
    created_at: datetime
    email: str | None
    phone: str | None
    vat_number: str | None
    enterprise_number: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    country: str
    status_changed_at: datetime | None
    status_reason: str | None


class PartnerOut(_PartyOut):
    """A partner and its white-label branding (TEN-2)."""

    brand_name: str | None
    brand_logo_url: str | None
    brand_primary_color: str | None
    brand_secondary_color: str | None
    brand_support_email: str | None
    brand_support_phone: str | None
    brand_portal_host: str | None


class CustomerOut(_PartyOut):
    """A final customer: direct when ``partner_id`` is null (TEN-1)."""

    partner_id: str | None
    capacity_reading: CapacityReading


class StatusChange(Input):
    """PAY-1/PAY-3 suspension, CTR-4 bankruptcy, CTR-2 termination, or back to active."""

    status: PartyStatus
    reason: Street


class Move(Input):
    """PAY-4: the partner the customer moves to; null makes it direct."""

    partner_id: Id | None


def _fields(body: Input) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


def _create_partner(c: Call, body: PartnerCreate) -> Any:
    fields = _fields(body)
    name, language = fields.pop("name"), fields.pop("language", Language.EN)
    return t.create_partner(
        c.uow, c.ctx, name, language, **{k: v for k, v in fields.items() if v is not None}
    )


def _create_customer(c: Call, body: CustomerCreate) -> Any:
    fields = _fields(body)
    name = fields.pop("name")
    partner_id = fields.pop("partner_id", None)
    if partner_id is None and c.claims.account_kind == "partner":
        partner_id = c.claims.account_id  # a partner's customers are its own unless it says otherwise
    language = fields.pop("language", Language.EN)
    reading = fields.pop("capacity_reading", CapacityReading.LITERAL)
    if reading is not CapacityReading.LITERAL and not c.ctx.scope.is_operator:
        from nuage.errors import InvalidInput

        raise InvalidInput("capacity_reading", "The capacity reading is a price-plan setting of the operator")
    return t.create_customer(
        c.uow,
        c.ctx,
        name,
        partner_id,
        language,
        reading,
        **{k: v for k, v in fields.items() if v is not None},
    )


def _update(c: Call, key: str, body: Input) -> Any:
    fields = changes(body, "name", "language", "capacity_reading")
    return t.update_party(c.uow, c.ctx, key, **fields)


PARTNERS = Resource(
    path="/partners",
    area="tenancy",
    name="partners",
    tag="tenancy",
    noun="partner",
    out=PartnerOut,
    repo=lambda uow: uow.parties,
    owner_field="id",
    fixed={"kind": PartyKind.PARTNER.value},
    filters={"status": PartyStatus},
    order_fields=("name", "created_at"),
    create_body=PartnerCreate,
    create=_create_partner,
    update_body=PartnerUpdate,
    update=_update,
    rules="TEN-1, TEN-2.",
)

CUSTOMERS = Resource(
    path="/customers",
    area="tenancy",
    name="customers",
    tag="tenancy",
    noun="customer",
    out=CustomerOut,
    repo=lambda uow: uow.parties,
    owner_field="id",
    fixed={"kind": PartyKind.CUSTOMER.value},
    filters={"partner_id": Id, "status": PartyStatus},
    order_fields=("name", "created_at"),
    create_body=CustomerCreate,
    create=_create_customer,
    update_body=CustomerUpdate,
    update=_update,
    rules="TEN-1, TEN-4.",
)

router = APIRouter()
register(router, PARTNERS)
register(router, CUSTOMERS)


def _status_route(res: Resource, out: type[Output]) -> None:
    permission = res.permission("update-status")

    def change_status(id: ID, body: StatusChange, c: Call = Depends(call)) -> Response:
        res.fetch(c, id)
        c.require(permission)
        party = t.set_status(c.uow, c.ctx, id, body.status, body.reason)
        data = dump(out, party)
        c.uow.commit()
        return write_response(data)

    change_status.__name__ = f"set_{res.noun}_status"
    router.add_api_route(
        f"{res.path}/{{id}}/status",
        change_status,
        methods=["PUT"],
        response_model=out,
        summary=f"Set a {res.noun}'s status",
        tags=[res.tag],
        responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
        **described(
            permission, "PAY-1/PAY-3 suspension, CTR-4 bankruptcy, CTR-2 termination: the operator decides."
        ),
    )


_status_route(PARTNERS, PartnerOut)
_status_route(CUSTOMERS, CustomerOut)


@router.put(
    "/customers/{id}/partner",
    response_model=CustomerOut,
    summary="Move a customer to another partner or to direct",
    tags=["tenancy"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("PAY-4")),
    **described(
        "tenancy.customers.move",
        "PAY-4: the operator moves a final customer (e.g. of a defaulting partner) to another partner or to "
        "direct; its whole configuration stays.",
    ),
)
def move_customer(id: ID, body: Move, c: Call = Depends(call)) -> Response:
    CUSTOMERS.fetch(c, id)
    c.require("tenancy.customers.move")
    if body.partner_id is not None:
        c.ctx.scope.require(body.partner_id, "partner")
    moved = t.move_customer(c.uow, c.ctx, id, body.partner_id)
    data = dump(CustomerOut, moved)
    c.uow.commit()
    return write_response(data)
