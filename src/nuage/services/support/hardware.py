"""Hardware and returns (HW-1): items the operator supplied, their warranty, and RMAs on tickets.

The operator records a supplied item (model, serial, MAC, delivery date); anyone who sees the
account reads its warranty (``support.hardware``: one year from delivery). A defect is reported
on a ticket (SUP-1) as a return; the operator moves it through its steps; the carriage is the
operator's under warranty and, after it, a line citing HW-1 on the customer's next invoice,
charged when the return is authorised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from nuage.billing.lines import SourceRef, make_line
from nuage.documents.messages import message
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.support.charges import charge, return_carriage
from nuage.services.support.ports import (
    EventKind,
    HardwareItem,
    HardwareReturn,
    SupportUnitOfWork,
)
from nuage.services.support.tickets import add_event, get_ticket
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.support.hardware import ReturnState, check_return_step, return_charge, warranty_ends
from nuage.tenancy.model import PartyKind

#: HW-1: a return that is over (the item may be reported again)
CLOSED_RETURNS = frozenset({ReturnState.BACK_IN_SERVICE, ReturnState.REFUSED})

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _require_operator(ctx: Context, kind: str, key: str) -> None:
    if not ctx.scope.is_operator:
        raise NotFound(kind, key)


def add_item(
    uow: SupportUnitOfWork,
    ctx: Context,
    account_id: str,
    *,
    model: str,
    serial: str,
    delivered_on: date,
    mac: str | None = None,
    device_id: str | None = None,
) -> HardwareItem:
    """HW-1: an item the operator delivered to a customer (operator)."""
    _require_operator(ctx, "account", account_id)
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    if mac is not None:
        mac = mac.strip().lower().replace("-", ":")
        if not _MAC.match(mac):
            raise InvalidInput("mac", "A MAC address is six hexadecimal pairs (00:11:22:33:44:55)")
    if delivered_on > business_date(ctx.clock.now()):
        raise InvalidInput("delivered_on", "An item is recorded once delivered")
    if uow.support.hardware.find_by(serial=serial) is not None:
        raise Conflict(f"An item with serial {serial} exists", serial=serial)
    if device_id is not None and uow.devices.find_by(id=device_id, account_id=account_id) is None:
        raise NotFound("device", device_id)
    item = HardwareItem(new_id("hw"), account_id, model, serial, delivered_on, mac, device_id)
    uow.support.hardware.add(item)
    uow.commit()
    return item


@dataclass(frozen=True)
class Warranty:
    """HW-1: an item and its warranty on a given day."""

    item: HardwareItem
    ends_on: date
    under_warranty: bool


def warranty_of(uow: SupportUnitOfWork, ctx: Context, item_id: str) -> Warranty:
    """HW-1: an item the caller sees, with its warranty today."""
    item = uow.support.hardware.find(item_id)
    if item is None or not ctx.scope.can_see(item.account_id):
        raise NotFound("hardware item", item_id)
    ends = warranty_ends(item.delivered_on)
    return Warranty(item, ends, business_date(ctx.clock.now()) <= ends)


def list_items(uow: SupportUnitOfWork, ctx: Context, account_id: str) -> list[Warranty]:
    """HW-1: an account's items with their warranty today."""
    ctx.scope.require(account_id, "account")
    items = uow.support.hardware.list(account_id=account_id, order_by=("delivered_on", "id"))
    return [warranty_of(uow, ctx, item.id) for item in items]


def _note(uow: SupportUnitOfWork, ctx: Context, rma: HardwareReturn, text: str) -> None:
    ticket = uow.support.tickets.get(rma.ticket_id)
    add_event(
        uow,
        ticket,
        ctx.clock.now(),
        ctx.scope.viewer_id,
        EventKind.RETURN,
        text,
        from_desk=ctx.scope.is_operator,
    )


def report_defect(uow: SupportUnitOfWork, ctx: Context, item_id: str, ticket_id: str) -> HardwareReturn:
    """HW-1: a defect reported on a ticket of the item's account: a return, with who pays the carriage."""
    item = warranty_of(uow, ctx, item_id).item
    ticket = get_ticket(uow, ctx, ticket_id)
    if ticket.account_id != item.account_id:
        raise InvalidInput("ticket_id", "The ticket is not the item's account's")
    for earlier in uow.support.returns.list(item_id=item.id, order_by=("id",)):
        if earlier.state not in CLOSED_RETURNS:
            raise Conflict(f"The item is already being returned ({earlier.id})", rma=earlier.id)
    today = business_date(ctx.clock.now())
    cost = return_charge(item.delivered_on, today)
    rma = HardwareReturn(
        id=new_id("rma"),
        item_id=item.id,
        account_id=item.account_id,
        ticket_id=ticket.id,
        state=ReturnState.REPORTED,
        reported_on=today,
        payer=cost.payer,
        carriage=return_carriage(uow, item.account_id, today) if cost.carriage_billed else Decimal("0.00"),
        updated_at=ctx.clock.now(),
    )
    uow.support.returns.add(rma)
    _note(
        uow,
        ctx,
        rma,
        message(
            f"support.return.reported.{cost.payer.value}",
            uow.support.tickets.get(rma.ticket_id).language.value,
            rma=rma.id,
            model=item.model,
            serial=item.serial,
            carriage=rma.carriage,
        ),
    )
    uow.commit()
    return rma


def get_return(uow: SupportUnitOfWork, ctx: Context, rma_id: str) -> HardwareReturn:
    """HW-1: a return the caller sees."""
    rma = uow.support.returns.find(rma_id)
    if rma is None or not ctx.scope.can_see(rma.account_id):
        raise NotFound("return", rma_id)
    return rma


def advance_return(
    uow: SupportUnitOfWork,
    ctx: Context,
    rma_id: str,
    state: ReturnState,
    replacement_serial: str | None = None,
) -> HardwareReturn:
    """HW-1: the operator moves a return; authorising one out of warranty charges the carriage."""
    rma = get_return(uow, ctx, rma_id)
    _require_operator(ctx, "return", rma_id)
    check_return_step(rma.state, state)
    if state is ReturnState.REPLACED and not replacement_serial:
        raise InvalidInput("replacement_serial", "A replacement names the serial of the new device")
    rma = replace(
        rma,
        state=state,
        updated_at=ctx.clock.now(),
        replacement_serial=replacement_serial or rma.replacement_serial,
    )
    uow.support.returns.update(rma)
    if state is ReturnState.REPLACED and replacement_serial:
        item = uow.support.hardware.get(rma.item_id)
        uow.support.hardware.update(replace(item, serial=replacement_serial))
    if state is ReturnState.AUTHORISED and rma.carriage > 0:
        item = uow.support.hardware.get(rma.item_id)
        line = make_line(
            rule_id="HW-1",
            description_key="return_carriage",
            customer_id=rma.account_id,
            item_kind="return_carriage",
            period=None,
            quantity=Decimal(1),
            unit_price=rma.carriage,
            sources=(SourceRef("return", rma.id), SourceRef("ticket", rma.ticket_id)),
            params={"rma": rma.id, "model": item.model, "serial": item.serial, "ticket": rma.ticket_id},
        )
        charge(uow, ctx.clock, uow.parties.get(rma.account_id), "return_carriage", f"return:{rma.id}", [line])
    language = uow.support.tickets.get(rma.ticket_id).language.value
    _note(uow, ctx, rma, message("support.return.step", language, rma=rma.id, state=state.value))
    uow.commit()
    return rma
