"""Invoice documents (BIL-4, BIL-10, TEN-2, TEN-4): the PDF and validated Peppol UBL of an issued invoice.

* ``invoice_document``: what an invoice's documents show: its stored lines and what was frozen
  when it was issued (``documents.snapshot``), never the parties as they are today;
* ``render_documents``: both files rendered once and kept with their SHA-256, the UBL validated
  offline first (an invalid e-invoice is refused with the failing rule named, nothing stored);
  the stored bytes are what every later read (API, CLI, e-mail) gets;
* ``render_copy``: a copy in another language, neither stored nor sent;
* ``list_documents`` / ``document_file``: every document with its files (portal, API, CLI).

Rendering and validation go through the ``DocumentRenderer`` and ``EInvoiceValidator`` ports,
handed over with the operator's payment settings as ``DocumentTools`` (``Platform.documents``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import IssuedInvoice
from nuage.documents.messages import check_language
from nuage.documents.model import DocumentInput
from nuage.documents.snapshot import FrozenDocument, decode, document_from, encode, frozen_parties
from nuage.documents.ubl import build_ubl
from nuage.errors import Conflict, InvalidInput
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.common import ALL, operator_party, sha256, visible_invoice
from nuage.services.payments.ports import DocumentRenderer, EInvoiceValidator, InvoiceSnapshot, StoredDocument
from nuage.shared.month import Month
from nuage.terms.counting import MonthlySummary


@dataclass(frozen=True)
class DocumentTools:
    """BIL-4/PAY-1: what documents are made with: the payment settings and the two document ports."""

    settings: PaymentSettings
    renderer: DocumentRenderer
    validator: EInvoiceValidator


def _summaries(uow: BillingUnitOfWork, issued: IssuedInvoice) -> tuple[MonthlySummary, ...]:
    """CNT-1: the frozen monthly summaries the lines cite (never changed once frozen)."""
    draft = issued.draft
    if draft.period is None:
        return ()
    found = []
    for customer_id in draft.customer_ids:
        summary = uow.billing.summary(customer_id, draft.period) or uow.billing.latest_summary(customer_id)
        if summary is not None and summary.month <= draft.period:
            found.append(summary)
    return tuple(found)


def _frozen(uow: BillingUnitOfWork, ctx: Context, stored: StoredInvoice) -> FrozenDocument:
    """BIL-4: what an invoice shows, as frozen at issue (a snapshot whose hash fails is refused).

    An invoice that has none (issued by a store that kept none) is frozen now, once, from the
    parties of today, like those the migration froze.
    """
    number = stored.issued.number
    snapshot = uow.payments.find_snapshot(number)
    if snapshot is not None:
        if sha256(snapshot.content.encode()) != snapshot.sha256:
            raise Conflict(f"BIL-4: the frozen content of {number} does not match its hash", number=number)
        return decode(snapshot.content)
    draft = stored.issued.draft
    buyer = uow.parties.get(draft.invoiced_party_id)
    partner = uow.parties.find(buyer.partner_id) if buyer.partner_id else None
    names = {}
    for customer_id in draft.customer_ids:
        customer = uow.parties.find(customer_id)
        if customer is not None:
            names[customer_id] = customer.name
    frozen = frozen_parties(
        stored.issued.totals, operator=operator_party(uow), buyer=buyer, partner=partner, customer_names=names
    )
    content = encode(frozen)
    uow.payments.add_snapshots([InvoiceSnapshot(number, content, sha256(content.encode()), ctx.clock.now())])
    return frozen


def invoice_document(
    uow: BillingUnitOfWork, ctx: Context, number: str, settings: PaymentSettings
) -> DocumentInput:
    """BIL-4/BIL-10/TEN-2: everything an invoice's documents show: its lines and what was frozen at
    issue (parties, language, brand, bank, due date), with the CNT-1 summaries its lines cite."""
    stored = visible_invoice(uow, ctx, number)
    frozen = _frozen(uow, ctx, stored)
    return document_from(
        stored.issued,
        frozen,
        bank=settings.bank(operator_party(uow)) if frozen.bank is None else frozen.bank,
        payment_days=settings.payment_days,
        summaries=_summaries(uow, stored.issued),
    )


def render_documents(
    uow: BillingUnitOfWork, ctx: Context, number: str, tools: DocumentTools
) -> StoredDocument:
    """BIL-4: the PDF and validated UBL of an invoice, rendered once from what was frozen at issue
    and kept (with their SHA-256); from then on those bytes are the invoice's documents.

    The UBL is validated against the UBL 2.1 XSD and the EN 16931 rules first; a failure
    raises ``EInvoiceInvalid`` naming the rule, and nothing is stored or sent. The caller
    commits; when another transaction stored the files first, storing them again is a
    ``Conflict`` (read them again: they are the invoice's).
    """
    store = uow.payments
    existing = store.find_document(number)
    if existing is not None:
        visible_invoice(uow, ctx, number)  # TEN-4 still applies
        return existing
    doc = invoice_document(uow, ctx, number, tools.settings)
    ubl = build_ubl(doc)
    tools.validator.validate(number, ubl)
    pdf = tools.renderer.render_pdf(doc)
    stored = StoredDocument(
        number=number,
        invoiced_party_id=doc.buyer.party_id,
        language=doc.language,
        brand=doc.brand.name,
        structured_reference=doc.structured_reference,
        due_on=doc.due_on,
        pdf=pdf,
        pdf_sha256=sha256(pdf),
        ubl=ubl,
        ubl_sha256=sha256(ubl),
        rendered_at=ctx.clock.now(),
    )
    store.add_document(stored)
    return stored


def render_copy(
    uow: BillingUnitOfWork, ctx: Context, number: str, tools: DocumentTools, language: str
) -> tuple[bytes, bytes]:
    """Languages/BIL-4: a copy of an invoice's PDF and UBL in another language (not stored, not sent)."""
    doc = replace(invoice_document(uow, ctx, number, tools.settings), language=check_language(language))
    ubl = build_ubl(doc)
    tools.validator.validate(number, ubl)
    return tools.renderer.render_pdf(doc), ubl


@dataclass(frozen=True)
class DocumentListing:
    """BIL-4: one invoice or credit note with its two files (portal and API)."""

    number: str
    document_type: str
    invoiced_party_id: str
    issue_on: date
    period: str | None
    gross: Decimal
    currency: str
    structured_reference: str | None
    pdf_sha256: str | None  # None: not rendered yet
    ubl_sha256: str | None
    credited_by: str | None


def list_documents(
    uow: BillingUnitOfWork, ctx: Context, *, period: Month | None = None
) -> list[DocumentListing]:
    """BIL-4/TEN-4: every invoice the caller may see, with its files when rendered."""
    party_ids = None if ctx.scope.visible_ids is None else sorted(ctx.scope.visible_ids)
    headers, _ = uow.billing.list_invoices(
        party_ids=party_ids, period=None if period is None else str(period), limit=ALL, offset=0
    )
    store = uow.payments
    listings = []
    for header in headers:
        stored = store.find_document(header.number)
        listings.append(
            DocumentListing(
                number=header.number,
                document_type=header.document_type.value,
                invoiced_party_id=header.invoiced_party_id,
                issue_on=header.issue_on,
                period=header.period,
                gross=header.gross,
                currency=header.currency,
                structured_reference=None if stored is None else stored.structured_reference,
                pdf_sha256=None if stored is None else stored.pdf_sha256,
                ubl_sha256=None if stored is None else stored.ubl_sha256,
                credited_by=header.credited_by,
            )
        )
    return listings


def document_file(
    uow: BillingUnitOfWork, ctx: Context, number: str, kind: str, tools: DocumentTools
) -> tuple[str, str, bytes]:
    """BIL-4: one file of an invoice: (file name, media type, bytes); ``kind`` is "pdf" or "ubl"."""
    if kind not in ("pdf", "ubl"):
        raise InvalidInput("kind", "a document file is 'pdf' or 'ubl'")
    stored = render_documents(uow, ctx, number, tools)
    if kind == "pdf":
        return f"{number}.pdf", "application/pdf", stored.pdf
    return f"{number}.xml", "application/xml", stored.ubl
