"""The in-memory adapter of ``services.payments.ports.PaymentStore``: documents, deliveries, payments,
bank statements and entries, parked entries, reminders and pending charges (BIL-4, PAY-1, PAY-2).

Kept in the private tables of its unit of work, so they commit or roll back with the billing and
tenancy writes, and answered as ``storage.sql.payments_store.SqlPaymentStore`` answers (the
contract tests run both): amounts read back to the cent, keys given 1, 2, ... as the SQL tables'
autoincrement columns give them, ``Conflict`` where a unique key says no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from nuage.billing.lines import InvoiceLine, SourceRef
from nuage.errors import Conflict
from nuage.payments.camt import BankEntry
from nuage.payments.ledger import Payment
from nuage.services.payments.ports import (
    DeliveryRecord,
    InvoiceSnapshot,
    ParkedEntry,
    PendingCharge,
    StoredDocument,
    charge_vat,
)
from nuage.shared.money import CENT
from nuage.storage.memory.tables import MemoryTables

PAYMENT_TABLES = (
    "invoice_documents",  # number -> StoredDocument
    "invoice_snapshots",  # number -> InvoiceSnapshot
    "deliveries",  # id -> DeliveryRecord
    "payments",  # payment id -> Payment
    "bank_statements",  # statement id -> sha256
    "bank_entries",  # id -> StoredEntry
    "parked_entries",  # id -> ParkedEntry
    "reminders",  # (invoice number, level) -> sent on
    "pending_charges",  # id -> (PendingCharge, accrued total)
)


class StoredEntry(NamedTuple):
    """PAY-1: a bank entry imported, and what became of it."""

    entry: BankEntry
    outcome: str
    payment_id: str | None


class StoredCharge(NamedTuple):
    """PAY-2: a pending charge and, for late interest, the total accrued on its invoice so far."""

    charge: PendingCharge
    accrued_total: Decimal | None


class MemoryPaymentStore(MemoryTables):
    """Documents, deliveries, payments, statements and dunning in the unit of work's private tables."""

    # documents ------------------------------------------------------------------------------------
    def find_document(self, number: str) -> StoredDocument | None:
        found: StoredDocument | None = self._table("invoice_documents").get(number)
        return found

    def add_document(self, document: StoredDocument) -> None:
        documents = self._table("invoice_documents")
        if document.number in documents:
            raise Conflict(f"the documents of {document.number} already exist", field="number")
        documents[document.number] = document

    def document_numbers(self) -> set[str]:
        return set(self._table("invoice_documents"))

    def add_snapshots(self, snapshots: Sequence[InvoiceSnapshot]) -> None:
        table = self._table("invoice_snapshots")
        if any(snapshot.number in table for snapshot in snapshots):
            raise Conflict("an invoice's snapshot is never replaced", field="number")
        table.update((snapshot.number, snapshot) for snapshot in snapshots)

    def find_snapshot(self, number: str) -> InvoiceSnapshot | None:
        found: InvoiceSnapshot | None = self._table("invoice_snapshots").get(number)
        return found

    # deliveries -----------------------------------------------------------------------------------
    def add_delivery(self, record: DeliveryRecord) -> None:
        self._table("deliveries")[self._next_id("deliveries")] = record

    def deliveries(self, number: str | None = None) -> list[DeliveryRecord]:
        records = sorted(self._table("deliveries").items())
        return [record for _, record in records if number is None or record.number == number]

    # payments and statements ----------------------------------------------------------------------
    def add_payment(
        self, payment: Payment, source: str, recorded_at: datetime, note: str | None = None
    ) -> None:
        payments = self._table("payments")
        if payment.payment_id in payments:
            raise Conflict(f"payment {payment.payment_id} already exists", field="id")
        payments[payment.payment_id] = replace(payment, amount=payment.amount.quantize(CENT))

    def payments(self) -> list[Payment]:
        return sorted(self._table("payments").values(), key=lambda p: (p.received_on, p.payment_id))

    def add_statement(
        self, statement_id: str, iban: str | None, sha256: str, count: int, at: datetime
    ) -> bool:
        """Record a statement; False when it was imported before."""
        statements = self._table("bank_statements")
        if statement_id in statements:
            return False
        statements[statement_id] = sha256
        return True

    def known_entries(self, statement_id: str) -> set[str]:
        return {
            stored.entry.entry_ref
            for stored in self._table("bank_entries").values()
            if stored.entry.statement_id == statement_id
        }

    def add_bank_entry(self, entry: BankEntry, outcome: str, payment_id: str | None, at: datetime) -> int:
        if entry.entry_ref in self.known_entries(entry.statement_id):
            raise Conflict(
                f"entry {entry.entry_ref} of {entry.statement_id} already exists", field="entry_ref"
            )
        entry_id = self._next_id("bank_entries")
        stored = replace(entry, amount=entry.amount.quantize(CENT))
        self._table("bank_entries")[entry_id] = StoredEntry(stored, outcome, payment_id)
        return entry_id

    def park(self, bank_entry_id: int, reason: str, at: datetime) -> None:
        entry = self._table("bank_entries")[bank_entry_id].entry
        parked_id = self._next_id("parked_entries")
        # the entry is kept by its id: resolving it changes the bank entry's outcome, not this row
        self._table("parked_entries")[parked_id] = (bank_entry_id, ParkedEntry(parked_id, entry, reason, at))

    def parked(self, *, open_only: bool = True) -> list[ParkedEntry]:
        rows = sorted(self._table("parked_entries").items())
        return [parked for _, (_, parked) in rows if not open_only or parked.resolved_at is None]

    def resolve_parked(self, parked_id: int, payment_id: str, at: datetime) -> None:
        parked_entries, entries = self._table("parked_entries"), self._table("bank_entries")
        entry_id, parked = parked_entries[parked_id]
        parked_entries[parked_id] = (entry_id, replace(parked, resolved_at=at, payment_id=payment_id))
        entries[entry_id] = entries[entry_id]._replace(outcome="matched", payment_id=payment_id)

    # dunning ----------------------------------------------------------------------------------------
    def add_reminder(
        self, number: str, party_id: str, level: int, sent_on: date, fee: Decimal, outstanding: Decimal
    ) -> None:
        reminders = self._table("reminders")
        if (number, level) in reminders:
            raise Conflict(f"reminder {level} of {number} already sent", field="level")
        reminders[(number, level)] = sent_on

    def reminders(self) -> dict[str, dict[int, date]]:
        found: dict[str, dict[int, date]] = {}
        for (number, level), sent_on in self._table("reminders").items():
            found.setdefault(number, {})[level] = sent_on
        return found

    def add_charge(
        self,
        party_id: str,
        kind: str,
        source_invoice: str | None,
        line: InvoiceLine,
        created_on: date,
        accrued_total: Decimal | None = None,
    ) -> int:
        charge_id = self._next_id("pending_charges")
        amount = line.amount.quantize(CENT)
        stored_line = InvoiceLine(  # what the SQL row keeps of the line, as it reads it back
            rule_id=line.rule_id,
            description_key=line.description_key,
            customer_id=dict(line.description_params).get("customer", party_id),
            item_kind=kind,
            period=None,
            quantity=Decimal(1),
            unit_price=amount,
            amount=amount,
            sources=tuple(SourceRef._make(source) for source in line.sources),
            description_params=tuple(sorted(dict(line.description_params).items())),
            vat=charge_vat(kind),
        )
        charge = PendingCharge(charge_id, party_id, kind, source_invoice, stored_line, created_on)
        self._table("pending_charges")[charge_id] = StoredCharge(charge, accrued_total)
        return charge_id

    def interest_charged(self) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for _, stored in sorted(self._table("pending_charges").items()):
            charge = stored.charge
            if charge.kind == "late_interest" and stored.accrued_total is not None:
                found[str(charge.source_invoice)] = stored.accrued_total.quantize(CENT)
        return found

    def charges(self, party_id: str | None = None, *, pending_only: bool = True) -> list[PendingCharge]:
        return [
            stored.charge
            for _, stored in sorted(self._table("pending_charges").items())
            if (party_id is None or stored.charge.party_id == party_id)
            and (not pending_only or stored.charge.invoiced_in is None)
        ]

    def mark_charges_invoiced(self, charge_ids: Sequence[int], invoice_number: str) -> None:
        table = self._table("pending_charges")
        for charge_id in charge_ids:
            if charge_id in table:
                stored = table[charge_id]
                table[charge_id] = stored._replace(charge=replace(stored.charge, invoiced_in=invoice_number))
