"""Read-only computed views of an account: capacity (CAP-1/2), audit (CNT-4), readiness (EMG-1..3)."""

from __future__ import annotations

from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.tenancy import get_customer
from nuage.shared.clock import business_date
from nuage.terms.audit import DeclarationAudit, audit_declaration
from nuage.terms.capacity import Capacity, account_capacity
from nuage.terms.emergency import EmergencyReadiness, check_emergency_readiness


def capacity_of(uow: UnitOfWork, ctx: Context, account_id: str) -> Capacity:
    """CAP-1/CAP-2/SIP-3: the account's channel capacity today (Brussels business date)."""
    customer = get_customer(uow, ctx, account_id)
    return account_capacity(
        uow.users.list(account_id=account_id),
        uow.packs.list(account_id=account_id),
        customer.capacity_reading,
        business_date(ctx.clock.now()),
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
