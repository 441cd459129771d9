"""Suspension for non-payment (PAY-1, PAY-3, PAY-4): minimum service and its restoration.

* ``arrears_parties``: who is suspended for arrears, by the contracting party whose debt it is;
* ``suspend`` / ``restore``: a direct customer itself, a partner in default with all its final
  customers (PAY-4); the subscription and billing go on (PAY-1);
* ``suspend_partner_customers`` / ``move_partner_customers``: PAY-4, the operator's remedies
  against a defaulting partner.
"""

from __future__ import annotations

from nuage.errors import InvalidInput
from nuage.payments.dunning import suspended_for_arrears, suspension_reason
from nuage.services import tenancy
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.tenancy.model import Party, PartyKind, PartyStatus
from nuage.tenancy.rules import contracting_party_id


def arrears_parties(uow: BillingUnitOfWork) -> dict[str, list[Party]]:
    """PAY-1: parties suspended for non-payment, by the contracting party whose debt it is."""
    found: dict[str, list[Party]] = {}
    for party in uow.parties.list(status=PartyStatus.SUSPENDED.value):
        if not suspended_for_arrears(party.status_reason):
            continue
        key = contracting_party_id(party) if party.kind is PartyKind.CUSTOMER else party.id
        found.setdefault(key, []).append(party)
    return found


def suspend(
    uow: BillingUnitOfWork, ctx: Context, party_id: str, invoice_numbers: tuple[str, ...] = ()
) -> list[Party]:
    """PAY-1/PAY-3: suspend to minimum service (emergency calls only) for unpaid invoices.

    A direct customer is suspended itself. A partner in default (PAY-4) is suspended with all
    its final customers. The subscription goes on: recurring billing continues (PAY-1).
    """
    party = uow.parties.get(party_id)
    reason = suspension_reason(invoice_numbers)
    targets = [party]
    if party.kind is PartyKind.PARTNER:
        targets += tenancy.list_customers(uow, ctx, partner_id=party.id)
        reason += f"; PAY-4: partner {party.name} in default"
    changed = []
    for target in targets:
        if target.status is PartyStatus.ACTIVE:
            changed.append(tenancy.set_status(uow, ctx, target.id, PartyStatus.SUSPENDED, reason))
    return changed


def restore(uow: BillingUnitOfWork, ctx: Context, party_id: str) -> list[Party]:
    """PAY-1: full service again for a party suspended for non-payment (a partner: with its customers)."""
    party = uow.parties.get(party_id)
    key = contracting_party_id(party) if party.kind is PartyKind.CUSTOMER else party.id
    targets = arrears_parties(uow).get(key, [])
    if (
        party.kind is PartyKind.CUSTOMER
        and party not in targets
        and suspended_for_arrears(party.status_reason)
    ):
        targets.append(party)
    return [
        tenancy.set_status(
            uow, ctx, target.id, PartyStatus.ACTIVE, "PAY-1: overdue invoices paid, service restored"
        )
        for target in targets
        if target.status is PartyStatus.SUSPENDED and suspended_for_arrears(target.status_reason)
    ]


def suspend_partner_customers(uow: BillingUnitOfWork, ctx: Context, partner_id: str) -> list[Party]:
    """PAY-4: the operator suspends every final customer of a defaulting partner at once."""
    partner = uow.parties.get(partner_id)
    if partner.kind is not PartyKind.PARTNER:
        raise InvalidInput("partner_id", f"{partner_id} is not a partner")
    return suspend(uow, ctx, partner_id)


def move_partner_customers(
    uow: BillingUnitOfWork, ctx: Context, partner_id: str, new_partner_id: str | None
) -> list[Party]:
    """PAY-4: move every final customer of a defaulting partner to direct or to another partner.

    Each keeps its whole configuration (``tenancy.move_customer``) and is invoiced by its new
    contracting party from the next run on (TEN-5). A customer suspended only because of the
    old partner's arrears gets its service back (its new contracting party owes nothing).
    """
    moved = []
    for customer in tenancy.list_customers(uow, ctx, partner_id=partner_id):
        updated = tenancy.move_customer(uow, ctx, customer.id, new_partner_id)
        if updated.status is PartyStatus.SUSPENDED and suspended_for_arrears(updated.status_reason):
            updated = tenancy.set_status(
                uow, ctx, updated.id, PartyStatus.ACTIVE, "PAY-4: moved away from a defaulting partner"
            )
        moved.append(updated)
    return moved
