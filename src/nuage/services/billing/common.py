"""What every billing use case shares: the job lock's name, the operator's guard (TEN-4), a month's
bounds as instants, the list of customers and a party as invoices address it (TEN-5).
"""

from __future__ import annotations

from datetime import datetime

from nuage.billing.vat import BillingParty
from nuage.billing.vat import PartyKind as BillingPartyKind
from nuage.errors import NotFound
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.shared.clock import business_midnight
from nuage.shared.month import Month
from nuage.tenancy.model import Party, PartyKind

BILLING_JOB = "nuage-billing"  # rating and billing runs hold this lock, one at a time


def require_operator(ctx: Context) -> None:
    """TEN-4: only the operator runs billing jobs; anyone else finds nothing."""
    if not ctx.scope.is_operator:
        raise NotFound("billing job", "-")


def month_start(month: Month) -> datetime:
    """The instant ``month`` starts (Brussels midnight of its first day)."""
    return business_midnight(month.first_day)


def month_end(month: Month) -> datetime:
    """The instant ``month`` ends (Brussels midnight of the next month's first day)."""
    return business_midnight(month.next().first_day)


def list_customers(uow: BillingUnitOfWork) -> list[Party]:
    """Every customer party, by id."""
    return uow.parties.list(kind=PartyKind.CUSTOMER.value, order_by=("id",))


def billing_party(party: Party) -> BillingParty:
    """TEN-5: the contracting party as the invoice addresses it."""
    kind = BillingPartyKind.PARTNER if party.kind is PartyKind.PARTNER else BillingPartyKind.DIRECT_CUSTOMER
    return BillingParty(
        party.id, party.name, kind, party.country, party.vat_number, True, party.language.value
    )
