"""One-time fees (BIL-1): an order's hardware, activation and installation fees, one invoice draft,
payable in advance; its BIL-9 run key keeps it from being invoiced twice.

Entry point: ``invoice_order(order, party, issue_on, ...)`` → draft of the one-time fees.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.plans import OneTimeKind, PricePlan
from nuage.billing.runs import audience_for, billing_run_key
from nuage.billing.vat import BillingParty, vat_treatment
from nuage.errors import InvalidInput


@dataclass(frozen=True)
class OrderLine:
    """BIL-1: one one-time item of an order; ``unit_price`` overrides the price list (hardware models)."""

    kind: OneTimeKind
    quantity: Decimal
    unit_price: Decimal | None = None
    description_key: str | None = None  # e.g. "hardware.yealink_t54w"


@dataclass(frozen=True)
class Order:
    """BIL-1/TEN-3: an order of a customer and its one-time items."""

    order_id: str
    customer_id: str
    ordered_on: date
    plan: PricePlan
    lines: tuple[OrderLine, ...]


def invoice_order(
    order: Order, party: BillingParty, issue_on: date, *, existing_run_keys: Container[str] = frozenset()
) -> InvoiceDraft | None:
    """BIL-1: hardware, activation and installation fees invoiced at order, payable in advance."""
    key = billing_run_key(invoiced_party_id=party.party_id, period=order.order_id, kind="order")
    if key in existing_run_keys:
        return None
    prices = order.plan.price_list(audience_for(party), order.ordered_on)
    lines: list[InvoiceLine] = []
    for index, item in enumerate(order.lines, start=1):
        unit_price = item.unit_price if item.unit_price is not None else prices.one_time.get(item.kind)
        if unit_price is None:
            raise InvalidInput("unit_price", f"No price for {item.kind.value} in {prices.version}")
        lines.append(
            make_line(
                rule_id="BIL-1",
                description_key=item.description_key or f"line.one_time.{item.kind.value}",
                customer_id=order.customer_id,
                item_kind=item.kind.value,
                period=None,
                quantity=item.quantity,
                unit_price=unit_price,
                sources=(SourceRef("order", f"{order.order_id}:{index}"),),
            )
        )
    if not lines:
        return None
    return InvoiceDraft(
        run_key=key,
        document_type=DocumentType.INVOICE,
        invoiced_party_id=party.party_id,
        issue_on=issue_on,
        period=None,
        lines=tuple(lines),
        vat=vat_treatment(party),
    )
