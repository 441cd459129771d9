from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from nuage.billing.invoices import DocumentType, InvoiceDraft, issue, void_and_regenerate
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.vat import BE_STANDARD_RATE, VatRegime, VatTreatment
from nuage.errors import Conflict
from nuage.shared.month import Month

STANDARD = VatTreatment(VatRegime.STANDARD, BE_STANDARD_RATE)


def line(quantity: str, unit_price: str, proration: Fraction | None = None) -> InvoiceLine:
    return make_line(
        rule_id="BIL-2",
        description_key="line.recurring.billable_users",
        customer_id="cus-1",
        item_kind="billable_users",
        period=Month(2025, 2),
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        sources=(SourceRef("monthly-summary", "s:billable_users"),),
        proration=proration,
    )


def draft(*lines: InvoiceLine) -> InvoiceDraft:
    return InvoiceDraft(
        "key", DocumentType.INVOICE, "cus-1", date(2025, 1, 28), Month(2025, 1), lines, STANDARD
    )


@pytest.mark.rule("BIL-10")
def test_lines_are_rounded_half_up_once_and_cite_their_rule_and_sources() -> None:
    prorated = make_line(
        rule_id="BIL-2",
        description_key="line.recurring.billable_users",
        customer_id="cus-1",
        item_kind="billable_users",
        period=Month(2025, 1),
        quantity=Decimal(3),
        unit_price=Decimal("19.95"),
        sources=(SourceRef("monthly-summary", "s:billable_users"),),
        proration=Fraction(22, 31),
        params={"share": "22/31"},
    )
    assert prorated.amount == Decimal("42.47")  # 59.85 × 22/31 = 42.4741...
    assert prorated.rule_id == "BIL-2"
    assert prorated.description_params == (("share", "22/31"),)
    with pytest.raises(KeyError):
        make_line(
            rule_id="BIL-99",
            description_key="x",
            customer_id="c",
            item_kind="x",
            period=None,
            quantity=Decimal(1),
            unit_price=Decimal(1),
            sources=(),
        )


@pytest.mark.rule("BIL-4")
def test_vat_is_computed_per_rate_on_the_sum_of_rounded_lines() -> None:
    totals = draft(line("1", "0.125"), line("1", "0.125")).totals  # each rounds to 0.13
    assert totals.net == Decimal("0.26")
    assert totals.vat == Decimal("0.05")  # 0.0546 half-up
    assert totals.gross == Decimal("0.31")
    assert [(item.rate, item.base, item.vat) for item in totals.breakdown] == [
        (Decimal("0.21"), Decimal("0.26"), Decimal("0.05"))
    ]


@pytest.mark.rule("BIL-4")
def test_a_correction_is_a_credit_note_plus_a_new_invoice_that_replaces_the_old_one() -> None:
    issued = issue(draft(line("10", "20.00")), "INV-2025-000001", datetime(2025, 1, 28, tzinfo=UTC))
    credit_note, replacement = void_and_regenerate(issued, [line("9", "20.00")], date(2025, 2, 3))
    assert credit_note.document_type is DocumentType.CREDIT_NOTE
    assert credit_note.credits == "INV-2025-000001"
    assert credit_note.totals.gross == Decimal("-242.00")
    assert credit_note.lines[0].sources[-1] == SourceRef("invoice", "INV-2025-000001")
    assert replacement.replaces == "INV-2025-000001"
    assert replacement.totals.gross == Decimal("217.80")
    assert issued.totals.gross == Decimal("242.00")  # the issued invoice is unchanged
    credit = issue(credit_note, "CN-2025-000001", datetime(2025, 2, 3, tzinfo=UTC))
    with pytest.raises(Conflict):
        void_and_regenerate(credit, [], date(2025, 2, 3))
    with pytest.raises(Conflict):
        issue(draft(), "INV-2025-000002", datetime(2025, 1, 28, tzinfo=UTC))
