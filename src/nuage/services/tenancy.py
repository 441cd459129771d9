"""Tenancy use cases (TEN-1..5, PAY-4): parties, orders, moves between partners."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.shared.ids import new_id
from nuage.shared.text import clean_name
from nuage.tenancy.identity import check_country, check_vat_number
from nuage.tenancy.model import (
    CapacityReading,
    Language,
    Order,
    OrderLine,
    Party,
    PartyKind,
    PartyStatus,
)
from nuage.tenancy.rules import TenantScope, check_move_target, scope_for

_BRANDING = (
    "brand_name",
    "brand_logo_url",
    "brand_primary_color",
    "brand_secondary_color",
    "brand_support_email",
    "brand_support_phone",
    "brand_portal_host",
)
_PROFILE = ("email", "phone", "vat_number", "enterprise_number", "street", "postal_code", "city", "country")


def _require_operator(ctx: Context, what: str) -> None:
    if not ctx.scope.is_operator:
        raise NotFound(what, "-")  # TEN-4: nothing reveals that the operator-only item exists


def _check_name(name: str) -> str:
    return clean_name(name)  # 1 to 200 characters, no control character


def _check_color(field: str, value: Any) -> None:
    if value is None:
        return
    text = str(value)
    if not (
        len(text) in (4, 7) and text.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in text[1:])
    ):
        raise InvalidInput(field, f"{field} must be a CSS hex colour like #1a2b3c")


def _profile(fields: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], f"Unknown field {sorted(unknown)[0]!r}")
    for color in ("brand_primary_color", "brand_secondary_color"):
        _check_color(color, fields.get(color))
    checked = dict(fields)
    if checked.get("country") is not None:
        checked["country"] = check_country(checked["country"])
    if checked.get("vat_number") is not None:
        checked["vat_number"] = check_vat_number(checked["vat_number"])
    return checked


def scope_of(uow: UnitOfWork, party_id: str) -> TenantScope:
    """TEN-4: the scope of a party: the operator sees all, a partner its customers."""
    party = uow.parties.get(party_id)
    customers = frozenset(p.id for p in uow.parties.list(partner_id=party.id, kind=PartyKind.CUSTOMER.value))
    return scope_for(party, customers)


def create_operator(uow: UnitOfWork, ctx: Context, name: str, **profile: Any) -> Party:
    """TEN-1: the one operator running the platform."""
    if uow.parties.count(kind=PartyKind.OPERATOR.value):
        raise Conflict("The platform already has its operator")
    party = Party(
        id=new_id("op"),
        kind=PartyKind.OPERATOR,
        name=_check_name(name),
        created_at=ctx.clock.now(),
        **_profile(profile, _PROFILE),
    )
    uow.parties.add(party)
    return party


def create_partner(
    uow: UnitOfWork, ctx: Context, name: str, language: Language = Language.EN, **fields: Any
) -> Party:
    """TEN-1, TEN-2: a partner, optionally white-labelled; only the operator creates partners."""
    _require_operator(ctx, "party")
    party = Party(
        id=new_id("ptn"),
        kind=PartyKind.PARTNER,
        name=_check_name(name),
        created_at=ctx.clock.now(),
        language=Language(language),
        **_profile(fields, _PROFILE + _BRANDING),
    )
    uow.parties.add(party)
    return party


def create_customer(
    uow: UnitOfWork,
    ctx: Context,
    name: str,
    partner_id: str | None = None,
    language: Language = Language.EN,
    capacity_reading: CapacityReading = CapacityReading.LITERAL,
    **fields: Any,
) -> Party:
    """TEN-1: a final customer, direct (no partner) or indirect (under a partner it may see)."""
    if partner_id is None:
        _require_operator(ctx, "party")
    else:
        ctx.scope.require(partner_id, "partner")
        partner = uow.parties.get(partner_id)
        if partner.kind is not PartyKind.PARTNER:
            raise NotFound("partner", partner_id)
    party = Party(
        id=new_id("cus"),
        kind=PartyKind.CUSTOMER,
        name=_check_name(name),
        created_at=ctx.clock.now(),
        partner_id=partner_id,
        language=Language(language),
        capacity_reading=CapacityReading(capacity_reading),
        **_profile(fields, _PROFILE),
    )
    uow.parties.add(party)
    return party


def get_party(uow: UnitOfWork, ctx: Context, party_id: str) -> Party:
    """A party the caller may see (TEN-4: others are NotFound)."""
    ctx.scope.require(party_id)
    return uow.parties.get(party_id)


def get_customer(uow: UnitOfWork, ctx: Context, customer_id: str) -> Party:
    """A final customer the caller may see."""
    ctx.scope.require(customer_id, "customer")
    party = uow.parties.find(customer_id)
    if party is None or party.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", customer_id)
    return party


def update_party(uow: UnitOfWork, ctx: Context, party_id: str, **fields: Any) -> Party:
    """Change a party's profile or branding (TEN-2); kind and partner do not change here."""
    party = get_party(uow, ctx, party_id)
    allowed = _PROFILE + ("name", "language") + (_BRANDING if party.kind is PartyKind.PARTNER else ())
    if party.kind is PartyKind.CUSTOMER:
        allowed += ("capacity_reading",)
    changes = _profile(
        {k: v for k, v in fields.items() if k not in ("name", "language", "capacity_reading")}, allowed
    )
    if "name" in fields:
        changes["name"] = _check_name(str(fields["name"]))
    if "language" in fields:
        changes["language"] = Language(fields["language"])
    if "capacity_reading" in fields:
        if party.kind is not PartyKind.CUSTOMER:
            raise InvalidInput("capacity_reading", "Only customers have a capacity reading")
        if not ctx.scope.is_operator:
            raise InvalidInput(
                "capacity_reading", "The capacity reading is a price-plan setting of the operator"
            )
        changes["capacity_reading"] = CapacityReading(fields["capacity_reading"])
    updated = replace(party, **changes)
    uow.parties.update(updated)
    return updated


def place_order(
    uow: UnitOfWork,
    ctx: Context,
    customer_id: str,
    *,
    terms_version: str,
    language: Language,
    accepted_by: str,
    service_start_on: date,
    minimum_term_months: int = 24,
    lines: list[OrderLine] | None = None,
    description: str = "",
) -> Order:
    """TEN-3: an order accepts the terms; it records their version, language and acceptance time."""
    customer = get_customer(uow, ctx, customer_id)
    if not terms_version.strip():
        raise InvalidInput("terms_version", "The order must name the version of the terms accepted")
    if not accepted_by.strip():
        raise InvalidInput("accepted_by", "The order must name who accepted the terms")
    if minimum_term_months < 1:
        raise InvalidInput("minimum_term_months", "The minimum term is at least one month")
    for index, line in enumerate(lines or []):
        if line.quantity < 1:
            raise InvalidInput(f"lines[{index}].quantity", "Quantities are at least 1")
    order = Order(
        id=new_id("ord"),
        customer_id=customer.id,
        placed_by_party_id=ctx.scope.viewer_id,
        terms_version=terms_version.strip(),
        language=Language(language),
        accepted_at=ctx.clock.now(),
        accepted_by=accepted_by.strip(),
        service_start_on=service_start_on,
        minimum_term_months=minimum_term_months,
        lines=list(lines or []),
        description=description,
    )
    uow.orders.add(order)
    return order


def move_customer(uow: UnitOfWork, ctx: Context, customer_id: str, new_partner_id: str | None) -> Party:
    """PAY-4: move a final customer to another partner or to direct, keeping its whole configuration.

    Only the operator moves customers. Nothing but ``partner_id`` changes: users, devices,
    numbers, trunks and settings stay attached to the customer's account, so invoices from the
    move on go to the new contracting party (TEN-5).
    """
    _require_operator(ctx, "customer")
    customer = get_customer(uow, ctx, customer_id)
    new_partner = uow.parties.get(new_partner_id) if new_partner_id else None
    check_move_target(customer, new_partner)
    if new_partner is None and customer.partner_id is None:
        raise InvalidInput("partner_id", "The customer is already direct")
    moved = replace(customer, partner_id=new_partner_id)
    uow.parties.update(moved)
    return moved


#: CTR-2/CTR-4: statuses a customer's contract decides (the contract's billing follows them)
_CONTRACT_STATUSES = {
    PartyStatus.BANKRUPT: ("CTR-4", "bankruptcy"),
    PartyStatus.TERMINATED: ("CTR-2", "notice"),
}


def set_status(uow: UnitOfWork, ctx: Context, party_id: str, status: PartyStatus, reason: str) -> Party:
    """PAY-1/PAY-3 suspension, CTR-4 bankruptcy, CTR-2 termination: the operator sets the status."""
    _require_operator(ctx, "party")
    party = uow.parties.get(party_id)
    if party.kind is PartyKind.CUSTOMER and status in _CONTRACT_STATUSES:
        rule, path = _CONTRACT_STATUSES[PartyStatus(status)]
        raise TermViolation(
            rule,
            f"A customer becomes {status} through its contract, so that billing follows: "
            f"POST /customers/{party_id}/contract/{path}",
            field="status",
        )
    changed = replace(
        party, status=PartyStatus(status), status_changed_at=ctx.clock.now(), status_reason=reason
    )
    uow.parties.update(changed)
    return changed


def list_customers(uow: UnitOfWork, ctx: Context, partner_id: str | None = None) -> list[Party]:
    """The final customers the caller may see, optionally those of one partner."""
    where: dict[str, Any] = {"kind": PartyKind.CUSTOMER.value}
    if partner_id is not None:
        where["partner_id"] = partner_id
    if ctx.scope.visible_ids is not None:
        where["id"] = sorted(ctx.scope.visible_ids)
    return uow.parties.list(order_by=("name", "id"), **where)
