"""The in-memory payment store answers as the SQL one: the same checks on memory, SQLite and PostgreSQL,
so the payments use cases' rule tests on the memory unit of work prove what they would on a database."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nuage.billing.lines import SourceRef, make_line
from nuage.billing.vat import COMPENSATION_VAT
from nuage.errors import Conflict
from nuage.payments.camt import BankEntry
from nuage.payments.ledger import Payment
from nuage.services.payments.ports import DeliveryRecord, InvoiceSnapshot, StoredDocument
from nuage.shared.month import Month

from .billing_records import T0, add_parties, invoice, users_line


def _issue(uow: Any) -> None:
    """The parties, and invoices F-1 (cus_a) and F-2 (par_1) the payments rows refer to; committed."""
    add_parties(uow)
    uow.billing.add_invoices(
        [
            invoice("F-1", "cus_a", users_line("cus_a", Month(2026, 2), 3)),
            invoice("F-2", "par_1", users_line("cus_b", Month(2026, 2), 1), minutes=1),
        ],
        "monthly",
    )
    uow.commit()


def _entry(ref: str, amount: str, statement: str = "st-1") -> BankEntry:
    return BankEntry(
        statement, ref, Decimal(amount), "EUR", True, date(2026, 3, 20), "+++090/9337/55493+++", "A", None
    )


@pytest.mark.rule("BIL-4")
def test_documents_and_deliveries(uow_factory: Any) -> None:
    document = StoredDocument(
        "F-1", "cus_a", "fr", "nuage", None, date(2026, 3, 31), b"%PDF", "a" * 64, b"<Invoice/>", "b" * 64, T0
    )
    sent = DeliveryRecord("F-1", "invoice", "a@example.com", "sent", 1, T0, message_id="<m1>")
    failed = DeliveryRecord("F-2", "invoice", "p@example.com", "failed", 3, T0, error="refused")
    with uow_factory() as uow:
        _issue(uow)
        uow.payments.add_document(document)
        for record in (sent, failed, sent):
            uow.payments.add_delivery(record)
        uow.commit()
    with uow_factory() as uow:
        assert uow.payments.find_document("F-1") == document
        assert uow.payments.find_document("F-2") is None
        assert uow.payments.document_numbers() == {"F-1"}
        assert uow.payments.deliveries() == [sent, failed, sent]
        assert uow.payments.deliveries("F-2") == [failed]
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.payments.add_document(document)


@pytest.mark.rule("BIL-4")
def test_snapshots_are_kept_once_as_they_were(uow_factory: Any) -> None:
    content = '{"buyer":{"name":"Atelier Dupont"},"version":1}'
    snapshot = InvoiceSnapshot("F-1", content, hashlib.sha256(content.encode()).hexdigest(), T0)
    with uow_factory() as uow:
        _issue(uow)
        uow.payments.add_snapshots([snapshot])
        uow.payments.add_snapshots([])
        uow.commit()
    with uow_factory() as uow:
        assert uow.payments.find_snapshot("F-1") == snapshot
        assert uow.payments.find_snapshot("F-2") is None
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.payments.add_snapshots([replace(snapshot, content="{}")])


@pytest.mark.rule("PAY-1")
def test_payments_statements_entries_and_parked_entries(uow_factory: Any) -> None:
    with uow_factory() as uow:
        _issue(uow)
        store = uow.payments
        store.add_payment(Payment("pay_2", "cus_a", date(2026, 3, 21), Decimal("10.5"), "F-1"), "camt", T0)
        store.add_payment(Payment("pay_1", "par_1", date(2026, 3, 21), Decimal("4.00")), "manual", T0, "cash")
        store.add_payment(Payment("pay_0", "cus_a", date(2026, 3, 22), Decimal("1.00")), "manual", T0)
        assert store.add_statement("st-1", "BE68539007547034", "c" * 64, 2, T0)
        assert not store.add_statement("st-1", "BE68539007547034", "c" * 64, 2, T0)
        matched = store.add_bank_entry(_entry("e1", "10.50"), "matched", "pay_2", T0)
        unknown = store.add_bank_entry(_entry("e2", "7.25"), "parked", None, T0)
        other = store.add_bank_entry(_entry("e3", "1.00"), "parked", None, T0)
        assert matched != unknown
        store.park(unknown, "no invoice with this reference", T0)
        store.park(other, "debit", T0)
        uow.commit()
    with uow_factory() as uow:
        store = uow.payments
        assert [(p.payment_id, p.amount) for p in store.payments()] == [
            ("pay_1", Decimal("4.00")),
            ("pay_2", Decimal("10.50")),
            ("pay_0", Decimal("1.00")),
        ]
        assert store.known_entries("st-1") == {"e1", "e2", "e3"}
        assert store.known_entries("st-2") == set()
        parked = store.parked()
        assert [(p.entry, p.reason, p.resolved_at) for p in parked] == [
            (_entry("e2", "7.25"), "no invoice with this reference", None),
            (_entry("e3", "1.00"), "debit", None),
        ]
        store.add_payment(Payment("pay_3", "cus_a", date(2026, 3, 23), Decimal("7.25"), "F-1"), "manual", T0)
        store.resolve_parked(parked[0].parked_id, "pay_3", T0 + timedelta(hours=1))
        uow.commit()
    with uow_factory() as uow:
        assert [p.entry.entry_ref for p in uow.payments.parked()] == ["e3"]
        resolved = uow.payments.parked(open_only=False)[0]
        assert (resolved.resolved_at, resolved.payment_id) == (T0 + timedelta(hours=1), "pay_3")
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.payments.add_bank_entry(_entry("e1", "10.50"), "matched", None, T0)


@pytest.mark.rule("PAY-2")
def test_reminders_and_pending_charges(uow_factory: Any) -> None:
    def charge_line(party: str, amount: str, kind: str = "late_interest") -> Any:
        return make_line(
            rule_id="PAY-2",
            description_key=f"line.{kind}",
            customer_id=party,
            item_kind=kind,
            period=None,
            quantity=Decimal(1),
            unit_price=Decimal(amount),
            sources=(SourceRef("invoice", "F-1"),),
            params={"invoice": "F-1", "days": "12"},
            vat=COMPENSATION_VAT,
        )

    with uow_factory() as uow:
        _issue(uow)
        store = uow.payments
        store.add_reminder("F-1", "cus_a", 1, date(2026, 4, 5), Decimal(0), Decimal("71.82"))
        store.add_reminder("F-1", "cus_a", 2, date(2026, 4, 19), Decimal("10.00"), Decimal("71.82"))
        store.add_reminder("F-2", "par_1", 1, date(2026, 4, 5), Decimal(0), Decimal("24.14"))
        first = store.add_charge(
            "cus_a", "late_interest", "F-1", charge_line("cus_a", "0.21"), date(2026, 4, 5), Decimal("0.2104")
        )
        second = store.add_charge(
            "cus_a",
            "late_interest",
            "F-1",
            charge_line("cus_a", "0.33"),
            date(2026, 4, 19),
            Decimal("0.5412"),
        )
        fee = store.add_charge(
            "cus_a", "reminder_fee", "F-1", charge_line("cus_a", "10.00", "reminder_fee"), date(2026, 4, 19)
        )
        other = store.add_charge(
            "par_1", "late_interest", "F-2", charge_line("par_1", "0.07"), date(2026, 4, 5), Decimal("0.07")
        )
        assert len({first, second, fee, other}) == 4
        uow.commit()
    with uow_factory() as uow:
        store = uow.payments
        assert store.reminders() == {
            "F-1": {1: date(2026, 4, 5), 2: date(2026, 4, 19)},
            "F-2": {1: date(2026, 4, 5)},
        }
        assert store.interest_charged() == {"F-1": Decimal("0.54"), "F-2": Decimal("0.07")}
        pending = store.charges("cus_a")
        assert [c.charge_id for c in pending] == [first, second, fee]
        line = pending[0].line
        assert (line.amount, line.unit_price, line.quantity, line.period, line.vat) == (
            Decimal("0.21"),
            Decimal("0.21"),
            Decimal(1),
            None,
            COMPENSATION_VAT,
        )
        assert line.sources == (SourceRef("invoice", "F-1"),)
        assert line.description_params == (("days", "12"), ("invoice", "F-1"))
        store.mark_charges_invoiced([first, fee], "F-2")
        uow.commit()
    with uow_factory() as uow:
        store = uow.payments
        assert [c.charge_id for c in store.charges()] == [second, other]
        assert [c.invoiced_in for c in store.charges("cus_a", pending_only=False)] == ["F-2", None, "F-2"]
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.payments.add_reminder("F-1", "cus_a", 1, date(2026, 4, 6), Decimal(0), Decimal(1))
