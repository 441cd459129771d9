from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.payments.ledger import Payment, Receivable, settle

D = Decimal
A = Receivable("INV-2026-000001", "par-1", date(2026, 1, 28), date(2026, 2, 27), D("100.00"))
B = Receivable("INV-2026-000002", "par-1", date(2026, 2, 28), date(2026, 3, 30), D("50.00"))


@pytest.mark.rule("PAY-1")
def test_partial_payment_leaves_the_rest_open() -> None:
    ledger = settle([A], [Payment("p1", "par-1", date(2026, 2, 1), D("40.00"), A.number)])
    assert ledger.invoices[A.number].outstanding == D("60.00")
    assert ledger.balance("par-1") == D("60.00")
    assert [s.number for s in ledger.overdue(date(2026, 2, 28))] == [A.number]


@pytest.mark.rule("PAY-1")
def test_over_payment_is_credit_that_pays_the_next_invoice() -> None:
    ledger = settle([A, B], [Payment("p1", "par-1", date(2026, 2, 1), D("130.00"), A.number)])
    assert ledger.invoices[A.number].outstanding == D(0)
    # the 30.00 over-paid stayed on the account until B was issued, then paid part of it
    assert ledger.invoices[B.number].settlements == [(date(2026, 2, 28), D("30.00"))]
    assert ledger.balance("par-1") == D("20.00")
    only_a = settle([A], [Payment("p1", "par-1", date(2026, 2, 1), D("130.00"), A.number)])
    assert only_a.credit["par-1"] == D("30.00")
    assert only_a.balance("par-1") == D("-30.00")


@pytest.mark.rule("PAY-1")
def test_credit_note_pays_the_invoice_it_cancels() -> None:
    credit = Receivable(
        "CN-2026-000001", "par-1", date(2026, 2, 2), date(2026, 2, 2), D("100.00"), True, A.number
    )
    ledger = settle([A, credit], [])
    assert ledger.invoices[A.number].outstanding == D(0)
    assert ledger.balance("par-1") == D(0)


@pytest.mark.rule("TEN-5")
def test_a_payment_for_another_partys_invoice_is_only_credit() -> None:
    ledger = settle([A], [Payment("p1", "cus-9", date(2026, 2, 1), D("100.00"), A.number)])
    assert ledger.invoices[A.number].outstanding == D("100.00")
    assert ledger.balance("cus-9") == D("-100.00")
