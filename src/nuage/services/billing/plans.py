"""Price plans (BIL-1, BIL-2, CAP-1, PAY-2): the plans by id as a use case loads them, which plan a
party is billed with, new price-list versions, and the plan settings other rules read.

A new price-list version takes effect on a day that is not in the past (today or later); the
open-ended version of the same audience is closed on that day. Periods already invoiced keep
their invoices (BIL-9): a period is billed with the version valid on its first day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from nuage.billing.plans import DEFAULT_PLAN_ID, Audience, PriceList, PricePlan, plan_from_lists, plan_id_for
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.payments.dunning import InterestMode
from nuage.services.billing.common import require_operator
from nuage.services.billing.ports import BillingStore, BillingUnitOfWork
from nuage.services.context import Context
from nuage.shared.clock import business_date
from nuage.tenancy.model import CapacityReading, Party, PartyKind

MAX_PLAN_ID = 64


class PlanBook:
    """BIL-2: price plans by id, loaded once per use case."""

    def __init__(self, store: BillingStore) -> None:
        self._store = store
        self._plans: dict[str, PricePlan] = {}
        self._assignments = store.plan_assignments()

    def plan_id_of(self, party: Party) -> str:
        """BIL-2: the id of the plan a party is billed with (its own, its partner's, the default)."""
        return plan_id_for(party.id, party.partner_id, self._assignments, DEFAULT_PLAN_ID)

    def for_customer(self, customer: Party) -> PricePlan:
        return self.get(self.plan_id_of(customer))

    def get(self, plan_id: str) -> PricePlan:
        if plan_id not in self._plans:
            lists = self._store.price_lists(plan_id)
            if not lists:
                raise NotFound("price plan", plan_id)
            self._plans[plan_id] = plan_from_lists(plan_id, lists)
        return self._plans[plan_id]

    def capacity_reading(self, customer: Party, on: date) -> CapacityReading:
        """CAP-1: the capacity reading of the retail price list the customer is billed with on ``on``."""
        try:
            reading = self.for_customer(customer).price_list(Audience.CUSTOMER_RETAIL, on).capacity_reading
        except NotFound:
            return customer.capacity_reading
        return CapacityReading(reading)

    def interest_mode(self, party: Party, on: date) -> InterestMode | None:
        """PAY-2: the interest reading the party's plan names on ``on`` (None: the operator's setting)."""
        audience = Audience.PARTNER_WHOLESALE if party.kind is PartyKind.PARTNER else Audience.CUSTOMER_RETAIL
        try:
            return self.for_customer(party).price_list(audience, on).interest_reading
        except NotFound:
            return None


def assign_plan(uow: BillingUnitOfWork, ctx: Context, party_id: str, plan_id: str) -> None:
    """BIL-2: the plan whose prices a customer (or all of a partner's customers) is billed with."""
    require_operator(ctx)
    uow.parties.get(party_id)
    PlanBook(uow.billing).get(plan_id)
    uow.billing.assign_plan(party_id, plan_id, ctx.clock.now())
    uow.commit()


def list_plans(uow: BillingUnitOfWork, ctx: Context) -> list[PricePlan]:
    """BIL-2: every price plan with all its price-list versions (operator only)."""
    require_operator(ctx)
    book = PlanBook(uow.billing)
    return [book.get(plan_id) for plan_id in uow.billing.plan_ids()]


def get_plan(uow: BillingUnitOfWork, ctx: Context, plan_id: str) -> PricePlan:
    """BIL-2: one price plan with its versions."""
    require_operator(ctx)
    return PlanBook(uow.billing).get(plan_id)


def plan_assignments(uow: BillingUnitOfWork, ctx: Context) -> dict[str, str]:
    """BIL-2: the parties with a plan of their own (a partner's plan covers its customers)."""
    require_operator(ctx)
    return uow.billing.plan_assignments()


def publish_price_list(
    uow: BillingUnitOfWork, ctx: Context, plan_id: str, price_list: PriceList
) -> PriceList:
    """BIL-1/BIL-2: publish a price-list version of ``plan_id`` (a new plan if it has none) from its
    ``valid_from`` (today or later), closing the open-ended version of the same audience."""
    require_operator(ctx)
    plan_id = plan_id.strip()
    if not plan_id or len(plan_id) > MAX_PLAN_ID:
        raise InvalidInput("plan_id", f"A plan id has 1 to {MAX_PLAN_ID} characters")
    today = business_date(ctx.clock.now())
    if price_list.valid_from < today:
        raise TermViolation(
            "BIL-2",
            f"A price list takes effect today or later, not on {price_list.valid_from.isoformat()}: "
            "periods already invoiced keep their prices",
            field="valid_from",
        )
    if price_list.valid_to is not None:
        raise InvalidInput("valid_to", "A new version is open-ended: the next version closes it")
    store = uow.billing
    same = [p for p in store.price_lists(plan_id) if p.audience is price_list.audience]
    if any(p.version == price_list.version for p in same):
        raise Conflict(f"Price list {price_list.version!r} of {plan_id} already exists", field="version")
    latest = max(same, key=lambda p: p.valid_from, default=None)
    if latest is not None and latest.valid_from >= price_list.valid_from:
        raise TermViolation(
            "BIL-2",
            f"Version {latest.version} starts on {latest.valid_from.isoformat()}: a new version must start "
            "after it",
            field="valid_from",
        )
    others = [
        p
        for p in store.price_lists(plan_id)
        if latest is None or (p.audience, p.version) != (latest.audience, latest.version)
    ]
    closed: Iterable[PriceList] = ()
    if latest is not None and (latest.valid_to is None or latest.valid_to > price_list.valid_from):
        closed = (replace(latest, valid_to=price_list.valid_from),)
    plan_from_lists(plan_id, [*others, *closed, price_list])  # BIL-2: no two versions overlap
    for version in closed:
        store.close_price_list(plan_id, version.audience, version.version, price_list.valid_from)
    store.add_price_list(plan_id, price_list, ctx.clock.now())
    uow.commit()
    return price_list
