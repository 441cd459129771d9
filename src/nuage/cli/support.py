"""``nuage support``: the operator's support desk from the command line.

Tickets (SUP-1, SUP-2): open one for a customer (a call or an e-mail attached), list, show with its
history, reply, move, and the queue with its at-risk tickets; interventions billed on time and
materials (BIL-5); hardware, warranty and returns (HW-1) and the desk phones' provisioning URLs;
port-outs and port-ins (BIL-7); Telavox activations and their monthly billing (BIL-8).

nuage support open --customer cus_... --category no_calls --subject "No calls" --description "..."
nuage support queue
nuage support intervention --ticket tkt_... --reason customer_change --minutes 50 --material "Cable=30.00"
nuage support return --item hw_... --ticket tkt_...    then: return-step --rma rma_... --state authorised
nuage support port-out --customer cus_... --number +3223000101    then: port-step --port port_... ...
nuage support port-in --customer cus_... --number +3227771234
nuage support provision --device dev_...      the phone's provisioning URL (HW-1)
nuage support ucaas-activate --customer cus_... --item tvx-user --quantity 3   then ucaas-confirm, ucaas-bill
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.directory.porting import PortState
from nuage.services.support import hardware as hw
from nuage.services.support import interventions as itv
from nuage.services.support import porting, provisioning, ucaas
from nuage.services.support import tickets as t
from nuage.services.support.ports import Channel, Ticket
from nuage.shared.month import Month
from nuage.support.hardware import ReturnState
from nuage.support.interventions import InterventionReason
from nuage.support.status import TicketStatus
from nuage.support.tickets import Category, Criticality

support_app = typer.Typer(
    help="Support desk: tickets, interventions, hardware returns, port-outs, Telavox resale.",
    no_args_is_help=True,
)

Customer = Annotated[str, typer.Option("--customer", help="The customer's id.")]
TicketId = Annotated[str, typer.Option("--ticket", help="The ticket's id.")]


def _ticket_line(ticket: Ticket) -> str:
    duty = " on duty" if ticket.on_duty else ""
    return (
        f"{ticket.id} {ticket.account_id} {ticket.status.value} {ticket.criticality.value}{duty} "
        f"respond by {ticket.respond_by.isoformat()} resolve by {ticket.resolve_by.isoformat()}: "
        f"{ticket.subject}"
    )


@support_app.command("open")
def open_ticket(
    customer: Customer,
    category: Annotated[Category, typer.Option(help="What it is about.")],
    subject: Annotated[str, typer.Option(help="One line.")],
    description: Annotated[str, typer.Option(help="What happens.")],
    criticality: Annotated[Criticality, typer.Option(help="How badly.")] = Criticality.NORMAL,
    channel: Annotated[Channel, typer.Option(help="How it reached the desk.")] = Channel.PHONE,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SUP-1/SUP-2: record a customer's request (a call or an e-mail) as a ticket."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        ticket = t.open_ticket(
            uow, ctx, customer, category, criticality, subject[:200], description[:10_000], channel
        )
        typer.echo(_ticket_line(ticket))
        typer.echo(f"  {t.opening_notice(ticket)}")


@support_app.command("list")
def list_tickets(
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
    status: Annotated[TicketStatus | None, typer.Option(help="Only this status.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SUP-1: tickets, newest first."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for ticket in t.list_tickets(uow, ctx, account_id=customer, status=status):
            typer.echo(_ticket_line(ticket))


@support_app.command("show")
def show(ticket: TicketId, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """SUP-1: a ticket and its history."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        typer.echo(_ticket_line(t.get_ticket(uow, ctx, ticket)))
        for event in t.history(uow, ctx, ticket):
            side = "desk" if event.from_desk else "requester"
            typer.echo(
                f"  {event.at.isoformat()} {event.kind.value} ({side}, {event.channel.value}): {event.body}"
            )


@support_app.command("reply")
def reply(
    ticket: TicketId,
    body: Annotated[str, typer.Option(help="The message.")],
    channel: Annotated[Channel, typer.Option(help="portal, phone or email.")] = Channel.PORTAL,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SUP-1: the desk's message on a ticket (a call or an e-mail attached)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        event = t.reply(uow, ctx, ticket, body[:10_000], channel)
        typer.echo(f"{ticket}: message {event.id}, ticket {event.status.value if event.status else '-'}")


@support_app.command("status")
def status(
    ticket: TicketId,
    to: Annotated[TicketStatus, typer.Option("--to", help="The new status.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SUP-1: move a ticket."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        typer.echo(_ticket_line(t.change_status(uow, ctx, ticket, to)))


@support_app.command("queue")
def queue(
    margin_minutes: Annotated[
        int, typer.Option(min=0, max=1440, help="At risk below this much open time.")
    ] = 60,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SUP-2: open tickets by resolution deadline, at-risk and overdue ones flagged."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        entries = t.queue(uow, ctx, timedelta(minutes=margin_minutes))
        for entry in entries:
            flags = [
                name
                for name, on in (
                    ("OVERDUE", entry.overdue),
                    ("response at risk", entry.response_at_risk),
                    ("resolution at risk", entry.resolution_at_risk),
                )
                if on
            ]
            typer.echo(f"{_ticket_line(entry.ticket)}{' [' + ', '.join(flags) + ']' if flags else ''}")
        typer.echo(f"{len(entries)} open ticket(s) (SUP-2)")


def _material(text: str) -> tuple[str, Decimal]:
    name, _, price = text.rpartition("=")
    try:
        return name.strip()[:200], Decimal(price)
    except InvalidOperation:
        raise fail(f"a material is DESCRIPTION=PRICE, not {text!r}") from None


@support_app.command("intervention")
def intervention(
    ticket: TicketId,
    reason: Annotated[InterventionReason, typer.Option(help="Why it is billable.")],
    minutes: Annotated[int, typer.Option(min=1, max=1440, help="Time spent.")],
    performed_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    material: Annotated[list[str] | None, typer.Option(help="DESCRIPTION=PRICE, repeatable.")] = None,
    covered_by: Annotated[str | None, typer.Option(help="warranty or operator_fault: not billed.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-5: log time and materials on a ticket, billed on the next invoice unless covered."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        day = date.fromisoformat(performed_on) if performed_on else ctx.clock.now().date()
        record = itv.record_intervention(
            uow,
            ctx,
            ticket,
            reason=reason,
            performed_on=day,
            minutes=minutes,
            materials=tuple(_material(m) for m in (material or [])[:50]),
            covered_by=covered_by,
        )
        amount = sum((line.amount for line in itv.lines_of(record)), Decimal("0.00"))
        billed = f"{amount} EUR on the next invoice (BIL-5)" if not record.covered_by else "not billed"
        typer.echo(f"{record.id} on {ticket}: {minutes} min, {billed}")


@support_app.command("hardware-add")
def hardware_add(
    customer: Customer,
    model: Annotated[str, typer.Option(help="The model.")],
    serial: Annotated[str, typer.Option(help="The serial number.")],
    delivered_on: Annotated[str, typer.Option(help="YYYY-MM-DD: the warranty starts then.")],
    mac: Annotated[str | None, typer.Option(help="The MAC address.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """HW-1: record an item delivered to a customer."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        item = hw.add_item(
            uow,
            ctx,
            customer,
            model=model[:80],
            serial=serial[:64],
            delivered_on=date.fromisoformat(delivered_on),
            mac=mac,
        )
        found = hw.warranty_of(uow, ctx, item.id)
        typer.echo(f"{item.id} {item.model} {item.serial}: warranty until {found.ends_on} (HW-1)")


@support_app.command("hardware")
def hardware(customer: Customer, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """HW-1: a customer's items and their warranty today."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        for found in hw.list_items(uow, ctx, customer):
            state = "under warranty" if found.under_warranty else "out of warranty"
            typer.echo(
                f"{found.item.id} {found.item.model} {found.item.serial}: {state} (ends {found.ends_on})"
            )


@support_app.command("return")
def report_return(
    item: Annotated[str, typer.Option(help="The item's id.")],
    ticket: TicketId,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """HW-1: a defect reported on a ticket; says who pays the carriage."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        rma = hw.report_defect(uow, ctx, item, ticket)
        typer.echo(
            f"{rma.id} {rma.state.value}: carriage paid by {rma.payer.value} ({rma.carriage} EUR, HW-1)"
        )


@support_app.command("return-step")
def return_step(
    rma: Annotated[str, typer.Option(help="The return's id.")],
    state: Annotated[ReturnState, typer.Option(help="The next step.")],
    replacement_serial: Annotated[str | None, typer.Option(help="The new device's serial.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """HW-1: move a return; authorising one out of warranty bills the carriage."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        moved = hw.advance_return(uow, ctx, rma, state, replacement_serial)
        typer.echo(f"{moved.id} {moved.state.value} (HW-1)")


@support_app.command("port-out")
def port_out(
    customer: Customer,
    number: Annotated[str, typer.Option(help="The E.164 number.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-7: ask to port a customer's number out."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        port = porting.request_port_out(uow, ctx, customer, number[:20])
        typer.echo(f"{port.id} {port.e164} {port.state.value} (BIL-7)")


@support_app.command("port-in")
def port_in(
    customer: Customer,
    number: Annotated[str, typer.Option(help="The E.164 number, with another operator today.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-7/CFG-6: ask to port another operator's number in to a customer (protected meanwhile)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        port = porting.request_port_in(uow, ctx, customer, number[:20])
        typer.echo(f"{port.id} {port.e164} {port.direction.value} {port.state.value} (BIL-7)")


@support_app.command("provision")
def provision(
    device: Annotated[str, typer.Option(help="The desk phone's device id (its MAC address set).")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """HW-1: a new provisioning URL for a supplied desk phone (the previous one stops working)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        credential, token = provisioning.issue(uow, ctx, device)
        typer.echo(
            f"{credential.device_id} {credential.vendor} {credential.mac}: "
            f"provisioning URL /provisioning/{token}/ (shown once; the phone adds its file name)"
        )


@support_app.command("port-step")
def port_step(
    port: Annotated[str, typer.Option(help="The port request's id.")],
    state: Annotated[PortState, typer.Option(help="The next state.")],
    port_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD, to schedule.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-7: move a port; completing a port-out releases the number and bills the fee, a port-in
    puts the number in service."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        day = date.fromisoformat(port_on) if port_on else None
        moved = porting.move_port(uow, ctx, port, state, day)
        typer.echo(f"{moved.id} {moved.e164} {moved.state.value} port date {moved.port_on or '-'} (BIL-7)")


@support_app.command("ucaas-catalogue")
def ucaas_catalogue() -> None:
    """BIL-8: the Telavox catalogue with monthly prices."""
    for item in ucaas.catalogue():
        typer.echo(f"{item.code} {item.kind.value}: {item.name}, {item.monthly_price} EUR/month")


@support_app.command("ucaas-activate")
def ucaas_activate(
    customer: Customer,
    item: Annotated[str, typer.Option(help="The catalogue code.")],
    quantity: Annotated[int, typer.Option(min=1, max=10_000)] = 1,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-8: request a Telavox item for a customer (billed once confirmed)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = ucaas.activate(uow, ctx, customer, item[:40], quantity)
        typer.echo(f"{found.id} {found.item_code} x{found.quantity}: waiting for the provider's confirmation")


@support_app.command("ucaas-confirm")
def ucaas_confirm(
    activation: Annotated[str, typer.Option(help="The activation's id.")],
    on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-8: the provider confirmed the activation: billed from that day."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = ucaas.confirm(uow, ctx, activation, date.fromisoformat(on) if on else None)
        typer.echo(f"{found.id} active from {found.active_from} (BIL-8)")


@support_app.command("ucaas-deactivate")
def ucaas_deactivate(
    activation: Annotated[str, typer.Option(help="The activation's id.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-8: stop a Telavox item from today (today is no longer billed)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        found = ucaas.deactivate(uow, ctx, activation)
        typer.echo(f"{found.id} active until {found.active_until} (BIL-8)")


@support_app.command("ucaas-bill")
def ucaas_bill(
    month: Annotated[str, typer.Option(help="YYYY-MM, once over.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """BIL-8: each activation's line for the month on the next invoice, once (BIL-9)."""
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        made = ucaas.bill_month(uow, ctx, Month.parse(month[:7]))
        typer.echo(f"{made} activation(s) charged for {month} (BIL-8)")
