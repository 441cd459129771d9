"""Support tickets (SUP-1, SUP-2): open, reply, move, list in the caller's scope, the operator's queue.

SUP-1: a ticket is the only proof of a request; a call or an e-mail counts once the operator
attaches it (``channel``). SUP-2: the desk's eligibility out of hours and the handling deadlines
are decided at opening (``support.tickets.handling`` on ``support.hours.OpeningHours``, Brussels
time, Belgian holidays, the context's clock), and the requester is told, in the customer's
language, when the ticket will be handled. TEN-4: a customer sees its own tickets, a partner its
customers', the operator all; another tenant's ticket is not found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from nuage.documents.messages import message
from nuage.errors import InvalidInput, NotFound, TermViolation
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.support.mail_out import queue_for_event
from nuage.services.support.ports import Channel, EventKind, SupportUnitOfWork, Ticket, TicketEvent
from nuage.shared.ids import new_id
from nuage.support.hours import BRUSSELS, OpeningHours
from nuage.support.status import (
    OPEN_STATUSES,
    REQUESTER_MOVES,
    TicketStatus,
    check_status_change,
    status_after_reply,
)
from nuage.support.tickets import Category, Criticality, RequesterKind, at_risk, criticality_of, handling
from nuage.tenancy.model import Party, PartyKind

HOURS = OpeningHours()  # SUP-2: the terms' hours and Belgian public holidays
MAX_TEXT = 10_000


def _visible_party(uow: UnitOfWork, ctx: Context, account_id: str) -> Party:
    ctx.scope.require(account_id, "account")
    party = uow.parties.find(account_id)
    if party is None or party.kind is PartyKind.OPERATOR:
        raise NotFound("account", account_id)
    return party


def requester_kind(uow: UnitOfWork, ctx: Context, account: Party) -> RequesterKind:
    """SUP-2: who reaches the desk: the partner when its staff opens it, else the account itself
    (the operator recording a call or an e-mail records the account's request)."""
    viewer = uow.parties.get(ctx.scope.viewer_id)
    if viewer.kind is PartyKind.PARTNER or account.kind is PartyKind.PARTNER:
        return RequesterKind.PARTNER
    return RequesterKind.INDIRECT_CUSTOMER if account.partner_id else RequesterKind.DIRECT_CUSTOMER


def _local(at: datetime) -> str:
    return at.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M")


def add_event(
    uow: SupportUnitOfWork,
    ticket: Ticket,
    at: datetime,
    author: str,
    kind: EventKind,
    body: str,
    *,
    from_desk: bool,
    channel: Channel = Channel.PORTAL,
) -> TicketEvent:
    """SUP-1: the next entry of a ticket's history."""
    seq = uow.support.ticket_events.count(ticket_id=ticket.id) + 1
    event = TicketEvent(
        new_id("tev"), ticket.id, seq, at, author, from_desk, kind, body, channel, ticket.status
    )
    uow.support.ticket_events.add(event)
    queue_for_event(uow, ticket, event)  # SUP-1: e-mail out on every change, in the same transaction
    return event


def _check_channel(ctx: Context, channel: Channel, sender: str | None) -> None:
    """SUP-1: the operator attaches calls and e-mails; a requester's own e-mail (``sender``, matched
    to a known user or contact by the mail listener) counts as itself."""
    if channel is Channel.PORTAL or ctx.scope.is_operator or (channel is Channel.EMAIL and sender):
        return
    raise InvalidInput("channel", "Only the operator attaches a call or an e-mail to a ticket (SUP-1)")


def opening_notice(ticket: Ticket) -> str:
    """SUP-2: what the platform tells the requester at opening, in the customer's language."""
    language = ticket.language.value
    if ticket.on_duty:
        return message("support.opened.on_duty", language, respond_by=_local(ticket.respond_by))
    if ticket.starts_at > ticket.opened_at:
        return message("support.opened.deferred", language, starts_at=_local(ticket.starts_at))
    return message("support.opened.open", language, respond_by=_local(ticket.respond_by))


def _text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not 1 <= len(value) <= limit:
        raise InvalidInput(field, f"{field} is 1 to {limit} characters")
    return value


def open_ticket(
    uow: SupportUnitOfWork,
    ctx: Context,
    account_id: str,
    category: Category,
    criticality: Criticality,
    subject: str,
    description: str,
    channel: Channel = Channel.PORTAL,
    *,
    contact_email: str | None = None,
    sender: str | None = None,
    commit: bool = True,
) -> Ticket:
    """SUP-1/SUP-2: a new ticket; out of hours, on-duty staff only for eligible critical requests.

    ``contact_email``: who hears about it (the user who opened it); ``sender``: the address a
    ticket opened by e-mail came from (it is the contact). ``commit=False``: the caller commits
    (an e-mail's ticket and its files in one transaction)."""
    account = _visible_party(uow, ctx, account_id)
    _check_channel(ctx, channel, sender)
    requester = requester_kind(uow, ctx, account)
    level = criticality_of(category, criticality)
    now = ctx.clock.now()
    handled = handling(now, requester, level, HOURS)
    ticket = Ticket(
        id=new_id("tkt"),
        account_id=account.id,
        opened_by=ctx.scope.viewer_id,
        requester=requester,
        category=category,
        criticality=level,
        subject=_text("subject", subject, 200),
        status=TicketStatus.NEW,
        channel=channel,
        language=account.language,
        on_duty=handled.on_duty,
        opened_at=now,
        starts_at=handled.starts_at.astimezone(UTC),
        respond_by=handled.respond_by.astimezone(UTC),
        resolve_by=handled.resolve_by.astimezone(UTC),
        contact_email=sender or contact_email,
    )
    uow.support.tickets.add(ticket)
    body = _text("description", description, MAX_TEXT)
    add_event(uow, ticket, now, ctx.scope.viewer_id, EventKind.OPENED, body, from_desk=False, channel=channel)
    add_event(uow, ticket, now, "platform", EventKind.MESSAGE, opening_notice(ticket), from_desk=True)
    if commit:
        uow.commit()
    return ticket


def get_ticket(uow: SupportUnitOfWork, ctx: Context, ticket_id: str) -> Ticket:
    """TEN-4: a ticket the caller may see (another tenant's is not found)."""
    ticket = uow.support.tickets.find(ticket_id)
    if ticket is None or not ctx.scope.can_see(ticket.account_id):
        raise NotFound("ticket", ticket_id)
    return ticket


def history(uow: SupportUnitOfWork, ctx: Context, ticket_id: str) -> list[TicketEvent]:
    """SUP-1: everything that happened on a ticket, oldest first."""
    get_ticket(uow, ctx, ticket_id)
    return uow.support.ticket_events.list(ticket_id=ticket_id, order_by=("seq",))


def list_tickets(
    uow: SupportUnitOfWork,
    ctx: Context,
    *,
    account_id: str | None = None,
    status: TicketStatus | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """TEN-4: the tickets the caller sees, newest first, optionally of one account or status."""
    where: dict[str, Any] = {}
    if account_id is not None:
        ctx.scope.require(account_id, "account")
        where["account_id"] = account_id
    elif ctx.scope.visible_ids is not None:
        where["account_id"] = sorted(ctx.scope.visible_ids)
    if status is not None:
        where["status"] = status.value
    return uow.support.tickets.list(order_by=("opened_at", "id"), descending=True, limit=limit, **where)


def reply(
    uow: SupportUnitOfWork,
    ctx: Context,
    ticket_id: str,
    body: str,
    channel: Channel = Channel.PORTAL,
    *,
    sender: str | None = None,
    commit: bool = True,
) -> TicketEvent:
    """SUP-1: a message on the ticket; the desk's first reply takes it up, the requester's answer
    gives a waiting or resolved ticket back to the desk. A closed ticket takes no more messages.
    ``sender``: the requester's address when the message came by e-mail."""
    ticket = get_ticket(uow, ctx, ticket_id)
    if ticket.status is TicketStatus.CLOSED:
        raise TermViolation("SUP-1", "This ticket is closed: a new request is a new ticket", ticket=ticket.id)
    from_desk = ctx.scope.is_operator
    _check_channel(ctx, channel, sender)
    now = ctx.clock.now()
    status = status_after_reply(ticket.status, from_desk=from_desk)
    responded = ticket.responded_at if ticket.responded_at or not from_desk else now
    resolved = None if status is not TicketStatus.RESOLVED else ticket.resolved_at
    ticket = replace(ticket, status=status, responded_at=responded, resolved_at=resolved)
    uow.support.tickets.update(ticket)
    event = add_event(
        uow,
        ticket,
        now,
        ctx.scope.viewer_id,
        EventKind.MESSAGE,
        _text("body", body, MAX_TEXT),
        from_desk=from_desk,
        channel=channel,
    )
    if commit:
        uow.commit()
    return event


def change_status(uow: SupportUnitOfWork, ctx: Context, ticket_id: str, status: TicketStatus) -> Ticket:
    """SUP-1: the desk moves a ticket; the requester's side only closes it or reopens a resolved one."""
    ticket = get_ticket(uow, ctx, ticket_id)
    from_desk = ctx.scope.is_operator
    if not from_desk and status not in REQUESTER_MOVES:
        raise TermViolation("SUP-1", f"Only the support desk sets a ticket {status.value}", ticket=ticket.id)
    if not from_desk and status is TicketStatus.IN_PROGRESS and ticket.status is not TicketStatus.RESOLVED:
        raise TermViolation("SUP-1", "The requester reopens only a resolved ticket", ticket=ticket.id)
    check_status_change(ticket.status, status)
    now = ctx.clock.now()
    resolved = (
        now if status is TicketStatus.RESOLVED else (None if status in OPEN_STATUSES else ticket.resolved_at)
    )
    responded = ticket.responded_at or (now if from_desk else None)
    ticket = replace(ticket, status=status, resolved_at=resolved, responded_at=responded)
    uow.support.tickets.update(ticket)
    text = message(f"support.status.{status.value}", ticket.language.value)
    add_event(uow, ticket, now, ctx.scope.viewer_id, EventKind.STATUS, text, from_desk=from_desk)
    uow.commit()
    return ticket


@dataclass(frozen=True)
class QueueEntry:
    """SUP-2: an open ticket in the operator's queue, with its clocks."""

    ticket: Ticket
    response_at_risk: bool
    resolution_at_risk: bool
    overdue: bool


def queue(uow: SupportUnitOfWork, ctx: Context, margin: timedelta = timedelta(hours=1)) -> list[QueueEntry]:
    """SUP-2: the operator's open tickets, soonest resolution deadline first, at-risk and overdue flagged."""
    if not ctx.scope.is_operator:
        raise NotFound("support queue", "-")
    now = ctx.clock.now()
    entries = []
    for ticket in uow.support.tickets.list(
        status=sorted(s.value for s in OPEN_STATUSES), order_by=("resolve_by", "id")
    ):
        pending_response = ticket.responded_at is None
        overdue = now >= ticket.resolve_by or (pending_response and now >= ticket.respond_by)
        entries.append(
            QueueEntry(
                ticket,
                response_at_risk=pending_response and at_risk(ticket.respond_by, now, HOURS, margin),
                resolution_at_risk=at_risk(ticket.resolve_by, now, HOURS, margin),
                overdue=overdue,
            )
        )
    return entries
