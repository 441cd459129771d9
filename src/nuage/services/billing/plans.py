"""Price plans (BIL-2): the plans by id as a use case loads them, and which plan a party is billed with."""

from __future__ import annotations

from nuage.billing.plans import PricePlan, plan_from_lists
from nuage.errors import NotFound
from nuage.services.billing.common import require_operator
from nuage.services.billing.defaults import DEFAULT_PLAN_ID
from nuage.services.billing.ports import BillingStore, BillingUnitOfWork
from nuage.services.context import Context
from nuage.tenancy.model import Party


class PlanBook:
    """BIL-2: price plans by id, loaded once per use case."""

    def __init__(self, store: BillingStore) -> None:
        self._store = store
        self._plans: dict[str, PricePlan] = {}
        self._assignments = store.plan_assignments()

    def for_customer(self, customer: Party) -> PricePlan:
        plan_id = self._assignments.get(customer.id)
        if plan_id is None and customer.partner_id is not None:
            plan_id = self._assignments.get(customer.partner_id)
        return self.get(plan_id or DEFAULT_PLAN_ID)

    def get(self, plan_id: str) -> PricePlan:
        if plan_id not in self._plans:
            lists = self._store.price_lists(plan_id)
            if not lists:
                raise NotFound("price plan", plan_id)
            self._plans[plan_id] = plan_from_lists(plan_id, lists)
        return self._plans[plan_id]


def assign_plan(uow: BillingUnitOfWork, ctx: Context, party_id: str, plan_id: str) -> None:
    """BIL-2: the plan whose prices a customer (or all of a partner's customers) is billed with."""
    require_operator(ctx)
    uow.parties.get(party_id)
    PlanBook(uow.billing).get(plan_id)
    uow.billing.assign_plan(party_id, plan_id, ctx.clock.now())
    uow.commit()
