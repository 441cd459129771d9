"""Delivery of documents by e-mail (BIL-4, PAY-1, TEN-2): the e-mails, their sending, the delivery log.

* ``prepare_documents``: render what is to be sent and build each invoice's e-mail (PDF and
  UBL attached); documents already delivered are skipped unless resent;
* ``reminder_mail``: a PAY-1 reminder, with the invoice's PDF when it was rendered;
* ``deliver``: hand each e-mail to the ``Mailer`` port, retried with a doubling back-off; one
  delivery record per e-mail, whether sent or given up;
* ``record_deliveries``: keep the log.

E-mails carry the brand of the documents they go with (TEN-2: ``common.party_brand``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid

from nuage.documents import formatting as fmt
from nuage.documents.messages import message
from nuage.services.billing.ports import BillingUnitOfWork, InvoiceHeader
from nuage.services.context import Context
from nuage.services.payments.common import ALL, party_brand, require_operator
from nuage.services.payments.documents import DocumentTools, render_documents
from nuage.services.payments.ports import DeliveryRecord, Mailer, MailNotSent, StoredDocument
from nuage.shared.money import ZERO
from nuage.shared.month import Month
from nuage.tenancy.model import Party


@dataclass(frozen=True)
class Outgoing:
    """BIL-4: one e-mail ready to send."""

    number: str
    kind: str  # "invoice" or "reminder"
    recipient: str | None
    message: EmailMessage


@dataclass
class DeliveryReport:
    """BIL-4: what sending did."""

    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # already delivered


def _new_mail(sender: str, party: Party, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = party.email or ""
    mail["Subject"] = subject
    return mail


def invoice_mail(stored: StoredDocument, header: InvoiceHeader, party: Party, sender: str) -> EmailMessage:
    """BIL-4/TEN-2: an invoice's e-mail in the party's language, under its brand, both files attached."""
    language = stored.language
    document = message(f"doc.{header.document_type.value}", language)
    subject = message(
        "mail.invoice.subject", language, brand=stored.brand, document=document, number=header.number
    )
    mail = _new_mail(sender, party, subject)
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
    ctx: Context,
    tools: DocumentTools,
    *,
    period: Month | None = None,
    numbers: Sequence[str] | None = None,
    resend: bool = False,
) -> tuple[list[Outgoing], list[str]]:
    """BIL-4: render the documents to send and build their e-mails; return them and those skipped."""
    require_operator(ctx)
    headers, _ = uow.billing.list_invoices(
        party_ids=None, period=None if period is None else str(period), limit=ALL, offset=0
    )
    wanted = set(numbers) if numbers is not None else None
    delivered = {
        record.number
        for record in uow.payments.deliveries()
        if record.status == "sent" and record.kind == "invoice"
    }
    outgoing, skipped = [], []
    for header in headers:
        if wanted is not None and header.number not in wanted:
            continue
        if header.number in delivered and not resend:
            skipped.append(header.number)
            continue
        stored = render_documents(uow, ctx, header.number, tools)
        party = uow.parties.get(header.invoiced_party_id)
        mail = invoice_mail(stored, header, party, tools.settings.mail_from)
        outgoing.append(Outgoing(header.number, "invoice", party.email, mail))
    return outgoing, skipped


def reminder_mail(
    uow: BillingUnitOfWork,
    iban: str,
    sender: str,
    number: str,
    level: int,
    fee: Decimal,
    outstanding: Decimal,
    due_on: date,
) -> Outgoing:
    """PAY-1/PAY-2/TEN-2: a reminder of an unpaid invoice, under the brand of the invoice's documents."""
    found = uow.billing.find_invoice(number)
    assert found is not None
    party = uow.parties.get(found.issued.draft.invoiced_party_id)
    language = party.language.value
    stored = uow.payments.find_document(number)
    brand = stored.brand if stored else party_brand(uow, party).name
    mail = _new_mail(sender, party, message("mail.reminder.subject", language, level=level, number=number))
    fee_text = message("mail.reminder.fee", language, fee=fmt.money(fee, language)) if fee > ZERO else ""
    mail.set_content(
        message(
            "mail.reminder.body",
            language,
            number=number,
            due=fmt.day(due_on, language),
            amount=fmt.money(outstanding, language),
            iban=iban,
            reference=stored.structured_reference if stored else "-",
            fee=fee_text,
            terms=message("doc.terms", language),
            brand=brand,
        )
    )
    if stored is not None:
        mail.add_attachment(stored.pdf, maintype="application", subtype="pdf", filename=f"{number}.pdf")
    return Outgoing(number, "reminder", party.email, mail)


async def deliver(
    outgoing: Sequence[Outgoing],
    mailer: Mailer,
    at: Callable[[], datetime],
    *,
    attempts: int = 3,
    backoff_s: float = 1.0,
) -> list[DeliveryRecord]:
    """BIL-4: send each e-mail, retrying with a back-off doubled after each failure; one record per e-mail."""
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
        delay = backoff_s
        for attempt in range(1, attempts + 1):
            try:
                await mailer.send(item.message)
            except MailNotSent as exc:
                error = str(exc)
                if attempt < attempts:
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
                DeliveryRecord(item.number, item.kind, item.recipient, "failed", attempts, at(), error)
            )
    return records


def record_deliveries(uow: BillingUnitOfWork, records: Sequence[DeliveryRecord]) -> DeliveryReport:
    """BIL-4: keep the delivery log."""
    report = DeliveryReport()
    for record in records:
        uow.payments.add_delivery(record)
        if record.status == "sent":
            report.sent.append(record.number)
        else:
            report.failed[record.number] = record.error or "failed"
    return report
