"""Dunning (PAY-1, PAY-2, PAY-3): the daily job, collection costs, and the PAY-2 lines' invoices.

* ``run_dunning``: reminders and their fees, late-payment interest, suspension to minimum
  service after the last reminder when the policy says so, restoration on payment;
* ``in_default``: who is past the last reminder (for the operator to decide);
* ``add_collection_costs``: PAY-2 costs waiting for the party's next invoice;
* ``invoice_charges``: those lines issued on an invoice of their own now; by default the
  monthly run puts them on the party's next invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from nuage.billing.invoices import DocumentType, InvoiceDraft
from nuage.billing.lines import InvoiceLine
from nuage.billing.vat import vat_treatment
from nuage.payments.dunning import (
    DunningHistory,
    DunningPlan,
    InterestMode,
    collection_costs_line,
    plan_dunning,
    reminder_fee_line,
)
from nuage.payments.ledger import Ledger
from nuage.services.billing.common import billing_party
from nuage.services.billing.issuing import issue_documents
from nuage.services.billing.plans import PlanBook
from nuage.services.billing.ports import BillingUnitOfWork, StoredInvoice
from nuage.services.context import Context
from nuage.services.einvoicing import EInvoiceGate, PaymentSettings
from nuage.services.payments.common import require_operator
from nuage.services.payments.delivery import Outgoing, reminder_mail
from nuage.services.payments.documents import DocumentTools
from nuage.services.payments.payments import current_ledger
from nuage.services.payments.suspension import arrears_parties, restore, suspend
from nuage.shared.clock import business_date
from nuage.shared.money import ZERO


@dataclass
class DunningReport:
    """PAY-1/PAY-2: what the daily job did."""

    on: date
    plan: DunningPlan
    suspended: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    reminders: list[Outgoing] = field(default_factory=list)  # e-mails to send (``deliver``)


def run_dunning(
    uow: BillingUnitOfWork,
    ctx: Context,
    settings: PaymentSettings,
    on: date | None = None,
) -> DunningReport:
    """PAY-1/PAY-2/PAY-3: the daily job; running it twice on a day does nothing more."""
    require_operator(ctx)
    store = uow.payments
    day = on or business_date(ctx.clock.now())
    ledger = current_ledger(uow, settings)
    arrears = arrears_parties(uow)
    history = DunningHistory(store.reminders(), store.interest_charged(), frozenset(arrears))
    plan = plan_dunning(day, ledger, history, settings.policy, interest_modes(uow, ledger, day))
    report = DunningReport(day, plan)
    for reminder in plan.reminders:
        store.add_reminder(
            reminder.invoice_number,
            reminder.party_id,
            reminder.level,
            day,
            reminder.fee,
            reminder.outstanding,
        )
        if reminder.fee > ZERO:
            line = reminder_fee_line(reminder.invoice_number, reminder.party_id, reminder.level, reminder.fee)
            store.add_charge(reminder.party_id, "reminder_fee", reminder.invoice_number, line, day)
        report.reminders.append(
            reminder_mail(
                uow,
                settings.iban,
                settings.mail_from,
                reminder.invoice_number,
                reminder.level,
                reminder.fee,
                reminder.outstanding,
                reminder.due_on,
            )
        )
    for charge in plan.interest:
        store.add_charge(
            charge.party_id, "late_interest", charge.invoice_number, charge.line, day, charge.accrued_total
        )
    if settings.policy.auto_suspend:
        for party_id in plan.in_default:
            numbers = tuple(state.number for state in ledger.overdue(day, party_id))
            report.suspended += [party.id for party in suspend(uow, ctx, party_id, numbers)]
    for party_id in plan.to_restore:
        report.restored += [party.id for party in restore(uow, ctx, party_id)]
    return report


def interest_modes(uow: BillingUnitOfWork, ledger: Ledger, on: date) -> dict[str, InterestMode]:
    """PAY-2: the interest reading of each contracting party whose price plan names one on ``on``."""
    plans = PlanBook(uow.billing)
    modes: dict[str, InterestMode] = {}
    for party_id in sorted({state.party_id for state in ledger.invoices.values()}):
        mode = plans.interest_mode(uow.parties.get(party_id), on)
        if mode is not None:
            modes[party_id] = mode
    return modes


def in_default(
    uow: BillingUnitOfWork, ctx: Context, settings: PaymentSettings, on: date
) -> dict[str, tuple[str, ...]]:
    """PAY-1: contracting parties past their last reminder, with their overdue invoices (for the operator)."""
    require_operator(ctx)
    store = uow.payments
    ledger = current_ledger(uow, settings)
    history = DunningHistory(store.reminders(), store.interest_charged(), frozenset(arrears_parties(uow)))
    plan = plan_dunning(on, ledger, history, settings.policy, interest_modes(uow, ledger, on))
    return {party: tuple(state.number for state in ledger.overdue(on, party)) for party in plan.in_default}


def add_collection_costs(
    uow: BillingUnitOfWork, ctx: Context, party_id: str, amount: Decimal, note: str
) -> InvoiceLine:
    """PAY-2: collection costs the operator incurred, charged on the party's next invoice."""
    require_operator(ctx)
    uow.parties.get(party_id)
    line = collection_costs_line(party_id, amount, note, ())
    uow.payments.add_charge(party_id, "collection_costs", None, line, business_date(ctx.clock.now()))
    return line


def invoice_charges(
    uow: BillingUnitOfWork,
    ctx: Context,
    party_id: str,
    tools: DocumentTools,
    issue_on: date | None = None,
) -> StoredInvoice | None:
    """PAY-2: issue the pending PAY-2 lines of a party on an invoice of their own now (None when
    nothing is pending). The default path is the party's next monthly invoice (``run_billing``)."""
    require_operator(ctx)
    store = uow.payments
    charges = store.charges(party_id)
    if not charges:
        return None
    party = uow.parties.get(party_id)
    day = issue_on or business_date(ctx.clock.now())
    draft = InvoiceDraft(
        run_key=f"charges:{party_id}:{charges[0].charge_id}-{charges[-1].charge_id}",
        document_type=DocumentType.INVOICE,
        invoiced_party_id=party_id,
        issue_on=day,
        period=None,
        lines=tuple(charge.line for charge in charges),
        vat=vat_treatment(billing_party(party)),
    )
    # BIL-4: validated before it is numbered, like every issued invoice
    gate = EInvoiceGate(uow, tools.settings, validator=tools.validator)
    issued, refused = issue_documents(uow, [draft], "charges", ctx.clock.now(), gate)
    if refused:
        raise next(iter(refused.values()))
    (stored,) = issued
    store.mark_charges_invoiced([charge.charge_id for charge in charges], stored.issued.number)
    return stored
