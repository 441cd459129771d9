"""Interventions (BIL-5): time and materials logged on a ticket, billed on the next invoice.

The operator logs an intervention on a ticket; unless the terms cover it (``covered_by``: the
warranty of HW-1, or the operator's own fault), its lines (``support.interventions``) go on the
customer's next invoice as pending charges citing BIL-5 and the ticket (BIL-10).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from nuage.billing.lines import InvoiceLine
from nuage.documents.messages import message
from nuage.errors import InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.support.charges import charge, intervention_rate
from nuage.services.support.ports import EventKind, InterventionRecord, SupportUnitOfWork
from nuage.services.support.tickets import add_event, get_ticket
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.support.interventions import Intervention, InterventionReason, intervention_lines

#: BIL-5: why an intervention is not billed (the terms cover it)
COVERED = frozenset({"warranty", "operator_fault"})


def _domain(record: InterventionRecord) -> Intervention:
    return Intervention(
        record.id,
        record.ticket_id,
        record.account_id,
        record.reason,
        record.performed_on,
        record.minutes,
        record.hourly_rate,
        record.materials,
    )


def lines_of(record: InterventionRecord) -> list[InvoiceLine]:
    """BIL-5: the lines an intervention puts on the invoice (none when covered)."""
    return [] if record.covered_by else intervention_lines(_domain(record))


def record_intervention(
    uow: SupportUnitOfWork,
    ctx: Context,
    ticket_id: str,
    *,
    reason: InterventionReason,
    performed_on: date,
    minutes: int,
    materials: tuple[tuple[str, Decimal], ...] = (),
    hourly_rate: Decimal | None = None,
    covered_by: str | None = None,
) -> InterventionRecord:
    """BIL-5: log time and materials on a ticket (operator); billed on the next invoice unless covered."""
    if not ctx.scope.is_operator:
        raise NotFound("ticket", ticket_id)
    ticket = get_ticket(uow, ctx, ticket_id)
    if covered_by is not None and covered_by not in COVERED:
        raise InvalidInput("covered_by", f"covered_by is one of {', '.join(sorted(COVERED))}")
    if performed_on > business_date(ctx.clock.now()) or performed_on < business_date(ticket.opened_at):
        raise InvalidInput(
            "performed_on", "An intervention is performed between the ticket's opening and today"
        )
    record = InterventionRecord(
        id=new_id("itv"),
        ticket_id=ticket.id,
        account_id=ticket.account_id,
        reason=reason,
        performed_on=performed_on,
        minutes=minutes,
        hourly_rate=intervention_rate(uow, ticket.account_id, performed_on)
        if hourly_rate is None
        else hourly_rate,
        materials=materials,
        covered_by=covered_by,
        recorded_at=ctx.clock.now(),
    )
    lines = intervention_lines(_domain(record))  # checks minutes and prices (BIL-5)
    uow.support.interventions.add(record)
    if covered_by is None:
        customer = uow.parties.get(ticket.account_id)
        charge(uow, ctx.clock, customer, "intervention", f"intervention:{record.id}", lines)
    language = ticket.language.value
    note = (
        message("support.intervention.covered", language, minutes=minutes, covered_by=covered_by)
        if covered_by
        else message("support.intervention.billed", language, minutes=minutes)
    )
    add_event(
        uow, ticket, record.recorded_at, ctx.scope.viewer_id, EventKind.INTERVENTION, note, from_desk=True
    )
    uow.commit()
    return record


def interventions_of(uow: SupportUnitOfWork, ctx: Context, ticket_id: str) -> list[InterventionRecord]:
    """BIL-5: the interventions logged on a ticket the caller sees."""
    get_ticket(uow, ctx, ticket_id)
    return uow.support.interventions.list(ticket_id=ticket_id, order_by=("recorded_at", "id"))
