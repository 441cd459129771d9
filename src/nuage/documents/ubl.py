"""Peppol BIS Billing 3.0 e-invoices (BIL-4): UBL 2.1 Invoice and CreditNote, built with lxml.

Decisions (each checked by the EN 16931 rules in ``nuage.adapters.einvoice_validation``):

* Endpoints: a Belgian party's enterprise number under scheme ``0208`` (KBO/BCE); another
  party's VAT number under its country's EAS scheme where one is listed below; else its
  e-mail address (``EM``).
* VAT categories, per line (``billing.vat.line_vat``) and one breakdown per category:
  ``S`` 21 % (Belgium); ``AE`` reverse charge with the exemption reason ``VATEX-EU-AE``
  (EU business customers); ``E`` exempt with an exemption reason text (PAY-2 interest,
  reminder fees and collection costs, next to ``S`` or ``AE`` lines); ``O`` not subject to
  Belgian VAT with ``VATEX-EU-O``, only on whole invoices to customers outside the EU
  (BR-O-11..14). With ``O``, EN 16931 (BR-O-02) forbids the VAT identifiers, so the
  parties are identified by their legal registration only.
* A BIL-2 pro-rata line keeps its real quantity and unit price; the pro-rata reduction is a
  line allowance (reason code 95) whose reason cites the share, so quantity × price −
  allowance = the line amount, exactly as the PDF shows it.
* Each line carries its rule ID (BIL-10) in the line note and as an item property, and its
  sources as item properties; a credit note (381) carries positive amounts and references
  the invoice it cancels.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from lxml import etree

from nuage.billing.lines import InvoiceLine
from nuage.billing.vat import LineVat, VatCategory, VatRegime, line_vat
from nuage.documents.messages import line_text, message
from nuage.documents.model import DocumentInput, PartyInfo
from nuage.shared.money import ZERO
from nuage.shared.month import Month

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
SEPA_CREDIT_TRANSFER = "58"
UNIT_CODE = "C62"  # "one": counted items, months of service, the traffic line
BE_ENTERPRISE_SCHEME = "0208"
VAT_SCHEMES = {  # EAS codes for VAT numbers (Peppol code list)
    "DE": "9930",
    "ES": "9920",
    "FR": "9957",
    "IE": "9935",
    "LU": "9938",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
}

_CAC = f"{{{NS_CAC}}}"
_CBC = f"{{{NS_CBC}}}"


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _price(value: Decimal) -> str:
    """A unit price: at least two decimals, more when the price has them (per-minute prices)."""
    return _amount(value) if value == value.quantize(Decimal("0.01")) else _plain(value)


def _last_day(month: Month) -> date:
    return month.next().first_day - timedelta(days=1)


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text if text not in ("-0", "") else "0"


class _Builder:
    def __init__(self, root: etree._Element, currency: str) -> None:
        self.root = root
        self.currency = currency

    def cbc(self, parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, _CBC + tag, attributes)
        element.text = text
        return element

    def money(self, parent: etree._Element, tag: str, value: Decimal) -> etree._Element:
        return self.cbc(parent, tag, _amount(value), currencyID=self.currency)

    def cac(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, _CAC + tag)


def endpoint(party: PartyInfo) -> tuple[str, str]:
    """BIL-4: a party's Peppol electronic address (scheme, identifier); see the module docstring."""
    if party.enterprise_number and party.country == "BE":
        return BE_ENTERPRISE_SCHEME, party.enterprise_number
    if party.vat_number and party.country in VAT_SCHEMES:
        return VAT_SCHEMES[party.country], party.vat_number.replace(" ", "").upper()
    if party.email:
        return "EM", party.email
    raise ValueError(f"{party.name}: no Peppol endpoint (no enterprise number, VAT number or e-mail)")


def _party(b: _Builder, parent: etree._Element, party: PartyInfo, *, with_vat: bool) -> None:
    node = b.cac(parent, "Party")
    scheme, identifier = endpoint(party)
    b.cbc(node, "EndpointID", identifier, schemeID=scheme)
    b.cbc(b.cac(node, "PartyName"), "Name", party.name)
    address = b.cac(node, "PostalAddress")
    if party.street:
        b.cbc(address, "StreetName", party.street)
    if party.city:
        b.cbc(address, "CityName", party.city)
    if party.postal_code:
        b.cbc(address, "PostalZone", party.postal_code)
    b.cbc(b.cac(address, "Country"), "IdentificationCode", party.country)
    if with_vat and party.vat_number:
        tax = b.cac(node, "PartyTaxScheme")
        b.cbc(tax, "CompanyID", party.vat_number.replace(" ", "").upper())
        b.cbc(b.cac(tax, "TaxScheme"), "ID", "VAT")
    legal = b.cac(node, "PartyLegalEntity")
    b.cbc(legal, "RegistrationName", party.name)
    if party.enterprise_number and party.country == "BE":
        b.cbc(legal, "CompanyID", party.enterprise_number, schemeID=BE_ENTERPRISE_SCHEME)
    if party.email:
        b.cbc(b.cac(node, "Contact"), "ElectronicMail", party.email)


def _tax_category(
    b: _Builder, parent: etree._Element, name: str, vat: LineVat, language: str, *, reason: bool
) -> None:
    category = b.cac(parent, name)
    b.cbc(category, "ID", vat.category.value)
    if vat.category is not VatCategory.OUTSIDE_SCOPE:
        b.cbc(category, "Percent", _plain(vat.rate * 100))
    if reason and vat.category is not VatCategory.STANDARD:
        if vat.exemption_code is not None:
            b.cbc(category, "TaxExemptionReasonCode", vat.exemption_code)
        if vat.exemption_key:
            b.cbc(category, "TaxExemptionReason", message(vat.exemption_key, language))
    b.cbc(b.cac(category, "TaxScheme"), "ID", "VAT")


def _line_description(line: InvoiceLine, doc: DocumentInput) -> str:
    params = dict(line.description_params)
    text = line_text(line.description_key, doc.language, params)
    customer = doc.customer_names.get(line.customer_id)
    if customer and line.customer_id != doc.buyer.party_id:
        text = f"{text} — {customer}"
    return text


def _line(b: _Builder, doc: DocumentInput, index: int, line: InvoiceLine, sign: Decimal) -> None:
    credit = doc.is_credit_note
    node = b.cac(b.root, "CreditNoteLine" if credit else "InvoiceLine")
    b.cbc(node, "ID", str(index))
    b.cbc(node, "Note", f"{line.rule_id}: {_line_description(line, doc)}")
    quantity = line.quantity * sign
    b.cbc(node, "CreditedQuantity" if credit else "InvoicedQuantity", _plain(quantity), unitCode=UNIT_CODE)
    amount = line.amount * sign
    b.money(node, "LineExtensionAmount", amount)
    if line.period is not None:
        period = b.cac(node, "InvoicePeriod")
        b.cbc(period, "StartDate", line.period.first_day.isoformat())
        b.cbc(period, "EndDate", _last_day(line.period).isoformat())
    allowance = quantity * line.unit_price - amount
    if allowance != ZERO:
        # BIL-2 pro rata (or any rounding of a share): quantity × price − allowance = amount.
        charge = b.cac(node, "AllowanceCharge")
        b.cbc(charge, "ChargeIndicator", "false" if allowance > 0 else "true")
        b.cbc(charge, "AllowanceChargeReasonCode", "95" if allowance > 0 else "ZZZ")
        share = f"{line.proration.numerator}/{line.proration.denominator}" if line.proration else "-"
        b.cbc(
            charge,
            "AllowanceChargeReason",
            f"{line.rule_id} " + message("doc.prorata", doc.language, share=share),
        )
        b.money(charge, "Amount", abs(allowance))
    item = b.cac(node, "Item")
    b.cbc(item, "Description", _line_description(line, doc))
    b.cbc(item, "Name", line_text(line.description_key, doc.language, dict(line.description_params))[:100])
    b.cbc(b.cac(item, "SellersItemIdentification"), "ID", f"{line.rule_id}:{line.item_kind}")
    _tax_category(
        b, item, "ClassifiedTaxCategory", line_vat(line.vat, doc.issued.draft.vat), doc.language, reason=False
    )
    properties = [("Rule", line.rule_id), ("Customer", line.customer_id)]
    properties += [("Source", f"{source.kind}:{source.key}") for source in line.sources[:20]]
    if len(line.sources) > 20:
        properties.append(("Sources", f"+{len(line.sources) - 20}"))
    for name, value in properties:
        prop = b.cac(item, "AdditionalItemProperty")
        b.cbc(prop, "Name", name)
        b.cbc(prop, "Value", value)
    price = b.cac(node, "Price")
    b.cbc(price, "PriceAmount", _price(line.unit_price), currencyID=b.currency)


def build_ubl(doc: DocumentInput) -> bytes:
    """BIL-4: the Peppol BIS Billing 3.0 UBL document (Invoice 380 or CreditNote 381) as UTF-8 bytes."""
    issued = doc.issued
    draft = issued.draft
    credit = doc.is_credit_note
    namespace = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(
        f"{{{namespace}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: namespace, "cac": NS_CAC, "cbc": NS_CBC},  # type: ignore[dict-item]
    )
    b = _Builder(root, draft.currency)
    sign = Decimal(-1) if credit else Decimal(1)  # credit notes carry positive amounts in UBL
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ProfileID", PROFILE_ID)
    b.cbc(root, "ID", issued.number)
    b.cbc(root, "IssueDate", draft.issue_on.isoformat())
    if not credit:
        b.cbc(root, "DueDate", doc.due_on.isoformat())
    b.cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    if draft.vat.mention_key:
        b.cbc(root, "Note", message(draft.vat.mention_key, doc.language))
    b.cbc(root, "DocumentCurrencyCode", draft.currency)
    b.cbc(root, "BuyerReference", doc.buyer.party_id)
    if draft.period is not None:
        period = b.cac(root, "InvoicePeriod")
        b.cbc(period, "StartDate", draft.period.first_day.isoformat())
        b.cbc(period, "EndDate", _last_day(draft.period).isoformat())
    cited = draft.credits or draft.replaces
    if cited:
        b.cbc(b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", cited)
    with_vat = draft.vat.regime is not VatRegime.OUTSIDE_EU  # BR-O-02: no VAT identifiers with O
    _party(b, b.cac(root, "AccountingSupplierParty"), doc.seller, with_vat=with_vat)
    _party(b, b.cac(root, "AccountingCustomerParty"), doc.buyer, with_vat=with_vat)
    totals = issued.totals
    payable = totals.gross * sign
    if not credit:
        means = b.cac(root, "PaymentMeans")
        b.cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER, name="SEPA credit transfer")
        reference = doc.structured_reference
        if reference:
            b.cbc(means, "PaymentID", reference)
        account = b.cac(means, "PayeeFinancialAccount")
        b.cbc(account, "ID", doc.bank.iban.replace(" ", ""))
        b.cbc(account, "Name", doc.bank.holder)
        b.cbc(b.cac(account, "FinancialInstitutionBranch"), "ID", doc.bank.bic)
    terms = b.cac(root, "PaymentTerms")
    b.cbc(terms, "Note", message("doc.terms", doc.language))
    tax_total = b.cac(root, "TaxTotal")
    b.money(tax_total, "TaxAmount", totals.vat * sign)
    for breakdown in totals.breakdown:
        subtotal = b.cac(tax_total, "TaxSubtotal")
        b.money(subtotal, "TaxableAmount", breakdown.base * sign)
        b.money(subtotal, "TaxAmount", breakdown.vat * sign)
        vat = LineVat(breakdown.category, breakdown.rate, breakdown.exemption_code, breakdown.exemption_key)
        _tax_category(b, subtotal, "TaxCategory", vat, doc.language, reason=True)
    monetary = b.cac(root, "LegalMonetaryTotal")
    b.money(monetary, "LineExtensionAmount", totals.net * sign)
    b.money(monetary, "TaxExclusiveAmount", totals.net * sign)
    b.money(monetary, "TaxInclusiveAmount", payable)
    b.money(monetary, "PayableAmount", payable)
    for index, line in enumerate(draft.lines, start=1):
        _line(b, doc, index, line, sign)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
