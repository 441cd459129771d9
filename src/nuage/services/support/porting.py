"""Porting numbers in and out (BIL-7, CFG-6): the requests, their states and dates, the fee, the release.

The account (or its partner, or the operator) asks to port one of its numbers out, or a number of
another operator in; the operator moves the request (``directory.porting``: accepted, scheduled
on a date, completed, rejected or cancelled). Completing a port-out on or after its port date
releases the number (it leaves the account) and puts the price list's port-out fee on the next
invoice, once, citing BIL-7 and the number; completing a port-in puts the number in service on
the account. While a port is open its number is protected: neither reassigned nor removed, nor
taken into service by anyone else (``port_guard``).
"""

from __future__ import annotations

from datetime import date

from nuage.directory.porting import PortDirection, PortRequest, PortState, advance, port_out_line
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.services.context import Context
from nuage.services.directory.numbers import add_number, remove_number
from nuage.services.support.charges import charge, port_out_fee
from nuage.services.support.ports import SupportUnitOfWork
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.shared.phone import parse_e164
from nuage.tenancy.model import PartyKind

OPEN = (PortState.REQUESTED.value, PortState.ACCEPTED.value, PortState.SCHEDULED.value)


def request_port_out(uow: SupportUnitOfWork, ctx: Context, account_id: str, e164: str) -> PortRequest:
    """BIL-7: ask to port one of the account's numbers out (one open port per number)."""
    ctx.scope.require(account_id, "account")
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    number = uow.numbers.find_by(account_id=account_id, e164=e164)
    if number is None:
        raise NotFound("number", e164)
    if uow.support.ports.find_by(e164=e164, state=list(OPEN)) is not None:
        raise TermViolation("BIL-7", f"{e164} is already being ported", number=e164)
    port = PortRequest(
        new_id("port"),
        account_id,
        e164,
        PortDirection.OUT,
        PortState.REQUESTED,
        business_date(ctx.clock.now()),
    )
    uow.support.ports.add(port)
    uow.commit()
    return port


def request_port_in(uow: SupportUnitOfWork, ctx: Context, account_id: str, e164: str) -> PortRequest:
    """CFG-6/BIL-7: ask to port another operator's number in to the account (one open port per number)."""
    ctx.scope.require(account_id, "account")
    customer = uow.parties.find(account_id)
    if customer is None or customer.kind is not PartyKind.CUSTOMER:
        raise NotFound("customer", account_id)
    number = parse_e164(e164)
    if uow.numbers.find_by(e164=number) is not None:
        raise Conflict(f"{number} is already in service on this platform", field="e164")
    if uow.support.ports.find_by(e164=number, state=list(OPEN)) is not None:
        raise TermViolation("BIL-7", f"{number} is already being ported", number=number)
    port = PortRequest(
        new_id("port"),
        account_id,
        number,
        PortDirection.IN,
        PortState.REQUESTED,
        business_date(ctx.clock.now()),
    )
    uow.support.ports.add(port)
    uow.commit()
    return port


def get_port(uow: SupportUnitOfWork, ctx: Context, port_id: str) -> PortRequest:
    """BIL-7: a port request the caller sees."""
    port = uow.support.ports.find(port_id)
    if port is None or not ctx.scope.can_see(port.account_id):
        raise NotFound("port request", port_id)
    return port


def list_ports(uow: SupportUnitOfWork, ctx: Context, account_id: str) -> list[PortRequest]:
    """BIL-7: an account's port requests, oldest first."""
    ctx.scope.require(account_id, "account")
    return uow.support.ports.list(account_id=account_id, order_by=("requested_on", "id"))


def move_port(
    uow: SupportUnitOfWork, ctx: Context, port_id: str, state: PortState, port_on: date | None = None
) -> PortRequest:
    """BIL-7: the operator moves a port; the account may only cancel its own open request.

    Completing a port needs its port date to have come: a port-out's number is released and the
    fee charged on the next invoice; a port-in's number is put in service on the account.
    """
    port = get_port(uow, ctx, port_id)
    if not ctx.scope.is_operator and state is not PortState.CANCELLED:
        raise TermViolation(
            "BIL-7", "Only the operator moves a port request; you may cancel it", port_id=port_id
        )
    today = business_date(ctx.clock.now())
    if state is PortState.COMPLETED and (port.port_on is None or port.port_on > today):
        raise InvalidInput("state", "A port completes on or after its scheduled date")
    moved = advance(port, state, port_on=port_on)
    uow.support.ports.update(moved)
    if moved.state is PortState.COMPLETED and moved.direction is PortDirection.OUT:
        number = uow.numbers.find_by(account_id=moved.account_id, e164=moved.e164)
        if number is not None:
            remove_number(uow, ctx, number.id)
        line = port_out_line(moved, port_out_fee(uow, moved.account_id, today))
        charge(uow, ctx.clock, uow.parties.get(moved.account_id), "port_out", f"port:{moved.id}", [line])
    if moved.state is PortState.COMPLETED and moved.direction is PortDirection.IN:
        add_number(uow, ctx, moved.account_id, moved.e164)  # in service on the account from today
    uow.commit()
    return moved
