"""Reads (BIL-4, TEN-4): the invoices a caller may see, listed or one by one."""

from __future__ import annotations

from nuage.errors import InvalidInput, NotFound
from nuage.services.billing.ports import BillingUnitOfWork, InvoiceHeader, StoredInvoice
from nuage.services.context import Context
from nuage.services.queries import Page
from nuage.shared.month import Month


def list_invoices(
    uow: BillingUnitOfWork,
    ctx: Context,
    *,
    period: Month | None = None,
    party_id: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[InvoiceHeader]:
    """BIL-4/TEN-4: invoices the caller may see (a partner its own, a customer its own), oldest first.

    ``customer_id`` keeps the invoices addressed to that customer or holding a line for it.
    """
    if limit < 1 or limit > 1000:
        raise InvalidInput("limit", "limit is 1 to 1000")
    if offset < 0:
        raise InvalidInput("offset", "offset is 0 or more")
    if customer_id is not None and not ctx.scope.can_see(customer_id):
        return Page([], 0, limit, offset)
    visible = ctx.scope.visible_ids
    party_ids: list[str] | None = None
    if party_id is not None:
        if not ctx.scope.can_see(party_id):
            return Page([], 0, limit, offset)
        party_ids = [party_id]
    elif visible is not None:
        party_ids = sorted(visible)
    headers, total = uow.billing.list_invoices(
        party_ids=party_ids,
        period=None if period is None else str(period),
        customer_id=customer_id,
        limit=limit,
        offset=offset,
    )
    return Page(headers, total, limit, offset)


def get_invoice(uow: BillingUnitOfWork, ctx: Context, number: str) -> StoredInvoice:
    """BIL-4/TEN-4: one invoice with its lines; another tenant's invoice is NotFound."""
    stored = uow.billing.find_invoice(number)
    if stored is None or not ctx.scope.can_see(stored.issued.draft.invoiced_party_id):
        raise NotFound("invoice", number)
    return stored
