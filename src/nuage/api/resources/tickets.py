"""Support tickets (SUP-1, SUP-2) and their interventions (BIL-5): ``/tickets`` and ``/support/queue``.

Every person of an account opens and follows tickets (SUP-1: the only proof of a request); a
partner opens them for its customers; the operator sees all (TEN-4) and attaches calls and e-mails.
The opening answer says whether the on-duty staff take it out of hours, or when the desk will
(SUP-2), in the customer's language. Only the operator logs interventions (BIL-5) and reads the
queue with its at-risk tickets.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Output
from nuage.services.support import interventions as itv
from nuage.services.support import tickets as t
from nuage.services.support.ports import Channel, EventKind, InterventionRecord, Ticket, TicketEvent
from nuage.support.interventions import InterventionReason
from nuage.support.status import TicketStatus
from nuage.support.tickets import Category, Criticality, RequesterKind

READ, CREATE, UPDATE = "support.tickets.read", "support.tickets.create", "support.tickets.update"
QUEUE = "support.queue.read"
INTERVENE, INTERVENTIONS = "support.interventions.create", "support.interventions.read"
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
Money = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=12, decimal_places=2)]

router = APIRouter(tags=["support"])


class TicketOut(Output):
    """SUP-1/SUP-2: a ticket, who asked, and when the desk takes it up and must answer."""

    id: str
    account_id: str
    opened_by: str
    requester: RequesterKind
    category: Category
    criticality: Criticality
    subject: str
    status: TicketStatus
    channel: Channel
    language: str
    on_duty: bool
    opened_at: datetime
    starts_at: datetime
    respond_by: datetime
    resolve_by: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    contact_email: str | None = None


class OpenedOut(TicketOut):
    """SUP-2: the new ticket and what the platform told the requester."""

    notice: str


class EventOut(Output):
    """SUP-1: one entry of a ticket's history."""

    id: str
    at: datetime
    author_id: str
    from_desk: bool
    kind: EventKind
    body: str
    channel: Channel
    status: TicketStatus | None


class TicketPage(Output):
    """The tickets the caller sees, newest first."""

    items: list[TicketOut]


class HistoryOut(Output):
    """SUP-1: a ticket and its history, oldest first."""

    ticket: TicketOut
    events: list[EventOut]


class QueueEntryOut(Output):
    """SUP-2: an open ticket in the operator's queue."""

    ticket: TicketOut
    response_at_risk: bool
    resolution_at_risk: bool
    overdue: bool


class QueueOut(Output):
    """SUP-2: the operator's open tickets, soonest resolution deadline first."""

    items: list[QueueEntryOut]


class OpenBody(Input):
    """SUP-1: what the request is about; no calls and poor quality are critical (SUP-2)."""

    account_id: Id
    category: Category
    criticality: Criticality = Criticality.NORMAL
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    description: Text
    channel: Channel = Channel.PORTAL


class MessageBody(Input):
    """SUP-1: a reply; the operator may record a call or an e-mail (channel)."""

    body: Text
    channel: Channel = Channel.PORTAL


class StatusBody(Input):
    """SUP-1: the status to move the ticket to."""

    status: TicketStatus


class MaterialIn(Input):
    """BIL-5: one material used, at its price (EUR, excluding VAT)."""

    description: Annotated[str, Field(min_length=1, max_length=200)]
    price: Money


class InterventionBody(Input):
    """BIL-5: time and materials; ``covered_by`` when the terms cover it (not billed)."""

    reason: InterventionReason
    performed_on: date
    minutes: Annotated[int, Field(ge=1, le=1440)]
    materials: Annotated[list[MaterialIn], Field(max_length=50)] = []
    hourly_rate: Money | None = None
    covered_by: Annotated[str | None, Field(pattern=r"^(warranty|operator_fault)$")] = None


class InterventionOut(Output):
    """BIL-5: an intervention and whether it is billed."""

    id: str
    ticket_id: str
    account_id: str
    reason: InterventionReason
    performed_on: date
    minutes: int
    hourly_rate: Decimal
    materials: list[tuple[str, Decimal]]
    covered_by: str | None
    billed: bool
    amount: Decimal


class InterventionPage(Output):
    """BIL-5: the interventions of a ticket, oldest first."""

    items: list[InterventionOut]


def _ticket(ticket: Ticket) -> TicketOut:
    return TicketOut.model_validate({**ticket.__dict__, "language": ticket.language.value})


def _contact(c: Call) -> str | None:
    """SUP-1: a portal user who opens a ticket hears about it at their own address."""
    if c.claims.kind != "user":
        return None
    user = c.uow.users.find(c.claims.subject)
    return user.email if user is not None else None


def _event(event: TicketEvent) -> EventOut:
    return EventOut.model_validate(event, from_attributes=True)


def _intervention(record: InterventionRecord) -> InterventionOut:
    lines = itv.lines_of(record)
    return InterventionOut.model_validate(
        {
            **record.__dict__,
            "materials": list(record.materials),
            "billed": bool(lines),
            "amount": sum((line.amount for line in lines), Decimal("0.00")),
        }
    )


@router.post(
    "/tickets",
    response_model=OpenedOut,
    status_code=201,
    summary="Open a support ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("SUP-1")),
    **described(
        CREATE,
        "SUP-1/SUP-2: open a ticket; out of hours only eligible critical tickets reach the "
        "on-duty staff, the others are told when the desk handles them.",
    ),
)
def open_ticket(body: OpenBody, c: Call = Depends(call)) -> Response:
    c.require(CREATE)
    ticket = t.open_ticket(
        c.uow,
        c.ctx,
        body.account_id,
        body.category,
        body.criticality,
        body.subject,
        body.description,
        body.channel,
        contact_email=_contact(c),
    )
    out = OpenedOut.model_validate({**_ticket(ticket).model_dump(), "notice": t.opening_notice(ticket)})
    return write_response(out.model_dump_json().encode(), 201)


@router.get(
    "/tickets",
    response_model=TicketPage,
    summary="Tickets the caller sees",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "SUP-1/TEN-4: a customer's own tickets, a partner's customers', the operator's all."),
)
def list_tickets(
    request: Request,
    account_id: Annotated[
        str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    ] = None,
    status: TicketStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    c: Call = Depends(call),
) -> Response:
    c.require(READ)
    found = t.list_tickets(c.uow, c.ctx, account_id=account_id, status=status, limit=limit)
    return read_response(request, TicketPage(items=[_ticket(x) for x in found]).model_dump_json().encode())


@router.get(
    "/tickets/{id}",
    response_model=HistoryOut,
    summary="A ticket and its history",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "SUP-1: the ticket with every message, status change, intervention and return."),
)
def read_ticket(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    ticket = t.get_ticket(c.uow, c.ctx, id)
    out = HistoryOut(ticket=_ticket(ticket), events=[_event(e) for e in t.history(c.uow, c.ctx, id)])
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/tickets/{id}/messages",
    response_model=EventOut,
    status_code=201,
    summary="Reply on a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("SUP-1")),
    **described(UPDATE, "SUP-1: a message on the ticket (the operator may attach a call or an e-mail)."),
)
def add_message(id: ID, body: MessageBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    event = t.reply(c.uow, c.ctx, id, body.body, body.channel)
    return write_response(_event(event).model_dump_json().encode(), 201)


@router.post(
    "/tickets/{id}/status",
    response_model=TicketOut,
    summary="Move a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("SUP-1")),
    **described(UPDATE, "SUP-1: the desk moves a ticket; the requester closes it or reopens a resolved one."),
)
def move_ticket(id: ID, body: StatusBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    ticket = t.change_status(c.uow, c.ctx, id, body.status)
    return write_response(_ticket(ticket).model_dump_json().encode())


@router.get(
    "/support/queue",
    response_model=QueueOut,
    summary="The support desk's queue",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(QUEUE, "SUP-2: open tickets by resolution deadline, those at risk and overdue flagged."),
)
def read_queue(
    request: Request,
    margin_minutes: Annotated[int, Query(ge=0, le=24 * 60)] = 60,
    c: Call = Depends(call),
) -> Response:
    c.require(QUEUE)
    entries = t.queue(c.uow, c.ctx, timedelta(minutes=margin_minutes))
    out = QueueOut(
        items=[
            QueueEntryOut(
                ticket=_ticket(e.ticket),
                response_at_risk=e.response_at_risk,
                resolution_at_risk=e.resolution_at_risk,
                overdue=e.overdue,
            )
            for e in entries
        ]
    )
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/tickets/{id}/interventions",
    response_model=InterventionOut,
    status_code=201,
    summary="Log an intervention on a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("BIL-5")),
    **described(
        INTERVENE,
        "BIL-5: time and materials, billed on the next invoice citing the ticket unless "
        "the terms cover them (operator).",
    ),
)
def add_intervention(id: ID, body: InterventionBody, c: Call = Depends(call)) -> Response:
    c.require(INTERVENE)
    record = itv.record_intervention(
        c.uow,
        c.ctx,
        id,
        reason=body.reason,
        performed_on=body.performed_on,
        minutes=body.minutes,
        materials=tuple((m.description, m.price) for m in body.materials),
        hourly_rate=body.hourly_rate,
        covered_by=body.covered_by,
    )
    return write_response(_intervention(record).model_dump_json().encode(), 201)


@router.get(
    "/tickets/{id}/interventions",
    response_model=InterventionPage,
    summary="Interventions logged on a ticket",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(INTERVENTIONS, "BIL-5: the time and materials logged on the ticket, billed or covered."),
)
def list_interventions(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(INTERVENTIONS)
    found = [_intervention(r) for r in itv.interventions_of(c.uow, c.ctx, id)]
    return read_response(request, InterventionPage(items=found).model_dump_json().encode())
