"""Billing values for the store contract tests: parties, CDRs, cost records and issued invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from nuage.billing.invoices import DocumentType, InvoiceDraft, IssuedInvoice
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.vat import BE_STANDARD_RATE, VatRegime, VatTreatment
from nuage.rating.cdr import Cdr
from nuage.rating.rater import RatedCall
from nuage.shared.month import Month
from nuage.tenancy.model import Language, Order, Party, PartyKind

T0 = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
STANDARD = VatTreatment(VatRegime.STANDARD, BE_STANDARD_RATE)
PARTIES = ("cus_a", "cus_b", "par_1")


def add_parties(uow: Any) -> None:
    """Two customers (``cus_b`` a partner's) and a partner, each with an order; committed."""
    uow.parties.add(Party(id="par_1", kind=PartyKind.PARTNER, name="Partner", created_at=T0))
    uow.parties.add(Party(id="cus_a", kind=PartyKind.CUSTOMER, name="A", created_at=T0))
    uow.parties.add(Party(id="cus_b", kind=PartyKind.CUSTOMER, name="B", created_at=T0, partner_id="par_1"))
    for party_id in ("cus_a", "cus_b"):
        uow.orders.add(
            Order(
                id=f"ord_{party_id}",
                customer_id=party_id,
                placed_by_party_id=party_id,
                terms_version="1",
                language=Language.EN,
                accepted_at=T0,
                accepted_by="someone",
                service_start_on=date(2026, 1, 1),
            )
        )
    uow.commit()


def cdr(n: int, account: str = "cus_a", *, seconds: int = 60, minutes_in: int = 0) -> Cdr:
    return Cdr(f"c{n}", account, T0 + timedelta(minutes=minutes_in), "+3222000000", seconds)


def rated(n: int, account: str = "cus_a", run: str = "customer-retail", **fields: Any) -> RatedCall:
    values: dict[str, Any] = {
        "cdr_id": f"cdr_{n}",
        "account_id": account,
        "run": run,
        "started_at": T0 + timedelta(minutes=n),
        "destination": "+3222000000",
        "prefix": "322",
        "tariff_version": "t1",
        "billable_seconds": 61,
        "pack_seconds": 0,
        "charged_seconds": 61,
        "per_minute": Decimal("0.0500"),
        "exact_amount": Decimal("0.050833333333333333"),
        "amount": Decimal("0.06"),
        "pack_ids": (),
        "emergency": False,
        "itemised": True,
    }
    values.update(fields)
    return RatedCall(**values)


def users_line(customer: str, month: Month, quantity: int, rule_id: str = "BIL-2") -> InvoiceLine:
    return make_line(
        rule_id=rule_id,
        description_key="line.recurring.billable_users",
        customer_id=customer,
        item_kind="billable_users",
        period=month,
        quantity=Decimal(quantity),
        unit_price=Decimal("19.95"),
        sources=(SourceRef("monthly-summary", f"{customer}:{month}"),),
        params={"users": str(quantity)},
    )


def invoice(
    number: str,
    party: str,
    *lines: InvoiceLine,
    period: Month | None = Month(2026, 2),
    minutes: int = 0,
    credits: str | None = None,
    replaces: str | None = None,
) -> IssuedInvoice:
    kind = DocumentType.CREDIT_NOTE if credits else DocumentType.INVOICE
    draft = InvoiceDraft(
        f"run:{number}",
        kind,
        party,
        date(2026, 3, 1),
        period,
        lines,
        STANDARD,
        replaces=replaces,
        credits=credits,
    )
    return IssuedInvoice(number, draft, T0 + timedelta(minutes=minutes))
