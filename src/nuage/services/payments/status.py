"""Where a contracting party stands in dunning (PAY-1, PAY-2, PAY-3), said plainly.

For each overdue invoice: what is unpaid, the last reminder sent and the next one with its day;
for the party: whether it is suspended for arrears or about to be, and what restores the service.
Read by the party itself, its partner and the operator (TEN-4); nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from nuage.payments.dunning import next_reminder
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.payments import current_ledger
from nuage.services.payments.suspension import arrears_parties
from nuage.shared.clock import business_date
from nuage.shared.money import ZERO


@dataclass(frozen=True)
class OverdueInvoice:
    """PAY-1: one overdue invoice, its reminders so far and the next one."""

    number: str
    due_on: date
    outstanding: Decimal
    last_reminder: int | None
    last_reminder_on: date | None
    next_reminder: int | None
    next_reminder_on: date | None


@dataclass(frozen=True)
class DunningStatus:
    """PAY-1/PAY-3: a party's overdue invoices, its suspension, and what restores its service."""

    party_id: str
    on: date
    overdue: tuple[OverdueInvoice, ...]
    suspended: bool
    suspension_from: date | None  # PAY-3: the first day of minimum service if nothing is paid
    explanation: str

    @property
    def overdue_total(self) -> Decimal:
        """PAY-1: what is unpaid after its due date."""
        return sum((invoice.outstanding for invoice in self.overdue), ZERO)


def dunning_status(
    uow: BillingUnitOfWork, ctx: Context, settings: PaymentSettings, party_id: str, on: date | None = None
) -> DunningStatus:
    """PAY-1/PAY-3/TEN-4: where ``party_id`` (a contracting party) stands; another tenant's is NotFound."""
    ctx.scope.require(party_id)
    uow.parties.get(party_id)
    day = on or business_date(ctx.clock.now())
    policy = settings.policy
    sent_by_invoice = uow.payments.reminders()
    overdue: list[OverdueInvoice] = []
    defaults: list[date] = []
    for state in current_ledger(uow, settings).overdue(day, party_id):
        sent = sent_by_invoice.get(state.number, {})
        last = max(sent, default=None)
        following = next_reminder(state, sent, policy)
        overdue.append(
            OverdueInvoice(
                state.number,
                state.due_on,
                state.outstanding,
                last,
                None if last is None else sent[last],
                None if following is None else following[0],
                None if following is None else following[1],
            )
        )
        last_sent = sent.get(policy.last_level)
        if last_sent is not None:
            defaults.append(last_sent + timedelta(days=policy.suspend_after_days))
    suspended = party_id in arrears_parties(uow)
    status = DunningStatus(party_id, day, tuple(overdue), suspended, min(defaults, default=None), "")
    return replace(status, explanation=_explained(status))


def _explained(status: DunningStatus) -> str:
    numbers = ", ".join(invoice.number for invoice in status.overdue)
    total = f"{status.overdue_total} EUR"
    if status.suspended and not status.overdue:
        return (
            "Suspended for arrears (PAY-3); nothing is overdue any more: the next daily run restores the "
            "service."
        )
    if status.suspended:
        return (
            f"Suspended to minimum service, emergency calls only (PAY-3), for the unpaid invoices {numbers} "
            f"({total}). Paying them restores the service the next day; the subscription goes on "
            "meanwhile (PAY-1)."
        )
    if not status.overdue:
        return "Nothing is overdue."
    upcoming = [i for i in status.overdue if i.next_reminder is not None]
    parts = [f"Overdue: {numbers} ({total})."]
    if upcoming:
        first = min(upcoming, key=lambda i: i.next_reminder_on or status.on)
        parts.append(
            f"Next reminder: number {first.next_reminder} for {first.number} on {first.next_reminder_on}."
        )
    if status.suspension_from is not None:
        parts.append(
            f"Unless paid, the service may be reduced to minimum (emergency calls only) from "
            f"{status.suspension_from} (PAY-3); the subscription goes on (PAY-1)."
        )
    return " ".join(parts)
