"""The ports of the payments and documents use cases (BIL-4, PAY-1..4).

* ``PaymentStore``: documents, deliveries, payments, statements, dunning; reached as
  ``uow.payments`` and implemented by ``nuage.storage.sql.payments_store.SqlPaymentStore`` on
  the unit of work's connection, so it commits with the billing and tenancy writes;
* ``DocumentRenderer``: an invoice's PDF (``nuage.adapters.weasyprint_pdf``);
* ``EInvoiceValidator``: the UBL 2.1 XSD and EN 16931 check (``nuage.adapters.einvoice_validation``);
* ``Mailer``: one e-mail handed to a mail server (``nuage.adapters.smtp``).

The composition root (``nuage.bootstrap``) wires the adapters; the use cases know only these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Protocol

from nuage.billing.lines import InvoiceLine
from nuage.billing.vat import COMPENSATION_VAT, LineVat
from nuage.documents.findings import Finding
from nuage.documents.model import DocumentInput
from nuage.payments.camt import BankEntry
from nuage.payments.ledger import Payment
from nuage.terms.audit import REGULARISATION_CHARGE


@dataclass(frozen=True)
class StoredDocument:
    """BIL-4: the rendered PDF and UBL of one invoice or credit note."""

    number: str
    invoiced_party_id: str
    language: str
    brand: str
    structured_reference: str | None
    due_on: date
    pdf: bytes
    pdf_sha256: str
    ubl: bytes
    ubl_sha256: str
    rendered_at: datetime


@dataclass(frozen=True)
class InvoiceSnapshot:
    """BIL-4: what an invoice shows, frozen at issue (``documents.snapshot.encode``), with its SHA-256."""

    number: str
    content: str
    sha256: str
    frozen_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    """BIL-4: one e-mail sent (or given up) for a document."""

    number: str
    kind: str  # "invoice" or "reminder"
    recipient: str
    status: str  # "sent" or "failed"
    attempts: int
    at: datetime
    error: str | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class ParkedEntry:
    """PAY-1: a bank entry that matched no invoice, kept for review (never lost)."""

    parked_id: int
    entry: BankEntry
    reason: str
    parked_at: datetime
    resolved_at: datetime | None = None
    payment_id: str | None = None


@dataclass(frozen=True)
class PendingCharge:
    """PAY-2: a line waiting for the party's next invoice."""

    charge_id: int
    party_id: str
    kind: str
    source_invoice: str | None
    line: InvoiceLine
    created_on: date
    invoiced_in: str | None = None


#: charges that are the price of a service, taxed as the invoice's other lines: a CNT-4
#: regularisation, a BIL-5 intervention, a HW-1 return's carriage, a BIL-7 port-out, BIL-8 resale
SERVICE_CHARGES = frozenset({REGULARISATION_CHARGE, "intervention", "return_carriage", "port_out", "ucaas"})


def charge_vat(kind: str) -> LineVat | None:
    """PAY-2 charges are compensation (no VAT, ``billing.vat``); the price of a service (a CNT-4
    regularisation, the support charges) is taxed as the invoice's other lines (None)."""
    return None if kind in SERVICE_CHARGES else COMPENSATION_VAT


class PaymentStore(Protocol):
    """Payments storage bound to one transaction (the unit of work's)."""

    # documents (BIL-4)
    def find_document(self, number: str) -> StoredDocument | None: ...
    def add_document(self, document: StoredDocument) -> None: ...

    def document_numbers(self) -> set[str]: ...
    def add_snapshots(self, snapshots: Sequence[InvoiceSnapshot]) -> None:
        """BIL-4: keep what issued invoices show, frozen at issue (never changed afterwards)."""
        ...

    def find_snapshot(self, number: str) -> InvoiceSnapshot | None: ...

    # deliveries (BIL-4)
    def add_delivery(self, record: DeliveryRecord) -> None: ...
    def deliveries(self, number: str | None = None) -> list[DeliveryRecord]: ...

    # payments and statements (PAY-1)
    def add_payment(
        self, payment: Payment, source: str, recorded_at: datetime, note: str | None = None
    ) -> None: ...
    def payments(self) -> list[Payment]: ...
    def add_statement(
        self, statement_id: str, iban: str | None, sha256: str, count: int, at: datetime
    ) -> bool:
        """Record a statement; False when it was imported before."""
        ...

    def known_entries(self, statement_id: str) -> set[str]: ...
    def add_bank_entry(self, entry: BankEntry, outcome: str, payment_id: str | None, at: datetime) -> int: ...
    def park(self, bank_entry_id: int, reason: str, at: datetime) -> None: ...
    def parked(self, *, open_only: bool = True) -> list[ParkedEntry]: ...
    def resolve_parked(self, parked_id: int, payment_id: str, at: datetime) -> None: ...

    # dunning (PAY-1, PAY-2)
    def add_reminder(
        self, number: str, party_id: str, level: int, sent_on: date, fee: Decimal, outstanding: Decimal
    ) -> None: ...
    def reminders(self) -> dict[str, dict[int, date]]: ...
    def add_charge(
        self,
        party_id: str,
        kind: str,
        source_invoice: str | None,
        line: InvoiceLine,
        created_on: date,
        accrued_total: Decimal | None = None,
    ) -> int: ...
    def interest_charged(self) -> dict[str, Decimal]: ...
    def charges(self, party_id: str | None = None, *, pending_only: bool = True) -> list[PendingCharge]: ...
    def mark_charges_invoiced(self, charge_ids: Sequence[int], invoice_number: str) -> None: ...


class DocumentRenderer(Protocol):
    """BIL-4: prints an invoice or credit note to PDF."""

    def render_pdf(self, doc: DocumentInput) -> bytes:
        """The PDF of ``doc``."""
        ...


class FindingsBatch(Protocol):
    """BIL-4: the blocking findings of documents handed over one by one (a batch being issued)."""

    def add(self, document: bytes) -> None:
        """Hand over the next document."""
        ...

    def results(self) -> list[tuple[Finding, ...]]:
        """The findings of every document handed over, in order (empty: valid)."""
        ...


class EInvoiceValidator(Protocol):
    """BIL-4: checks a UBL e-invoice against the UBL 2.1 XSD and the EN 16931 rules, offline."""

    def validate(self, number: str, document: bytes) -> tuple[Finding, ...]:
        """Raise ``EInvoiceInvalid`` (naming the failing rules) unless valid; return the warnings."""
        ...

    def batch(self, *, workers: int, size: int) -> FindingsBatch:
        """A batch of ``size`` documents to check, over ``workers`` processes when worth it."""
        ...


class MailNotSent(Exception):
    """BIL-4: the mail server could not be reached or refused the e-mail (the reason is the message)."""


class Mailer(Protocol):
    """BIL-4: hands one e-mail to a mail server."""

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` once; raise ``MailNotSent`` when it was not accepted."""
        ...
