"""The SQL side of ``nuage.services.payments.ports.PaymentStore``, on an open unit of work's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, func, insert, select, update

from nuage.billing.lines import InvoiceLine, SourceRef
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
from nuage.shared.money import CENT, to_minor
from nuage.storage.sql import payments_tables as pt


class SqlPaymentStore:
    """Documents, deliveries, payments, statements and dunning in the unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # documents ------------------------------------------------------------------------------------
    def find_document(self, number: str) -> StoredDocument | None:
        row = self._c.execute(
            select(pt.invoice_documents).where(pt.invoice_documents.c.number == number)
        ).first()
        return None if row is None else StoredDocument(**row._asdict())

    def add_document(self, document: StoredDocument) -> None:
        self._c.execute(insert(pt.invoice_documents).values(**document.__dict__))

    def document_numbers(self) -> set[str]:
        return set(self._c.execute(select(pt.invoice_documents.c.number)).scalars())

    def add_snapshots(self, snapshots: Sequence[InvoiceSnapshot]) -> None:
        if snapshots:
            self._c.execute(insert(pt.invoice_snapshots), [s.__dict__ for s in snapshots])

    def find_snapshot(self, number: str) -> InvoiceSnapshot | None:
        row = self._c.execute(
            select(pt.invoice_snapshots).where(pt.invoice_snapshots.c.number == number)
        ).first()
        return None if row is None else InvoiceSnapshot(**row._asdict())

    # deliveries -----------------------------------------------------------------------------------
    def add_delivery(self, record: DeliveryRecord) -> None:
        self._c.execute(insert(pt.deliveries).values(**record.__dict__))

    def deliveries(self, number: str | None = None) -> list[DeliveryRecord]:
        query = select(pt.deliveries).order_by(pt.deliveries.c.id)
        if number is not None:
            query = query.where(pt.deliveries.c.number == number)
        return [
            DeliveryRecord(**{k: v for k, v in row._asdict().items() if k != "id"})
            for row in self._c.execute(query)
        ]

    # payments and statements ----------------------------------------------------------------------
    def add_payment(
        self, payment: Payment, source: str, recorded_at: datetime, note: str | None = None
    ) -> None:
        self._c.execute(
            insert(pt.payments).values(
                id=payment.payment_id,
                party_id=payment.party_id,
                invoice_number=payment.invoice_number,
                received_on=payment.received_on,
                amount_minor=to_minor(payment.amount),
                amount_precise=payment.amount,
                source=source,
                note=note,
                recorded_at=recorded_at,
            )
        )

    def payments(self) -> list[Payment]:
        rows = self._c.execute(select(pt.payments).order_by(pt.payments.c.received_on, pt.payments.c.id))
        return [
            Payment(
                row.id, row.party_id, row.received_on, row.amount_precise.quantize(CENT), row.invoice_number
            )
            for row in rows
        ]

    def add_statement(
        self, statement_id: str, iban: str | None, sha256: str, count: int, at: datetime
    ) -> bool:
        table = pt.bank_statements
        if self._c.execute(select(table.c.statement_id).where(table.c.statement_id == statement_id)).first():
            return False
        self._c.execute(
            insert(table).values(
                statement_id=statement_id, account_iban=iban, sha256=sha256, entry_count=count, imported_at=at
            )
        )
        return True

    def known_entries(self, statement_id: str) -> set[str]:
        table = pt.bank_entries
        return set(
            self._c.execute(select(table.c.entry_ref).where(table.c.statement_id == statement_id)).scalars()
        )

    def add_bank_entry(self, entry: BankEntry, outcome: str, payment_id: str | None, at: datetime) -> int:
        result = self._c.execute(
            insert(pt.bank_entries)
            .values(
                statement_id=entry.statement_id,
                entry_ref=entry.entry_ref,
                booked_on=entry.booked_on,
                amount_minor=to_minor(entry.amount),
                amount_precise=entry.amount,
                currency=entry.currency,
                credit=1 if entry.credit else 0,
                reference=entry.reference,
                debtor_name=entry.debtor_name,
                debtor_iban=entry.debtor_iban,
                outcome=outcome,
                payment_id=payment_id,
                imported_at=at,
            )
            .returning(pt.bank_entries.c.id)
        )
        return int(result.scalar_one())

    def park(self, bank_entry_id: int, reason: str, at: datetime) -> None:
        self._c.execute(
            insert(pt.parked_entries).values(bank_entry_id=bank_entry_id, reason=reason, parked_at=at)
        )

    def parked(self, *, open_only: bool = True) -> list[ParkedEntry]:
        p, e = pt.parked_entries, pt.bank_entries
        query = select(p, e).join(e, e.c.id == p.c.bank_entry_id).order_by(p.c.id)
        if open_only:
            query = query.where(p.c.resolved_at.is_(None))
        found = []
        for row in self._c.execute(query):
            data = row._mapping
            entry = BankEntry(
                data[e.c.statement_id],
                data[e.c.entry_ref],
                data[e.c.amount_precise].quantize(CENT),
                data[e.c.currency],
                bool(data[e.c.credit]),
                data[e.c.booked_on],
                data[e.c.reference],
                data[e.c.debtor_name],
                data[e.c.debtor_iban],
            )
            found.append(
                ParkedEntry(
                    data[p.c.id],
                    entry,
                    data[p.c.reason],
                    data[p.c.parked_at],
                    data[p.c.resolved_at],
                    data[p.c.payment_id],
                )
            )
        return found

    def resolve_parked(self, parked_id: int, payment_id: str, at: datetime) -> None:
        p = pt.parked_entries
        self._c.execute(update(p).where(p.c.id == parked_id).values(resolved_at=at, payment_id=payment_id))
        entry_id = self._c.execute(select(p.c.bank_entry_id).where(p.c.id == parked_id)).scalar_one()
        e = pt.bank_entries
        self._c.execute(update(e).where(e.c.id == entry_id).values(outcome="matched", payment_id=payment_id))

    # dunning ----------------------------------------------------------------------------------------
    def add_reminder(
        self, number: str, party_id: str, level: int, sent_on: date, fee: Decimal, outstanding: Decimal
    ) -> None:
        self._c.execute(
            insert(pt.reminders).values(
                invoice_number=number,
                level=level,
                party_id=party_id,
                sent_on=sent_on,
                fee_minor=to_minor(fee),
                fee_precise=fee,
                outstanding_precise=outstanding,
            )
        )

    def reminders(self) -> dict[str, dict[int, date]]:
        found: dict[str, dict[int, date]] = {}
        for row in self._c.execute(select(pt.reminders)):
            found.setdefault(row.invoice_number, {})[row.level] = row.sent_on
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
        result = self._c.execute(
            insert(pt.pending_charges)
            .values(
                party_id=party_id,
                kind=kind,
                source_invoice=source_invoice,
                rule_id=line.rule_id,
                description_key=line.description_key,
                params=dict(line.description_params),
                sources=list(line.sources),  # BIL-10: each SourceRef is stored as [kind, key]
                amount_minor=to_minor(line.amount),
                amount_precise=line.amount,
                accrued_total_precise=accrued_total,
                created_on=created_on,
            )
            .returning(pt.pending_charges.c.id)
        )
        return int(result.scalar_one())

    def interest_charged(self) -> dict[str, Decimal]:
        c = pt.pending_charges
        query = (
            select(c.c.source_invoice, func.count(), func.max(c.c.id))
            .where(c.c.kind == "late_interest")
            .group_by(c.c.source_invoice)
        )
        found: dict[str, Decimal] = {}
        for source_invoice, _, last_id in self._c.execute(query):
            total = self._c.execute(select(c.c.accrued_total_precise).where(c.c.id == last_id)).scalar_one()
            found[str(source_invoice)] = total.quantize(CENT)
        return found

    def charges(self, party_id: str | None = None, *, pending_only: bool = True) -> list[PendingCharge]:
        c = pt.pending_charges
        query = select(c).order_by(c.c.id)
        if party_id is not None:
            query = query.where(c.c.party_id == party_id)
        if pending_only:
            query = query.where(c.c.invoiced_in.is_(None))
        found = []
        for row in self._c.execute(query):
            line = InvoiceLine(
                rule_id=row.rule_id,
                description_key=row.description_key,
                customer_id=row.params.get("customer", row.party_id),  # TEN-5: the customer it is for
                item_kind=row.kind,
                period=None,
                quantity=Decimal(1),
                unit_price=row.amount_precise.quantize(CENT),
                amount=row.amount_precise.quantize(CENT),
                sources=tuple(SourceRef._make(pair) for pair in row.sources),
                description_params=tuple(sorted(row.params.items())),
                vat=charge_vat(row.kind),
            )
            found.append(
                PendingCharge(
                    row.id, row.party_id, row.kind, row.source_invoice, line, row.created_on, row.invoiced_in
                )
            )
        return found

    def mark_charges_invoiced(self, charge_ids: Sequence[int], invoice_number: str) -> None:
        c = pt.pending_charges
        self._c.execute(update(c).where(c.c.id.in_(list(charge_ids))).values(invoiced_in=invoice_number))
