from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from nuage.adapters.einvoice_validation import rule_findings, schema_findings, validate_einvoice
from nuage.documents.findings import EInvoiceInvalid
from nuage.documents.ubl import CUSTOMIZATION_ID, NS_CAC, NS_CBC, PROFILE_ID, build_ubl

from .samples import all_documents

NS = {"cac": NS_CAC, "cbc": NS_CBC}
DOCUMENTS = all_documents()


def nodes(tree: etree._Element, path: str) -> list[etree._Element]:
    found = tree.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [node for node in found if isinstance(node, etree._Element)]


def text(tree: etree._Element, path: str) -> list[str]:
    return [str(node.text) for node in nodes(tree, path)]


@pytest.mark.rule("BIL-4")
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_passes_the_ubl_schema_and_the_en16931_rules(name: str) -> None:
    document = build_ubl(DOCUMENTS[name])
    assert schema_findings(document) == ()
    fatal = [f for f in rule_findings(document) if f.severity != "warning"]
    assert fatal == []
    validate_einvoice(DOCUMENTS[name].number, document)


@pytest.mark.rule("BIL-4")
def test_peppol_bis_3_identifiers_and_belgian_endpoints() -> None:
    tree = etree.fromstring(build_ubl(DOCUMENTS["standard"]))
    assert text(tree, "cbc:CustomizationID") == [CUSTOMIZATION_ID]
    assert text(tree, "cbc:ProfileID") == [PROFILE_ID]
    assert text(tree, "cbc:InvoiceTypeCode") == ["380"]
    endpoints = nodes(tree, "//cbc:EndpointID")
    assert [(e.get("schemeID"), e.text) for e in endpoints] == [
        ("0208", "0987654321"),
        ("0208", "0123456749"),
    ]
    assert text(tree, "cac:PaymentMeans/cbc:PaymentID") == ["+++202/6000/00192+++"]
    assert text(tree, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == ["BE68539007547034"]
    assert text(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["S"]
    assert text(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == ["21"]


@pytest.mark.rule("BIL-10")
def test_each_line_cites_its_rule_and_sources() -> None:
    tree = etree.fromstring(build_ubl(DOCUMENTS["standard"]))
    rules = text(tree, "cac:InvoiceLine/cac:Item/cac:AdditionalItemProperty[cbc:Name='Rule']/cbc:Value")
    assert rules == ["BIL-2", "CNT-3", "BIL-3", "BIL-1"]
    sources = text(
        tree, "cac:InvoiceLine[1]/cac:Item/cac:AdditionalItemProperty[cbc:Name='Source']/cbc:Value"
    )
    assert sources == ["monthly-summary:cus-dupont:2026-01:abc:billable_users"]
    # BIL-2 pro rata as a line allowance: 2 × 19.95 − 11.58 = 28.32
    assert text(tree, "cac:InvoiceLine[1]/cbc:LineExtensionAmount") == ["28.32"]
    assert text(tree, "cac:InvoiceLine[1]/cac:AllowanceCharge/cbc:Amount") == ["11.58"]


@pytest.mark.rule("BIL-4")
def test_reverse_charge_and_outside_eu_categories() -> None:
    reverse = etree.fromstring(build_ubl(DOCUMENTS["reverse-charge"]))
    assert text(reverse, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["AE"]
    assert text(reverse, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode") == [
        "VATEX-EU-AE"
    ]
    assert text(reverse, "cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == ["FR40303265045"]
    outside = etree.fromstring(build_ubl(DOCUMENTS["outside-eu"]))
    assert text(outside, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID") == ["O"]
    assert text(outside, "//cac:PartyTaxScheme/cbc:CompanyID") == []  # BR-O-02
    assert text(outside, "cac:TaxTotal/cbc:TaxAmount") == ["0.00"]


@pytest.mark.rule("BIL-4")
def test_credit_note_is_a_381_with_positive_amounts_citing_the_invoice() -> None:
    tree = etree.fromstring(build_ubl(DOCUMENTS["credit-note"]))
    assert etree.QName(tree).localname == "CreditNote"
    assert text(tree, "cbc:CreditNoteTypeCode") == ["381"]
    assert text(tree, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == ["INV-2026-000001"]
    payable = Decimal(text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount")[0])
    assert payable == DOCUMENTS["standard"].issued.totals.gross > 0


@pytest.mark.rule("BIL-4")
def test_a_broken_invoice_is_refused_naming_the_rule() -> None:
    tree = etree.fromstring(build_ubl(DOCUMENTS["standard"]))
    total = nodes(tree, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount")[0]
    total.text = "1.00"
    broken = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    with pytest.raises(EInvoiceInvalid, match="BR-CO-10") as caught:
        validate_einvoice("INV-2026-000001", broken)
    assert "BR-CO-10" in caught.value.rule_ids


@pytest.mark.rule("BIL-4")
def test_a_schema_violation_is_refused_before_the_rules_run() -> None:
    tree = etree.fromstring(build_ubl(DOCUMENTS["standard"]))
    etree.SubElement(tree, f"{{{NS_CBC}}}Bogus").text = "x"
    with pytest.raises(EInvoiceInvalid, match="UBL-XSD"):
        validate_einvoice("INV-2026-000001", etree.tostring(tree))
