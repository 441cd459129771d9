"""Read-only computed views of an account: capacity (CAP-1/2, SIP-3), audit (CNT-4), readiness
(EMG-1..3) and the EMG-2 caller-ID check across the customers the caller sees."""

from __future__ import annotations

from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.tenancy import get_customer, list_customers
from nuage.shared.clock import business_date
from nuage.terms.audit import DeclarationAudit, audit_declaration
from nuage.terms.capacity import Capacity, account_capacity
from nuage.terms.emergency import EmergencyReadiness, Finding, check_emergency_readiness


def capacity_of(uow: BillingUnitOfWork, ctx: Context, account_id: str) -> Capacity:
    """CAP-1/CAP-2/SIP-3: the account's channel capacity today (Brussels business date), with the
    CAP-1 reading of the price plan the customer is billed with and its trunks' channels."""
    customer = get_customer(uow, ctx, account_id)
    today = business_date(ctx.clock.now())
    return account_capacity(
        uow.users.list(account_id=account_id),
        uow.packs.list(account_id=account_id),
        PlanBook(uow.billing).capacity_reading(customer, today),
        today,
        uow.trunks.list(account_id=account_id),  # SIP-3
    )


def declaration_audit_of(
    uow: UnitOfWork, ctx: Context, account_id: str, registered_usernames: frozenset[str] = frozenset()
) -> DeclarationAudit:
    """CNT-4: the users the configuration requires against those declared."""
    get_customer(uow, ctx, account_id)
    return audit_declaration(
        uow.users.list(account_id=account_id),
        uow.devices.list(account_id=account_id),
        uow.rooms.list(account_id=account_id),
        registered_usernames,
    )


def emergency_readiness_of(uow: UnitOfWork, ctx: Context, account_id: str) -> EmergencyReadiness:
    """EMG-1..3: findings for the account's blocks, numbers, users, devices and trunks."""
    get_customer(uow, ctx, account_id)
    return check_emergency_readiness(
        uow.number_blocks.list(account_id=account_id),
        uow.numbers.list(account_id=account_id),
        uow.users.list(account_id=account_id),
        uow.devices.list(account_id=account_id),
        uow.trunks.list(account_id=account_id),
    )


def emergency_caller_id_findings(
    uow: UnitOfWork, ctx: Context, account_id: str | None = None
) -> list[tuple[str, Finding]]:
    """EMG-2: every device and trunk whose emergency caller ID would not locate the caller (no caller
    ID, a block without address, or a block elsewhere than its site), for one account or for every
    customer the caller sees (the operator: all), as (account id, finding)."""
    customers = [get_customer(uow, ctx, account_id)] if account_id else list_customers(uow, ctx)
    found: list[tuple[str, Finding]] = []
    for customer in customers:
        for finding in emergency_readiness_of(uow, ctx, customer.id).findings:
            if finding.rule_id == "EMG-2" and finding.item_kind in ("device", "trunk"):
                found.append((customer.id, finding))
    return found
