"""The operator's overview of every tenant, as data for the overview page and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.views import capacity_of, declaration_audit_of, emergency_readiness_of
from nuage.tenancy.model import Party, PartyKind


@dataclass(frozen=True)
class CustomerRow:
    """One customer line of the overview."""

    customer: Party
    partner: Party | None
    users: int
    billable_users: int
    devices: int
    numbers: int
    channels: int
    capacity_rule: str
    missing_users: int
    emergency_findings: int


@dataclass(frozen=True)
class Overview:
    """The operator, partners and customers with their computed figures."""

    operator: Party | None
    partners: list[Party]
    customers: list[CustomerRow]


def build_overview(uow: BillingUnitOfWork, ctx: Context) -> Overview:
    """Everything the overview page shows, computed by the same services as the API."""
    operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
    partners = uow.parties.list(kind=PartyKind.PARTNER.value, order_by=("name",))
    by_id = {p.id: p for p in partners}
    rows = []
    for customer in uow.parties.list(kind=PartyKind.CUSTOMER.value, order_by=("name",)):
        capacity = capacity_of(uow, ctx, customer.id)
        rows.append(
            CustomerRow(
                customer=customer,
                partner=by_id.get(customer.partner_id) if customer.partner_id else None,
                users=uow.users.count(account_id=customer.id),
                billable_users=capacity.billable_users,
                devices=uow.devices.count(account_id=customer.id),
                numbers=uow.numbers.count(account_id=customer.id),
                channels=capacity.channels,
                capacity_rule=capacity.rule_id,
                missing_users=declaration_audit_of(uow, ctx, customer.id).missing_users,
                emergency_findings=len(emergency_readiness_of(uow, ctx, customer.id).findings),
            )
        )
    return Overview(operator, partners, rows)
