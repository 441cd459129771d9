"""Web Meeting billing (BIL-6): a room's subscription and its hardware, invoiced at order and paid in
advance; the room is activated only once that invoice is paid (MTG-1, ``directory.meetings``).

The invoice takes the order's BIL-9 run key (the same as ``one_time.invoice_order``), so an order
is invoiced once whichever path reaches it first.

Entry point: ``invoice_meeting_order(order_id, customer_id, ordered_on, plan, party, issue_on,
months=..., hardware=...)`` → the draft.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.plans import OneTimeKind, PricePlan
from nuage.billing.runs import audience_for, billing_run_key
from nuage.billing.vat import BillingParty, vat_treatment
from nuage.errors import InvalidInput


def invoice_meeting_order(
    order_id: str,
    customer_id: str,
    ordered_on: date,
    plan: PricePlan,
    party: BillingParty,
    issue_on: date,
    *,
    months: int,
    hardware: Sequence[tuple[str, int]] = (),
) -> InvoiceDraft:
    """BIL-6: Web Meeting hardware invoiced at order, paid in advance; the subscription (``months``
    of one room) invoiced at order and paid before the service is activated."""
    prices = plan.price_list(audience_for(party), ordered_on)
    monthly = prices.one_time.get(OneTimeKind.MEETING_ROOM)
    if monthly is None:
        raise InvalidInput("months", f"No Web Meeting price in {prices.version} (BIL-6)", rule_id="BIL-6")
    lines: list[InvoiceLine] = [
        make_line(
            rule_id="BIL-6",
            description_key=f"line.one_time.{OneTimeKind.MEETING_ROOM.value}",
            customer_id=customer_id,
            item_kind=OneTimeKind.MEETING_ROOM.value,
            period=None,
            quantity=Decimal(months),
            unit_price=monthly,
            sources=(SourceRef("order", f"{order_id}:1"),),
        )
    ]
    hardware_price = prices.one_time.get(OneTimeKind.HARDWARE)
    for index, (model, quantity) in enumerate(hardware, start=2):
        if hardware_price is None:
            raise InvalidInput("hardware", f"No hardware price in {prices.version}")
        lines.append(
            make_line(
                rule_id="BIL-6",
                description_key=f"line.one_time.hardware.{model}",
                customer_id=customer_id,
                item_kind=OneTimeKind.HARDWARE.value,
                period=None,
                quantity=Decimal(quantity),
                unit_price=hardware_price,
                sources=(SourceRef("order", f"{order_id}:{index}"),),
            )
        )
    return InvoiceDraft(
        run_key=billing_run_key(invoiced_party_id=party.party_id, period=order_id, kind="order"),
        document_type=DocumentType.INVOICE,
        invoiced_party_id=party.party_id,
        issue_on=issue_on,
        period=None,
        lines=tuple(lines),
        vat=vat_treatment(party),
    )
