"""BIL-4/PAY-2: per-line VAT categories: PAY-2 lines are exempt (E) next to standard (S) or
reverse-charge (AE) lines, and outside the EU every line is O (BR-O-11..14)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from nuage.adapters.einvoice_validation import rule_findings, validate_einvoice
from nuage.billing.invoices import IssuedInvoice, issue
from nuage.billing.vat import COMPENSATION_VAT, VatCategory
from nuage.documents.html import render_html
from nuage.documents.ubl import NS_CAC, NS_CBC, build_ubl
from nuage.payments.dunning import interest_line, reminder_fee_line

from .samples import DUPONT, FRENCH, SWISS, document, invoice

NS = {"cac": NS_CAC, "cbc": NS_CBC}


def _with_charges(issued: IssuedInvoice) -> IssuedInvoice:
    party = issued.draft.invoiced_party_id
    charges = (
        interest_line("INV-2025-000917", party, Decimal("1.37"), 1, date(2026, 1, 20)),
        reminder_fee_line("INV-2025-000917", party, 2, Decimal("7.50")),
    )
    draft = replace(issued.draft, lines=issued.draft.lines + charges)
    return issue(draft, issued.number, datetime(2026, 1, 28, 9, tzinfo=UTC))


def _texts(tree: etree._Element, path: str) -> list[str]:
    found = tree.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [str(node.text) for node in found if isinstance(node, etree._Element)]


@pytest.mark.rule("PAY-2")
@pytest.mark.rule("BIL-4")
def test_interest_and_fees_are_exempt_lines_next_to_standard_ones_with_exact_totals() -> None:
    plain = invoice(DUPONT)
    mixed = _with_charges(plain)
    totals = mixed.totals
    standard, exempt = totals.breakdown
    assert standard.category is VatCategory.STANDARD
    assert standard.base == plain.totals.net
    assert standard.vat == plain.totals.vat  # the charges add no VAT
    assert exempt.category is VatCategory.EXEMPT
    assert (exempt.base, exempt.vat, exempt.rate) == (Decimal("8.87"), Decimal("0.00"), Decimal(0))
    assert exempt.exemption_key == COMPENSATION_VAT.exemption_key
    assert totals.net == plain.totals.net + Decimal("8.87")
    assert totals.vat == plain.totals.vat
    assert totals.gross == plain.totals.gross + Decimal("8.87")

    doc = document(mixed, DUPONT, "fr")
    ubl = build_ubl(doc)
    validate_einvoice(mixed.number, ubl)  # UBL XSD + EN 16931 (BR-E-*, BR-S-*, BR-CO-*)
    assert [f for f in rule_findings(ubl) if f.severity != "warning"] == []
    tree = etree.fromstring(ubl)
    assert _texts(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["S", "E"]
    assert _texts(tree, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount") == [
        f"{standard.base:.2f}",
        "8.87",
    ]
    assert _texts(tree, "cac:TaxTotal/cbc:TaxAmount") == [f"{totals.vat:.2f}"]
    assert _texts(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount") == [f"{totals.gross:.2f}"]
    reasons = _texts(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason")
    assert len(reasons) == 1
    assert "TVA" in reasons[0]
    line_categories = _texts(tree, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
    assert line_categories[-2:] == ["E", "E"]
    assert set(line_categories[:-2]) == {"S"}
    html = render_html(doc)
    assert "(E)" in html
    assert "(S)" in html


@pytest.mark.rule("PAY-2")
@pytest.mark.rule("BIL-4")
def test_interest_next_to_reverse_charge_lines_validates() -> None:
    mixed = _with_charges(invoice(FRENCH, number="INV-2026-000003"))
    assert [row.category for row in mixed.totals.breakdown] == [
        VatCategory.REVERSE_CHARGE,
        VatCategory.EXEMPT,
    ]
    validate_einvoice(mixed.number, build_ubl(document(mixed, FRENCH, "fr")))


@pytest.mark.rule("PAY-2")
@pytest.mark.rule("BIL-4")
def test_outside_the_eu_every_line_is_o_even_interest() -> None:
    mixed = _with_charges(invoice(SWISS, number="INV-2026-000004"))
    (only,) = mixed.totals.breakdown
    assert only.category is VatCategory.OUTSIDE_SCOPE
    ubl = build_ubl(document(mixed, SWISS, "en"))
    validate_einvoice(mixed.number, ubl)
    tree = etree.fromstring(ubl)
    assert set(_texts(tree, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID")) == {"O"}
