"""Payments (PAY-1, TEN-5): money received, bank statements, parked entries, balances.

* ``receivables`` / ``current_ledger``: every issued invoice and credit note, settled against
  the payments in date order (``nuage.payments.ledger``);
* ``record_payment``: money received by hand;
* ``import_statement``: a camt.053 file, credits matched by structured reference, the rest
  parked for review; idempotent;
* ``parked_entries`` / ``assign_parked``: the review of what matched nothing;
* ``balances``: what each contracting party owes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from nuage.billing.invoices import DocumentType
from nuage.documents.model import due_date
from nuage.documents.reference import invoice_for_reference
from nuage.errors import InvalidInput, NotFound
from nuage.payments.camt import MAX_AMOUNT, read_camt053
from nuage.payments.ledger import Ledger, Payment, Receivable, settle
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.common import ALL, require_operator, visible_invoice
from nuage.services.payments.ports import ParkedEntry
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.shared.money import CENT, ZERO


def receivables(uow: BillingUnitOfWork, settings: PaymentSettings) -> list[Receivable]:
    """PAY-1: every issued invoice and credit note as a receivable."""
    headers, _ = uow.billing.list_invoices(party_ids=None, period=None, limit=ALL, offset=0)
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


def current_ledger(uow: BillingUnitOfWork, settings: PaymentSettings) -> Ledger:
    """PAY-1: invoices, credit notes and payments settled in date order."""
    return settle(receivables(uow, settings), uow.payments.payments())


def record_payment(
    uow: BillingUnitOfWork,
    ctx: Context,
    *,
    party_id: str,
    amount: Decimal,
    received_on: date,
    invoice_number: str | None = None,
    note: str | None = None,
) -> Payment:
    """PAY-1: record money received (a transfer seen by hand, a card payment...)."""
    require_operator(ctx)
    store = uow.payments
    if not amount.is_finite() or amount <= ZERO or amount > MAX_AMOUNT:
        raise InvalidInput("amount", f"a payment is a positive amount in cents, at most {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("amount", "a payment is a positive amount in cents")
    party = uow.parties.get(party_id)
    if invoice_number is not None:
        stored = visible_invoice(uow, ctx, invoice_number)
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


def import_statement(uow: BillingUnitOfWork, ctx: Context, data: bytes | BinaryIO) -> StatementReport:
    """PAY-1: import a camt.053 file (its bytes, or a stream read entry by entry): match credits by
    structured reference, park the rest.

    Idempotent: an entry already imported (same statement id and entry reference) is skipped,
    so importing the same file twice counts nothing twice. A malformed file raises
    ``MalformedStatement`` naming the problem, one over ``camt.MAX_STATEMENT_BYTES``
    ``StatementTooLarge``, and nothing of it is stored.
    """
    require_operator(ctx)
    store = uow.payments
    read = read_camt053(io.BytesIO(data) if isinstance(data, bytes) else data)
    now = ctx.clock.now()
    report = StatementReport()
    digest = read.sha256
    for statement in read.statements:
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


def parked_entries(uow: BillingUnitOfWork, ctx: Context, *, open_only: bool = True) -> list[ParkedEntry]:
    """PAY-1: bank entries waiting for review."""
    require_operator(ctx)
    return uow.payments.parked(open_only=open_only)


def assign_parked(
    uow: BillingUnitOfWork,
    ctx: Context,
    parked_id: int,
    *,
    invoice_number: str | None = None,
    party_id: str | None = None,
) -> Payment:
    """PAY-1: turn a parked entry into a payment of an invoice, or into credit on a party's account."""
    require_operator(ctx)
    store = uow.payments
    found = {entry.parked_id: entry for entry in store.parked()}.get(parked_id)
    if found is None:
        raise NotFound("parked entry", str(parked_id))
    if invoice_number is not None:
        party_id = visible_invoice(uow, ctx, invoice_number).issued.draft.invoiced_party_id
    if party_id is None:
        raise InvalidInput("party_id", "name the invoice or the party the money is from")
    uow.parties.get(party_id)
    payment = Payment(new_id("pay"), party_id, found.entry.booked_on, found.entry.amount, invoice_number)
    store.add_payment(
        payment, "parked", ctx.clock.now(), f"{found.entry.statement_id}/{found.entry.entry_ref}"
    )
    store.resolve_parked(parked_id, payment.payment_id, ctx.clock.now())
    return payment


#: PAY-2 charges by kind: what a balance shows apart from the services invoiced
FEE_KINDS = frozenset({"reminder_fee", "collection_costs"})
INTEREST_KINDS = frozenset({"late_interest"})


@dataclass(frozen=True)
class Balance:
    """PAY-1/PAY-2/TEN-5: what a contracting party owes (negative: credit on its account).

    ``billed`` splits into the services invoiced (``principal``), the reminder fees and the late
    interest (PAY-2) already carried by invoices; ``pending_fees``, ``pending_interest`` and
    ``pending_other`` (a CNT-4 regularisation...) are charged but wait for the next invoice.
    ``total_due`` is the balance and what is pending.
    """

    party_id: str
    name: str
    billed: Decimal
    received: Decimal
    balance: Decimal
    overdue: Decimal
    principal: Decimal = ZERO
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    pending_fees: Decimal = ZERO
    pending_interest: Decimal = ZERO
    pending_other: Decimal = ZERO  # e.g. CNT-4 regularisations waiting for the next invoice

    @property
    def total_due(self) -> Decimal:
        """PAY-1/PAY-2: the balance and the charges the next invoice will carry."""
        return self.balance + self.pending_fees + self.pending_interest + self.pending_other


def balances(
    uow: BillingUnitOfWork,
    ctx: Context,
    settings: PaymentSettings,
    on: date | None = None,
) -> list[Balance]:
    """PAY-1/PAY-2/TEN-5: the account balance of every contracting party the caller may see."""
    ledger = current_ledger(uow, settings)
    day = on or business_date(ctx.clock.now())
    charged: dict[tuple[str, str, bool], Decimal] = {}
    for charge in uow.payments.charges(pending_only=False):
        group = "fees" if charge.kind in FEE_KINDS else "interest" if charge.kind in INTEREST_KINDS else ""
        key = (charge.party_id, group, charge.invoiced_in is None)
        charged[key] = charged.get(key, ZERO) + charge.line.amount
    result = []
    for party_id in sorted(set(ledger.billed) | set(ledger.received)):
        if not ctx.scope.can_see(party_id):
            continue
        party = uow.parties.find(party_id)
        billed = ledger.billed.get(party_id, ZERO)
        fees, interest = (
            charged.get((party_id, "fees", False), ZERO),
            charged.get((party_id, "interest", False), ZERO),
        )
        result.append(
            Balance(
                party_id,
                party.name if party else party_id,
                billed,
                ledger.received.get(party_id, ZERO),
                ledger.balance(party_id),
                sum((state.outstanding for state in ledger.overdue(day, party_id)), ZERO),
                principal=billed - fees - interest,
                fees=fees,
                interest=interest,
                pending_fees=charged.get((party_id, "fees", True), ZERO),
                pending_interest=charged.get((party_id, "interest", True), ZERO),
                pending_other=charged.get((party_id, "", True), ZERO),
            )
        )
    return result
