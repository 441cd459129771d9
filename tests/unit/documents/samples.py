"""Sample invoices for the document tests: every VAT regime, a partner invoice, a credit note."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice, credit_note_for, issue
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.vat import BillingParty, PartyKind, vat_treatment
from nuage.documents.model import BankAccount, Brand, DocumentInput, PartyInfo, due_date
from nuage.shared.month import Month
from nuage.terms.counting import ItemKind, MonthlySummary

SELLER = PartyInfo(
    "op-1",
    "Nuage Telecom",
    "BE",
    "BE0987654321",
    "0987654321",
    "Avenue Louise 54",
    "1050",
    "Bruxelles",
    "billing@nuage.example",
)
BANK = BankAccount("BE68539007547034", "GKCCBEBB", "Nuage Telecom")
DUPONT = PartyInfo(
    "cus-dupont",
    "Atelier Dupont",
    "BE",
    "BE0123456749",
    "0123456749",
    "Rue Haute 120",
    "1000",
    "Bruxelles",
    "admin@dupont.example",
)
PARTNER = PartyInfo(
    "par-bru",
    "Brussels Voice Partners",
    "BE",
    "BE0456789123",
    "0456789123",
    "Rue de la Loi 42",
    "1040",
    "Bruxelles",
    "billing@bruvoice.example",
)
FRENCH = PartyInfo(
    "cus-fr",
    "Boulangerie Martin",
    "FR",
    "FR40303265045",
    None,
    "Rue de Rivoli 1",
    "75001",
    "Paris",
    "compta@martin.example",
)
SWISS = PartyInfo(
    "cus-ch",
    "Uhren Keller AG",
    "CH",
    "CHE-123.456.788",
    None,
    "Bahnhofstrasse 1",
    "8001",
    "Zürich",
    "buchhaltung@keller.example",
)
JANUARY = Month(2026, 1)
FEBRUARY = Month(2026, 2)


def summary(account_id: str) -> MonthlySummary:
    return MonthlySummary(
        account_id=account_id,
        month=JANUARY,
        items=((ItemKind.BILLABLE_USERS, Decimal(2)), (ItemKind.NATIONAL_NUMBERS, Decimal(2))),
        frozen_at=datetime(2026, 2, 1, tzinfo=UTC),
        previous_hash="0" * 64,
        hash="ab12cd34ef56ab78" + "0" * 48,
    )


def lines_for(customer_id: str) -> tuple[InvoiceLine, ...]:
    source = SourceRef("monthly-summary", f"{customer_id}:2026-01:abc:billable_users")
    return (
        make_line(
            rule_id="BIL-2",
            description_key="line.recurring.billable_users",
            customer_id=customer_id,
            item_kind="billable_users",
            period=JANUARY,
            quantity=Decimal(2),
            unit_price=Decimal("19.95"),
            sources=(source,),
            proration=Fraction(22, 31),
            params={"period": "2026-01", "share": "22/31"},
        ),
        make_line(
            rule_id="CNT-3",
            description_key="line.recurring.billable_users",
            customer_id=customer_id,
            item_kind="billable_users",
            period=FEBRUARY,
            quantity=Decimal(10),
            unit_price=Decimal("19.95"),
            sources=(source,),
            params={"period": "2026-02", "counted": "8", "floor": "10"},
        ),
        make_line(
            rule_id="BIL-3",
            description_key="line.traffic.out_of_pack",
            customer_id=customer_id,
            item_kind="traffic",
            period=JANUARY,
            quantity=Decimal(1),
            unit_price=Decimal("1234.71"),
            sources=tuple(SourceRef("rated-call", f"cdr-{n}") for n in range(7)),
            params={"calls": "7", "seconds": "5400", "period": "2026-01"},
        ),
        make_line(
            rule_id="BIL-1",
            description_key="line.one_time.hardware.yealink_t54w",
            customer_id=customer_id,
            item_kind="hardware",
            period=None,
            quantity=Decimal(1),
            unit_price=Decimal("189.00"),
            sources=(SourceRef("order", "ord-1"),),
        ),
    )


def invoice(
    buyer: PartyInfo,
    *,
    number: str = "INV-2026-000001",
    kind: PartyKind = PartyKind.DIRECT_CUSTOMER,
    customers: tuple[str, ...] | None = None,
) -> IssuedInvoice:
    party = BillingParty(buyer.party_id, buyer.name, kind, buyer.country, buyer.vat_number)
    lines = tuple(line for customer in (customers or (buyer.party_id,)) for line in lines_for(customer))
    draft = InvoiceDraft(
        run_key=f"run:{number}",
        document_type=DocumentType.INVOICE,
        invoiced_party_id=buyer.party_id,
        issue_on=date(2026, 1, 28),
        period=JANUARY,
        lines=lines,
        vat=vat_treatment(party),
    )
    return issue(draft, number, datetime(2026, 1, 28, 9, tzinfo=UTC))


def credit_note(original: IssuedInvoice, number: str = "CN-2026-000001") -> IssuedInvoice:
    return issue(credit_note_for(original, date(2026, 2, 5)), number, datetime(2026, 2, 5, 9, tzinfo=UTC))


def document(
    issued: IssuedInvoice, buyer: PartyInfo, language: str = "fr", brand: Brand | None = None
) -> DocumentInput:
    customer_ids = issued.draft.customer_ids
    return DocumentInput(
        issued=issued,
        seller=SELLER,
        buyer=buyer,
        language=language,
        brand=brand or Brand("Nuage Telecom", support_email="support@nuage.example"),
        bank=BANK,
        due_on=due_date(issued.draft.issue_on),
        customer_names={
            "cus-dupont": "Atelier Dupont",
            "cus-peeters": "Bakkerij Peeters",
            buyer.party_id: buyer.name,
        },
        summaries=tuple(summary(customer) for customer in customer_ids),
    )


def all_documents() -> dict[str, DocumentInput]:
    """Every shape of document the billing domain issues."""
    standard = invoice(DUPONT)
    return {
        "standard": document(standard, DUPONT),
        "partner": document(
            invoice(
                PARTNER,
                number="INV-2026-000002",
                kind=PartyKind.PARTNER,
                customers=("cus-dupont", "cus-peeters"),
            ),
            PARTNER,
            "nl",
        ),
        "reverse-charge": document(invoice(FRENCH, number="INV-2026-000003"), FRENCH, "fr"),
        "outside-eu": document(invoice(SWISS, number="INV-2026-000004"), SWISS, "en"),
        "credit-note": document(credit_note(standard), DUPONT, "fr"),
    }
