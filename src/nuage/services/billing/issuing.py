"""Issuing (BIL-4): gapless numbers allocated in the issuing transaction, each document's e-invoice
validated before it is stored, and the correction of an issued invoice (credit note + replacement).

Every path that issues documents (monthly run, order fees, early termination, corrections,
the payments' charge invoices) goes through ``issue_documents``; a refused document takes no
number and is reported with its failing rule IDs. What each issued document shows (parties,
language, brand, bank, due date, amounts) is frozen with it (``documents.snapshot``), in the
same transaction: its PDF and UBL are rendered from that, whatever the parties become.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice, issue
from nuage.billing.invoices import void_and_regenerate as compose_correction
from nuage.billing.lines import InvoiceLine
from nuage.billing.numbering import CREDIT_NOTE_SERIES, INVOICE_SERIES, allocate_numbers
from nuage.billing.vat import vat_treatment
from nuage.documents.findings import EInvoiceInvalid
from nuage.documents.model import DocumentInput
from nuage.documents.snapshot import encode, frozen_document
from nuage.errors import Conflict, NotFound
from nuage.services.billing.common import BILLING_JOB, billing_party, require_operator
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import EInvoiceGate, PaymentSettings
from nuage.services.payments.ports import EInvoiceValidator, InvoiceSnapshot
from nuage.shared.clock import business_date


def issue_documents(
    uow: BillingUnitOfWork,
    drafts: Sequence[InvoiceDraft],
    kind: str,
    at: datetime,
    gate: EInvoiceGate,
) -> tuple[list[StoredInvoice], dict[str, EInvoiceInvalid]]:
    """BIL-4: number, validate and store drafts; return those issued and those refused (by run key).

    Numbers are allocated under the counter's row lock; each document's Peppol UBL is built and
    validated with its number before anything is stored. A refused document is left out and the
    others renumbered, so the counter only moves over issued documents (gapless). What each
    document shows is frozen with it (``snapshot_of``).
    """
    store = uow.billing
    issued: list[StoredInvoice] = []
    refused: dict[str, EInvoiceInvalid] = {}
    for series, document_type in (
        (INVOICE_SERIES, DocumentType.INVOICE),
        (CREDIT_NOTE_SERIES, DocumentType.CREDIT_NOTE),
    ):
        wanted = [draft for draft in drafts if draft.document_type is document_type]
        by_year: dict[int, list[InvoiceDraft]] = {}
        for draft in wanted:
            by_year.setdefault(draft.issue_on.year, []).append(draft)
        for year, year_drafts in sorted(by_year.items()):
            last = store.locked_last_number(series, year)
            candidates = year_drafts
            documents: list[IssuedInvoice] = []
            while candidates:
                numbers = allocate_numbers(series, year, last, len(candidates))
                documents = [
                    issue(draft, number, at) for number, draft in zip(numbers, candidates, strict=True)
                ]
                failures = gate.refusals(documents)
                if not failures:
                    break
                for index, error in failures.items():
                    refused[candidates[index].run_key] = error
                candidates = [draft for index, draft in enumerate(candidates) if index not in failures]
                documents = []
            if not documents:
                continue
            invoice_ids = store.add_invoices(documents, kind)
            uow.payments.add_snapshots([snapshot_of(gate.document(document), at) for document in documents])
            issued.extend(map(StoredInvoice, invoice_ids, documents))
            store.set_last_number(series, year, documents[-1].number)
    order = {draft.run_key: index for index, draft in enumerate(drafts)}
    return sorted(issued, key=lambda stored: order[stored.issued.draft.run_key]), refused


def issue_all(
    uow: BillingUnitOfWork,
    drafts: Sequence[InvoiceDraft],
    kind: str,
    at: datetime,
    settings: PaymentSettings | None,
    validator: EInvoiceValidator,
) -> list[StoredInvoice]:
    """BIL-4: issue every draft or none: a refused e-invoice raises ``EInvoiceInvalid`` (rolled back)."""
    gate = EInvoiceGate(uow, settings, validator=validator)
    issued, refused = issue_documents(uow, drafts, kind, at, gate)
    if refused:
        raise next(iter(refused.values()))
    return issued


def snapshot_of(doc: DocumentInput, at: datetime) -> InvoiceSnapshot:
    """BIL-4: what ``doc`` shows, frozen (canonical text and its SHA-256)."""
    content = encode(frozen_document(doc))
    return InvoiceSnapshot(doc.number, content, hashlib.sha256(content.encode()).hexdigest(), at)


@dataclass(frozen=True)
class Correction:
    """BIL-4: the credit note voiding an invoice and the invoice that replaces it."""

    credit_note: StoredInvoice
    replacement: StoredInvoice | None


def void_and_regenerate(
    uow: BillingUnitOfWork,
    ctx: Context,
    number: str,
    *,
    corrected_lines: Sequence[InvoiceLine] | None = None,
    regenerate: bool = True,
    validator: EInvoiceValidator,
    settings: PaymentSettings | None = None,
) -> Correction:
    """BIL-4: void an issued invoice by a credit note and issue its replacement; the original stays as is.

    Without ``corrected_lines`` the replacement repeats the lines with the party's current VAT
    treatment (the usual correction: a wrong VAT number or address on the party). Both documents'
    e-invoices are checked by ``validator`` before they are numbered.
    """
    require_operator(ctx)
    store = uow.billing
    store.lock(BILLING_JOB)
    stored = store.find_invoice(number)
    if stored is None:
        raise NotFound("invoice", number)
    if stored.credited_by is not None:
        raise Conflict(f"BIL-4: {number} is already voided by {stored.credited_by}", number=number)
    issue_on = business_date(ctx.clock.now())
    credit_note, replacement = compose_correction(
        stored.issued, corrected_lines if corrected_lines is not None else stored.issued.draft.lines, issue_on
    )
    party = uow.parties.get(stored.issued.draft.invoiced_party_id)
    replacement = replace(replacement, vat=vat_treatment(billing_party(party)))
    drafts = [credit_note, replacement] if regenerate and replacement.lines else [credit_note]
    issued = issue_all(uow, drafts, "correction", ctx.clock.now(), settings, validator)
    uow.commit()
    return Correction(issued[0], issued[1] if len(issued) > 1 else None)
