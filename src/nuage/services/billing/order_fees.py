"""One-time fees (BIL-1): an order's activation, installation and hardware, invoiced once (BIL-9)."""

from __future__ import annotations

from decimal import Decimal

from nuage.billing.one_time import Order, OrderLine
from nuage.billing.one_time import invoice_order as compose_order_invoice
from nuage.billing.plans import OneTimeKind
from nuage.services.billing.common import BILLING_JOB, billing_party, require_operator
from nuage.services.billing.contracts import ensure_contract
from nuage.services.billing.issuing import issue_all
from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import business_date
from nuage.tenancy.model import Order as TenancyOrder
from nuage.tenancy.rules import contracting_party_id


def _one_time_lines(order: TenancyOrder) -> tuple[OrderLine, ...]:
    """BIL-1: the one-time items of an order: activation, installation, hardware[:model]."""
    lines: list[OrderLine] = []
    for line in order.lines:
        head, _, model = line.item.partition(":")
        if head in {kind.value for kind in OneTimeKind}:
            key = f"line.one_time.{head}.{model}" if model else None
            lines.append(OrderLine(OneTimeKind(head), Decimal(line.quantity), description_key=key))
    return tuple(lines)


def invoice_order(
    uow: BillingUnitOfWork,
    ctx: Context,
    order_id: str,
    *,
    validator: EInvoiceValidator,
    settings: PaymentSettings | None = None,
) -> StoredInvoice | None:
    """BIL-1: invoice an order's hardware, activation and installation fees, once (BIL-9); commit."""
    require_operator(ctx)
    order = uow.orders.get(order_id)
    customer = uow.parties.get(order.customer_id)
    store = uow.billing
    store.lock(BILLING_JOB)
    ensure_contract(uow, ctx, customer)
    party = billing_party(uow.parties.get(contracting_party_id(customer)))
    lines = _one_time_lines(order)
    plan = PlanBook(store).for_customer(customer)
    draft = compose_order_invoice(
        Order(order.id, customer.id, order.service_start_on, plan, lines),
        party,
        business_date(ctx.clock.now()),
    )
    if draft is None:
        uow.commit()
        return None
    if store.existing_run_keys([draft.run_key]):
        uow.commit()
        return None
    (stored,) = issue_all(uow, [draft], "order", ctx.clock.now(), settings, validator)
    uow.commit()
    return stored
