"""What an invoice document shows (BIL-4, BIL-10, TEN-2, TEN-5): parties, brand, payment, summaries.

``DocumentInput`` is everything the PDF and the UBL e-invoice are rendered from, so both
documents say the same thing. ``document_input`` is the one builder: at issue, the e-invoice
check builds with it and what it built is frozen (``documents.snapshot``), from which the
documents are rendered; rendering is pure (same input, same bytes for the UBL, same text for
the PDF).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from nuage.billing.invoices import DocumentType, IssuedInvoice
from nuage.documents.reference import reference_for
from nuage.tenancy.model import Party, PartyKind
from nuage.terms.counting import MonthlySummary

DEFAULT_PAYMENT_DAYS = 30  # PAY-1 decision: invoices are due 30 days after issue unless set otherwise


@dataclass(frozen=True)
class PartyInfo:
    """TEN-5: the seller or buyer as printed and as put in the e-invoice."""

    party_id: str
    name: str
    country: str = "BE"
    vat_number: str | None = None
    enterprise_number: str | None = None  # Belgian KBO/BCE number, ten digits (Peppol scheme 0208)
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, party: Party) -> PartyInfo:
        """TEN-5: a stored party's invoicing details; a Belgian VAT number gives the enterprise number."""
        return cls(
            party_id=party.id,
            name=party.name,
            country=(party.country or "BE").upper(),
            vat_number=party.vat_number,
            enterprise_number=enterprise_number(party.enterprise_number, party.vat_number),
            street=party.street,
            postal_code=party.postal_code,
            city=party.city,
            email=party.email,
        )


def enterprise_number(explicit: str | None, vat_number: str | None) -> str | None:
    """TEN-5: the ten-digit Belgian enterprise number: the stored one, else from a BE VAT number."""
    for candidate in (explicit, vat_number):
        if not candidate:
            continue
        digits = "".join(ch for ch in candidate.upper().removeprefix("BE") if ch.isdigit())
        if len(digits) == 9:
            digits = "0" + digits
        if len(digits) == 10 and (candidate is explicit or candidate.upper().startswith("BE")):
            return digits
    return None


@dataclass(frozen=True)
class Brand:
    """TEN-2: the name, colours and support contact a document is presented under."""

    name: str
    primary_color: str = "#1f3a5f"
    secondary_color: str = "#d9e2ec"
    support_email: str | None = None
    support_phone: str | None = None
    portal_host: str | None = None
    white_label: bool = False  # True: a partner's brand, not the operator's


def operator_brand(operator: Party) -> Brand:
    """TEN-2: the operator's own brand."""
    return Brand(name=operator.name, support_email=operator.email, support_phone=operator.phone)


def brand_for(recipient: Party, operator: Party, partner: Party | None) -> Brand:
    """TEN-2: a white-label partner's indirect customers see the partner's brand; everyone else
    (direct customers, and partners themselves, who are invoiced by the operator) the operator's."""
    if (
        recipient.kind is PartyKind.CUSTOMER
        and partner is not None
        and recipient.partner_id == partner.id
        and partner.white_label
    ):
        return Brand(
            name=partner.brand_name or partner.name,
            primary_color=partner.brand_primary_color or Brand.primary_color,
            secondary_color=partner.brand_secondary_color or Brand.secondary_color,
            support_email=partner.brand_support_email,
            support_phone=partner.brand_support_phone,
            portal_host=partner.brand_portal_host,
            white_label=True,
        )
    return operator_brand(operator)


@dataclass(frozen=True)
class BankAccount:
    """PAY-1: where invoices are paid (the operator's account)."""

    iban: str
    bic: str
    holder: str


@dataclass(frozen=True)
class DocumentInput:
    """BIL-4/BIL-10: one invoice or credit note and everything its documents show."""

    issued: IssuedInvoice
    seller: PartyInfo
    buyer: PartyInfo
    language: str
    brand: Brand
    bank: BankAccount
    due_on: date
    customer_names: Mapping[str, str] = field(default_factory=dict)  # TEN-5: lines per customer
    summaries: tuple[MonthlySummary, ...] = ()  # CNT-1: the counted items the lines cite

    @property
    def number(self) -> str:
        """BIL-4: the document's number."""
        return self.issued.number

    @property
    def is_credit_note(self) -> bool:
        """BIL-4: a credit note (UBL 381) rather than an invoice (UBL 380)."""
        return self.issued.draft.document_type is DocumentType.CREDIT_NOTE

    @property
    def structured_reference(self) -> str | None:
        """PAY-1: the payment reference (invoices only)."""
        return None if self.is_credit_note else reference_for(self.number)


def due_date(issue_on: date, payment_days: int = DEFAULT_PAYMENT_DAYS) -> date:
    """PAY-1: the due date of an invoice issued on ``issue_on``."""
    return issue_on + timedelta(days=payment_days)


def document_input(
    issued: IssuedInvoice,
    *,
    operator: Party,
    buyer: Party,
    partner: Party | None,
    bank: BankAccount,
    payment_days: int = DEFAULT_PAYMENT_DAYS,
    customer_names: Mapping[str, str] | None = None,
    summaries: tuple[MonthlySummary, ...] = (),
) -> DocumentInput:
    """BIL-4/TEN-2/TEN-5: the one way an invoice's documents are assembled, wherever they are built.

    The e-invoice checked at issue, the PDF and UBL stored and sent, and the e-mail all come
    from here, so they carry the same brand (``brand_for``), bank account and due date. The
    buyer's language is the contracting party's (Languages).
    """
    names = {buyer.id: buyer.name, **(customer_names or {})}
    return DocumentInput(
        issued=issued,
        seller=PartyInfo.of(operator),
        buyer=PartyInfo.of(buyer),
        language=buyer.language.value,
        brand=brand_for(buyer, operator, partner),
        bank=bank,
        due_on=due_date(issued.draft.issue_on, payment_days),
        customer_names=names,
        summaries=summaries,
    )
