"""Invoice documents, delivery, payments, dunning and suspension use cases (BIL-4, PAY-1..4, TEN-2, TEN-5).

Each use case reads billing storage (``BillingUnitOfWork.billing``) and the payment store
(``PaymentStore``, same transaction), calls the pure domain (``nuage.documents``,
``nuage.payments``) and stores the result:

* ``render_documents``: the PDF and the Peppol UBL of an issued invoice or credit note, the
  UBL validated offline first (an invalid e-invoice is refused with the failing rule named);
* ``list_documents`` / ``document_file``: every document with both files (portal and API);
* ``send_documents``: e-mail with both files attached, retried, every attempt logged;
* ``record_payment``, ``import_statement`` (camt.053), ``assign_parked``, ``balances``;
* ``run_dunning``: the daily job: reminders and fees, interest (PAY-2), suspension to minimum
  service after the last reminder when the policy says so, restoration on payment (PAY-1, PAY-3);
* ``suspend`` / ``restore``, and PAY-4: ``suspend_partner_customers``, ``move_partner_customers``;
* ``invoice_charges``: the PAY-2 lines waiting for a party, issued on an invoice of their own
  when the operator does not wait for the next monthly run; by default ``run_billing`` puts
  them on the party's next invoice (``pending_charge_lines`` lists them).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid

from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine
from nuage.billing.vat import vat_treatment
from nuage.documents import formatting as fmt
from nuage.documents.messages import check_language, message
from nuage.documents.model import (
    BankAccount,
    DocumentInput,
    PartyInfo,
    brand_for,
    due_date,
)
from nuage.documents.pdf import render_pdf
from nuage.documents.reference import invoice_for_reference
from nuage.documents.ubl import build_ubl
from nuage.documents.validation import validate_einvoice
from nuage.errors import InvalidInput, NotFound
from nuage.payments.camt import parse_camt053
from nuage.payments.dunning import (
    DunningHistory,
    DunningPlan,
    collection_costs_line,
    plan_dunning,
    reminder_fee_line,
    suspended_for_arrears,
    suspension_reason,
)
from nuage.payments.ledger import Ledger, Payment, Receivable, settle
from nuage.services import tenancy
from nuage.services.billing.common import billing_party
from nuage.services.billing.issuing import issue_documents
from nuage.services.billing.ports import BillingUnitOfWork, InvoiceHeader, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import EInvoiceGate
from nuage.services.einvoicing import PaymentSettings as PaymentSettings
from nuage.services.payments_ports import DeliveryRecord, ParkedEntry, PaymentStore, StoredDocument
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.shared.money import CENT, ZERO
from nuage.shared.month import Month
from nuage.tenancy.model import Party, PartyKind, PartyStatus
from nuage.tenancy.rules import contracting_party_id

_ALL = 1_000_000


def _require_operator(ctx: Context) -> None:
    if not ctx.scope.is_operator:
        raise NotFound("payments job", "-")  # TEN-4: only the operator runs these jobs


def _operator(uow: BillingUnitOfWork) -> Party:
    operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
    if operator is None:
        raise NotFound("operator", "-")
    return operator


def _invoice(uow: BillingUnitOfWork, ctx: Context, number: str) -> StoredInvoice:
    stored = uow.billing.find_invoice(number)
    if stored is None or not ctx.scope.can_see(stored.issued.draft.invoiced_party_id):
        raise NotFound("invoice", number)  # TEN-4
    return stored


# --- documents (BIL-4, BIL-10, TEN-2) ------------------------------------------------------------------


def document_input(
    uow: BillingUnitOfWork, ctx: Context, number: str, settings: PaymentSettings
) -> DocumentInput:
    """BIL-4/BIL-10/TEN-2: everything an invoice's documents show, from storage."""
    stored = _invoice(uow, ctx, number)
    draft = stored.issued.draft
    operator = _operator(uow)
    buyer = uow.parties.get(draft.invoiced_party_id)
    partner = uow.parties.find(buyer.partner_id) if buyer.partner_id else None
    names = {buyer.id: buyer.name}
    summaries = []
    for customer_id in draft.customer_ids:
        customer = uow.parties.find(customer_id)
        if customer is not None:
            names[customer_id] = customer.name
        if draft.period is not None:
            summary = uow.billing.summary(customer_id, draft.period) or uow.billing.latest_summary(
                customer_id
            )
            if summary is not None and summary.month <= draft.period:
                summaries.append(summary)
    return DocumentInput(
        issued=stored.issued,
        seller=PartyInfo.of(operator),
        buyer=PartyInfo.of(buyer),
        language=buyer.language.value,  # Languages: the contracting party's language
        brand=brand_for(buyer, operator, partner),
        bank=BankAccount(settings.iban, settings.bic, settings.account_holder or operator.name),
        due_on=due_date(draft.issue_on, settings.payment_days),
        customer_names=names,
        summaries=tuple(summaries),
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render_documents(
    uow: BillingUnitOfWork, store: PaymentStore, ctx: Context, number: str, settings: PaymentSettings
) -> StoredDocument:
    """BIL-4: the PDF and validated UBL of an invoice, rendered once and kept (with their SHA-256).

    The UBL is validated against the UBL 2.1 XSD and the EN 16931 rules first; a failure
    raises ``EInvoiceInvalid`` naming the rule, and nothing is stored or sent.
    """
    existing = store.find_document(number)
    if existing is not None:
        _invoice(uow, ctx, number)  # TEN-4 still applies
        return existing
    doc = document_input(uow, ctx, number, settings)
    ubl = build_ubl(doc)
    validate_einvoice(number, ubl)
    pdf = render_pdf(doc)
    stored = StoredDocument(
        number=number,
        invoiced_party_id=doc.buyer.party_id,
        language=doc.language,
        brand=doc.brand.name,
        structured_reference=doc.structured_reference,
        due_on=doc.due_on,
        pdf=pdf,
        pdf_sha256=_sha256(pdf),
        ubl=ubl,
        ubl_sha256=_sha256(ubl),
        rendered_at=ctx.clock.now(),
    )
    store.add_document(stored)
    return stored


def render_copy(
    uow: BillingUnitOfWork, ctx: Context, number: str, settings: PaymentSettings, language: str
) -> tuple[bytes, bytes]:
    """Languages/BIL-4: a copy of an invoice's PDF and UBL in another language (not stored, not sent)."""
    doc = replace(document_input(uow, ctx, number, settings), language=check_language(language))
    ubl = build_ubl(doc)
    validate_einvoice(number, ubl)
    return render_pdf(doc), ubl


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
    uow: BillingUnitOfWork, store: PaymentStore, ctx: Context, *, period: Month | None = None
) -> list[DocumentListing]:
    """BIL-4/TEN-4: every invoice the caller may see, with its files when rendered."""
    party_ids = None if ctx.scope.visible_ids is None else sorted(ctx.scope.visible_ids)
    headers, _ = uow.billing.list_invoices(
        party_ids=party_ids, period=None if period is None else str(period), limit=_ALL, offset=0
    )
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
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    number: str,
    kind: str,
    settings: PaymentSettings,
) -> tuple[str, str, bytes]:
    """BIL-4: one file of an invoice: (file name, media type, bytes); ``kind`` is "pdf" or "ubl"."""
    if kind not in ("pdf", "ubl"):
        raise InvalidInput("kind", "a document file is 'pdf' or 'ubl'")
    stored = render_documents(uow, store, ctx, number, settings)
    if kind == "pdf":
        return f"{number}.pdf", "application/pdf", stored.pdf
    return f"{number}.xml", "application/xml", stored.ubl


# --- delivery (BIL-4) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpTarget:
    """BIL-4: the SMTP server documents are sent through, and how hard to try."""

    host: str
    port: int
    attempts: int = 3
    backoff_s: float = 1.0  # doubled after each failed attempt
    timeout_s: float = 10.0
    username: str | None = None
    password: str | None = None
    start_tls: bool = False


@dataclass(frozen=True)
class Outgoing:
    """BIL-4: one e-mail ready to send."""

    number: str
    kind: str
    recipient: str | None
    message: EmailMessage


@dataclass
class DeliveryReport:
    """BIL-4: what ``send_documents`` did."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # already delivered


def _invoice_mail(stored: StoredDocument, header: InvoiceHeader, party: Party, sender: str) -> EmailMessage:
    language = stored.language
    document = message(f"doc.{header.document_type.value}", language)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = party.email or ""
    mail["Subject"] = message(
        "mail.invoice.subject", language, brand=stored.brand, document=document, number=header.number
    )
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "nuage.local")
    mail.set_content(
        message(
            "mail.invoice.body",
            language,
            document=document,
            number=header.number,
            amount=fmt.money(abs(header.gross), language, header.currency),
            reference=stored.structured_reference or "-",
            due=fmt.day(stored.due_on, language),
            brand=stored.brand,
        )
    )
    mail.add_attachment(stored.pdf, maintype="application", subtype="pdf", filename=f"{header.number}.pdf")
    mail.add_attachment(stored.ubl, maintype="application", subtype="xml", filename=f"{header.number}.xml")
    return mail


def prepare_documents(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    settings: PaymentSettings,
    *,
    period: Month | None = None,
    numbers: Sequence[str] | None = None,
    resend: bool = False,
) -> tuple[list[Outgoing], list[str]]:
    """BIL-4: render the documents to send and build their e-mails; return them and those skipped."""
    _require_operator(ctx)
    headers, _ = uow.billing.list_invoices(
        party_ids=None, period=None if period is None else str(period), limit=_ALL, offset=0
    )
    wanted = set(numbers) if numbers is not None else None
    delivered = {
        record.number for record in store.deliveries() if record.status == "sent" and record.kind == "invoice"
    }
    outgoing, skipped = [], []
    for header in headers:
        if wanted is not None and header.number not in wanted:
            continue
        if header.number in delivered and not resend:
            skipped.append(header.number)
            continue
        stored = render_documents(uow, store, ctx, header.number, settings)
        party = uow.parties.get(header.invoiced_party_id)
        outgoing.append(
            Outgoing(
                header.number,
                "invoice",
                party.email,
                _invoice_mail(stored, header, party, settings.mail_from),
            )
        )
    return outgoing, skipped


async def deliver(
    outgoing: Sequence[Outgoing], smtp: SmtpTarget, at: Callable[[], datetime]
) -> list[DeliveryRecord]:
    """BIL-4: send each e-mail, retrying with a doubling back-off; one delivery record per e-mail."""
    import aiosmtplib

    records = []
    for item in outgoing:
        if not item.recipient:
            records.append(
                DeliveryRecord(
                    item.number, item.kind, "-", "failed", 0, at(), "the party has no e-mail address"
                )
            )
            continue
        error: str | None = None
        delay = smtp.backoff_s
        for attempt in range(1, smtp.attempts + 1):
            try:
                await aiosmtplib.send(
                    item.message,
                    hostname=smtp.host,
                    port=smtp.port,
                    timeout=smtp.timeout_s,
                    username=smtp.username,
                    password=smtp.password,
                    start_tls=smtp.start_tls,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < smtp.attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
                continue
            records.append(
                DeliveryRecord(
                    item.number,
                    item.kind,
                    item.recipient,
                    "sent",
                    attempt,
                    at(),
                    None,
                    item.message["Message-ID"],
                )
            )
            break
        else:
            records.append(
                DeliveryRecord(item.number, item.kind, item.recipient, "failed", smtp.attempts, at(), error)
            )
    return records


def record_deliveries(store: PaymentStore, records: Sequence[DeliveryRecord]) -> DeliveryReport:
    """BIL-4: keep the delivery log."""
    report = DeliveryReport()
    for record in records:
        store.add_delivery(record)
        if record.status == "sent":
            report.sent.append(record.number)
        else:
            report.failed[record.number] = record.error or "failed"
    return report


# --- payments (PAY-1) ------------------------------------------------------------------------------------


def receivables(uow: BillingUnitOfWork, settings: PaymentSettings) -> list[Receivable]:
    """PAY-1: every issued invoice and credit note as a receivable."""
    headers, _ = uow.billing.list_invoices(party_ids=None, period=None, limit=_ALL, offset=0)
    return [
        Receivable(
            number=header.number,
            party_id=header.invoiced_party_id,
            issue_on=header.issue_on,
            due_on=due_date(header.issue_on, settings.payment_days),
            gross=abs(header.gross).quantize(CENT),  # PostgreSQL NUMERIC keeps its scale
            credit_note=header.document_type is DocumentType.CREDIT_NOTE,
            credits=header.credits,
        )
        for header in headers
    ]


def current_ledger(uow: BillingUnitOfWork, store: PaymentStore, settings: PaymentSettings) -> Ledger:
    """PAY-1: invoices, credit notes and payments settled in date order."""
    return settle(receivables(uow, settings), store.payments())


def record_payment(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    *,
    party_id: str,
    amount: Decimal,
    received_on: date,
    invoice_number: str | None = None,
    note: str | None = None,
) -> Payment:
    """PAY-1: record money received (a transfer seen by hand, a card payment...)."""
    _require_operator(ctx)
    if amount <= ZERO or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("amount", "a payment is a positive amount in cents")
    party = uow.parties.get(party_id)
    if invoice_number is not None:
        stored = _invoice(uow, ctx, invoice_number)
        if stored.issued.draft.invoiced_party_id != party.id:
            raise InvalidInput("invoice_number", f"{invoice_number} is not addressed to {party.id} (TEN-5)")
    payment = Payment(new_id("pay"), party.id, received_on, amount, invoice_number)
    store.add_payment(payment, "manual", ctx.clock.now(), note)
    return payment


@dataclass
class StatementReport:
    """PAY-1: what a camt.053 import did."""

    statements: list[str] = field(default_factory=list)
    matched: list[tuple[str, str, Decimal]] = field(default_factory=list)  # entry ref, invoice, amount
    parked: list[tuple[str, str]] = field(default_factory=list)  # entry ref, reason
    ignored: list[str] = field(default_factory=list)  # debits
    duplicates: int = 0


def import_statement(
    uow: BillingUnitOfWork, store: PaymentStore, ctx: Context, data: bytes
) -> StatementReport:
    """PAY-1: import a camt.053 file: match credits by structured reference, park the rest.

    Idempotent: an entry already imported (same statement id and entry reference) is skipped,
    so importing the same file twice counts nothing twice. A malformed file raises
    ``MalformedStatement`` naming the problem, and nothing of it is stored.
    """
    _require_operator(ctx)
    statements = parse_camt053(data)
    now = ctx.clock.now()
    report = StatementReport()
    digest = _sha256(data)
    for statement in statements:
        store.add_statement(
            statement.statement_id, statement.account_iban, digest, len(statement.entries), now
        )
        report.statements.append(statement.statement_id)
        known = store.known_entries(statement.statement_id)
        for entry in statement.entries:
            if entry.entry_ref in known:
                report.duplicates += 1
                continue
            known.add(entry.entry_ref)
            if not entry.credit:
                store.add_bank_entry(entry, "ignored", None, now)
                report.ignored.append(entry.entry_ref)
                continue
            number = invoice_for_reference(entry.reference or "")
            found = uow.billing.find_invoice(number) if number else None
            reason = None
            if entry.currency != "EUR":
                reason = f"currency {entry.currency} is not EUR"
            elif number is None:
                reason = f"no valid structured reference in {entry.reference!r}"
            elif found is None or found.issued.draft.document_type is not DocumentType.INVOICE:
                reason = f"reference {entry.reference} names no invoice ({number})"
            if reason is not None or found is None:
                entry_id = store.add_bank_entry(entry, "parked", None, now)
                store.park(entry_id, reason or "unmatched", now)
                report.parked.append((entry.entry_ref, reason or "unmatched"))
                continue
            party_id = found.issued.draft.invoiced_party_id
            payment = Payment(new_id("pay"), party_id, entry.booked_on, entry.amount, found.issued.number)
            store.add_payment(payment, "camt", now, f"{statement.statement_id}/{entry.entry_ref}")
            store.add_bank_entry(entry, "matched", payment.payment_id, now)
            report.matched.append((entry.entry_ref, found.issued.number, entry.amount))
    return report


def parked_entries(store: PaymentStore, ctx: Context, *, open_only: bool = True) -> list[ParkedEntry]:
    """PAY-1: bank entries waiting for review."""
    _require_operator(ctx)
    return store.parked(open_only=open_only)


def assign_parked(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    parked_id: int,
    *,
    invoice_number: str | None = None,
    party_id: str | None = None,
) -> Payment:
    """PAY-1: turn a parked entry into a payment of an invoice, or into credit on a party's account."""
    _require_operator(ctx)
    found = {entry.parked_id: entry for entry in store.parked()}.get(parked_id)
    if found is None:
        raise NotFound("parked entry", str(parked_id))
    if invoice_number is not None:
        party_id = _invoice(uow, ctx, invoice_number).issued.draft.invoiced_party_id
    if party_id is None:
        raise InvalidInput("party_id", "name the invoice or the party the money is from")
    uow.parties.get(party_id)
    payment = Payment(new_id("pay"), party_id, found.entry.booked_on, found.entry.amount, invoice_number)
    store.add_payment(
        payment, "parked", ctx.clock.now(), f"{found.entry.statement_id}/{found.entry.entry_ref}"
    )
    store.resolve_parked(parked_id, payment.payment_id, ctx.clock.now())
    return payment


@dataclass(frozen=True)
class Balance:
    """PAY-1/TEN-5: what a contracting party owes (negative: credit on its account)."""

    party_id: str
    name: str
    billed: Decimal
    received: Decimal
    balance: Decimal
    overdue: Decimal


def balances(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    settings: PaymentSettings,
    on: date | None = None,
) -> list[Balance]:
    """PAY-1/TEN-5: the account balance of every contracting party the caller may see."""
    ledger = current_ledger(uow, store, settings)
    day = on or business_date(ctx.clock.now())
    parties = set(ledger.billed) | set(ledger.received)
    result = []
    for party_id in sorted(parties):
        if not ctx.scope.can_see(party_id):
            continue
        party = uow.parties.find(party_id)
        result.append(
            Balance(
                party_id,
                party.name if party else party_id,
                ledger.billed.get(party_id, ZERO),
                ledger.received.get(party_id, ZERO),
                ledger.balance(party_id),
                sum((state.outstanding for state in ledger.overdue(day, party_id)), ZERO),
            )
        )
    return result


# --- suspension (PAY-1, PAY-3, PAY-4) --------------------------------------------------------------------


def _arrears_parties(uow: BillingUnitOfWork) -> dict[str, list[Party]]:
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
    targets = _arrears_parties(uow).get(key, [])
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


# --- dunning (PAY-1, PAY-2) ------------------------------------------------------------------------------


@dataclass
class DunningReport:
    """PAY-1/PAY-2: what the daily job did."""

    on: date
    plan: DunningPlan
    suspended: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    reminders: list[Outgoing] = field(default_factory=list)  # e-mails to send (``deliver``)


def _reminder_mail(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    settings: PaymentSettings,
    number: str,
    level: int,
    fee: Decimal,
    outstanding: Decimal,
    due_on: date,
) -> Outgoing:
    party_id = uow.billing.find_invoice(number)
    assert party_id is not None
    party = uow.parties.get(party_id.issued.draft.invoiced_party_id)
    language = party.language.value
    stored = store.find_document(number)
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = party.email or ""
    mail["Subject"] = message("mail.reminder.subject", language, level=level, number=number)
    fee_text = message("mail.reminder.fee", language, fee=fmt.money(fee, language)) if fee > ZERO else ""
    mail.set_content(
        message(
            "mail.reminder.body",
            language,
            number=number,
            due=fmt.day(due_on, language),
            amount=fmt.money(outstanding, language),
            iban=settings.iban,
            reference=stored.structured_reference if stored else "-",
            fee=fee_text,
            terms=message("doc.terms", language),
            brand=stored.brand if stored else _operator(uow).name,
        )
    )
    if stored is not None:
        mail.add_attachment(stored.pdf, maintype="application", subtype="pdf", filename=f"{number}.pdf")
    return Outgoing(number, "reminder", party.email, mail)


def run_dunning(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    settings: PaymentSettings,
    on: date | None = None,
) -> DunningReport:
    """PAY-1/PAY-2/PAY-3: the daily job; running it twice on a day does nothing more."""
    _require_operator(ctx)
    day = on or business_date(ctx.clock.now())
    ledger = current_ledger(uow, store, settings)
    arrears = _arrears_parties(uow)
    history = DunningHistory(store.reminders(), store.interest_charged(), frozenset(arrears))
    plan = plan_dunning(day, ledger, history, settings.policy)
    report = DunningReport(day, plan)
    for reminder in plan.reminders:
        store.add_reminder(
            reminder.invoice_number,
            reminder.party_id,
            reminder.level,
            day,
            reminder.fee,
            reminder.outstanding,
        )
        if reminder.fee > ZERO:
            line = reminder_fee_line(reminder.invoice_number, reminder.party_id, reminder.level, reminder.fee)
            store.add_charge(reminder.party_id, "reminder_fee", reminder.invoice_number, line, day)
        report.reminders.append(
            _reminder_mail(
                uow,
                store,
                settings,
                reminder.invoice_number,
                reminder.level,
                reminder.fee,
                reminder.outstanding,
                reminder.due_on,
            )
        )
    for charge in plan.interest:
        store.add_charge(
            charge.party_id, "late_interest", charge.invoice_number, charge.line, day, charge.accrued_total
        )
    if settings.policy.auto_suspend:
        for party_id in plan.in_default:
            numbers = tuple(state.number for state in ledger.overdue(day, party_id))
            report.suspended += [party.id for party in suspend(uow, ctx, party_id, numbers)]
    for party_id in plan.to_restore:
        report.restored += [party.id for party in restore(uow, ctx, party_id)]
    return report


def in_default(
    uow: BillingUnitOfWork, store: PaymentStore, ctx: Context, settings: PaymentSettings, on: date
) -> dict[str, tuple[str, ...]]:
    """PAY-1: contracting parties past their last reminder, with their overdue invoices (for the operator)."""
    ledger = current_ledger(uow, store, settings)
    history = DunningHistory(store.reminders(), store.interest_charged(), frozenset(_arrears_parties(uow)))
    plan = plan_dunning(on, ledger, history, settings.policy)
    return {party: tuple(state.number for state in ledger.overdue(on, party)) for party in plan.in_default}


def add_collection_costs(
    uow: BillingUnitOfWork, store: PaymentStore, ctx: Context, party_id: str, amount: Decimal, note: str
) -> InvoiceLine:
    """PAY-2: collection costs the operator incurred, charged on the party's next invoice."""
    _require_operator(ctx)
    uow.parties.get(party_id)
    line = collection_costs_line(party_id, amount, note, ())
    store.add_charge(party_id, "collection_costs", None, line, business_date(ctx.clock.now()))
    return line


def pending_charge_lines(store: PaymentStore, party_id: str) -> list[InvoiceLine]:
    """PAY-2: the lines waiting for a party's next invoice (the billing run adds them)."""
    return [charge.line for charge in store.charges(party_id)]


def invoice_charges(
    uow: BillingUnitOfWork,
    store: PaymentStore,
    ctx: Context,
    party_id: str,
    issue_on: date | None = None,
    settings: PaymentSettings | None = None,
) -> StoredInvoice | None:
    """PAY-2: issue the pending PAY-2 lines of a party on an invoice of their own now (None when
    nothing is pending). The default path is the party's next monthly invoice (``run_billing``)."""
    _require_operator(ctx)
    charges = store.charges(party_id)
    if not charges:
        return None
    party = uow.parties.get(party_id)
    day = issue_on or business_date(ctx.clock.now())
    draft = InvoiceDraft(
        run_key=f"charges:{party_id}:{charges[0].charge_id}-{charges[-1].charge_id}",
        document_type=DocumentType.INVOICE,
        invoiced_party_id=party_id,
        issue_on=day,
        period=None,
        lines=tuple(charge.line for charge in charges),
        vat=vat_treatment(billing_party(party)),
    )
    # BIL-4: validated before it is numbered, like every issued invoice
    issued, refused = issue_documents(uow, [draft], "charges", ctx.clock.now(), EInvoiceGate(uow, settings))
    if refused:
        raise next(iter(refused.values()))
    (stored,) = issued
    store.mark_charges_invoiced([charge.charge_id for charge in charges], stored.issued.number)
    return stored
