"""What the payments use cases share (TEN-2, TEN-4): the operator, a visible invoice, a party's brand."""

from __future__ import annotations

import hashlib

from nuage.documents.model import Brand, brand_for
from nuage.errors import NotFound
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.tenancy.model import Party, PartyKind

ALL = 1_000_000  # a page size that means "every invoice"


def require_operator(ctx: Context) -> None:
    """TEN-4: only the operator runs the payments jobs; anyone else sees nothing."""
    if not ctx.scope.is_operator:
        raise NotFound("payments job", "-")


def operator_party(uow: BillingUnitOfWork) -> Party:
    """The operator (the seller of every invoice)."""
    operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
    if operator is None:
        raise NotFound("operator", "-")
    return operator


def visible_invoice(uow: BillingUnitOfWork, ctx: Context, number: str) -> StoredInvoice:
    """TEN-4: an invoice the caller may see; another tenant's is ``NotFound`` like a missing one."""
    stored = uow.billing.find_invoice(number)
    if stored is None or not ctx.scope.can_see(stored.issued.draft.invoiced_party_id):
        raise NotFound("invoice", number)
    return stored


def party_brand(uow: BillingUnitOfWork, party: Party) -> Brand:
    """TEN-2: the brand a party's documents and e-mails are presented under (``brand_for``)."""
    partner = uow.parties.find(party.partner_id) if party.partner_id else None
    return brand_for(party, operator_party(uow), partner)


def sha256(data: bytes) -> str:
    """The SHA-256 of a file, kept with it."""
    return hashlib.sha256(data).hexdigest()
