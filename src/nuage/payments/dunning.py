"""Dunning (PAY-1, PAY-2): reminders, reminder fees, late-payment interest, suspension and restoration.

``plan_dunning(as_of, ledger, history, policy)`` is the daily job, a pure function of the
date and the state; the use case stores and carries out what it returns.

PAY-2 — "un taux d'intérêt de retard de 1 % par mois de retard":

* ``InterestMode.PER_STARTED_MONTH`` (the default, the terms read literally): every started
  month of delay costs 1 % of what was unpaid when that month started. Delay month *k*
  runs from the day after ``due + (k−1) months`` to ``due + k months`` (calendar months,
  ``terms.contract.add_months``), so paying one day late costs one full month.
* ``InterestMode.PRO_RATA`` (a setting): 1 % per calendar month of delay, each day of delay
  costing 1 % × unpaid amount ÷ the number of days of the delay month it falls in.
  Decision: calendar delay months rather than days/30, so a whole month of delay always
  costs exactly 1 %, whatever the month's length.
* ``InterestMode.PER_DAY`` (a setting): days of delay / 30 × 1 %, each day after the due date
  costing 1 % × the amount unpaid that day ÷ 30, whatever the month.

The reading is the operator's setting (``payments.interest_mode``) unless the price plan the
contracting party is billed with names one (``PriceList.interest_reading``, per party in
``plan_dunning``'s ``interest_modes``).

Interest runs on the unpaid amount including VAT, is rounded half-up to the cent once per
charge, and is charged cumulatively: each charge is the interest accrued so far minus what
was already charged for the invoice, so nothing is charged twice. Per started month, a charge
falls due when a delay month starts; pro rata and per day, at each monthly anniversary of the
due date and when the invoice is settled. Charges become invoice lines citing PAY-2 that the next invoice
of the contracting party carries (the monthly run adds them), VAT-exempt (category E, see
``billing.vat``: compensation, not the consideration for a supply).

Reminders are sent at the configured days after the due date (7, 14, 30 by default), each
level once and in order: when the job did not run for a while, the next level is sent, never a
later one, and each following level waits at least the configured gap after the one before
(``next_reminder``). After the last reminder and ``suspend_after_days`` more, a party still in arrears is in
default: the operator suspends it to minimum service (PAY-1, PAY-3), or the job does when
``auto_suspend`` is on. A party suspended for non-payment is restored once it has no overdue
invoice left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from nuage.billing.lines import InvoiceLine, SourceRef, make_line
from nuage.billing.vat import COMPENSATION_VAT
from nuage.errors import InvalidInput
from nuage.payments.ledger import InvoiceState, Ledger
from nuage.shared.money import ZERO, round_half_up_to_cent
from nuage.terms.contract import add_months

MONTHLY_RATE = Decimal("0.01")  # PAY-2: 1 % per month of delay
_DAYS_PER_MONTH = Decimal(30)  # PAY-2, per-day reading: a month of delay is 30 days
SUSPENSION_REASON_PREFIX = "PAY-1/PAY-3"


class InterestMode(StrEnum):
    """PAY-2: how "1 % per month of delay" is counted; a setting because both readings are plausible."""

    PER_STARTED_MONTH = "per-started-month"  # the terms literally (default)
    PRO_RATA = "pro-rata"  # per day, within calendar delay months
    PER_DAY = "per-day"  # days of delay / 30 × 1 %


@dataclass(frozen=True)
class DunningPolicy:
    """PAY-1/PAY-2: the operator's dunning settings."""

    reminder_days: tuple[int, ...] = (7, 14, 30)
    reminder_fees: tuple[Decimal, ...] = (Decimal(0), Decimal("7.50"), Decimal("15.00"))
    interest_mode: InterestMode = InterestMode.PER_STARTED_MONTH
    monthly_rate: Decimal = MONTHLY_RATE
    suspend_after_days: int = 7
    auto_suspend: bool = False

    def __post_init__(self) -> None:
        if not self.reminder_days or list(self.reminder_days) != sorted(set(self.reminder_days)):
            raise InvalidInput("reminder_days", "reminder days must be increasing, e.g. 7,14,30")
        if self.reminder_days[0] < 1:
            raise InvalidInput("reminder_days", "the first reminder comes at least a day after the due date")
        if len(self.reminder_fees) != len(self.reminder_days):
            raise InvalidInput("reminder_fees", "one reminder fee per reminder day")
        if any(fee < 0 for fee in self.reminder_fees):
            raise InvalidInput("reminder_fees", "reminder fees are not negative")

    @property
    def last_level(self) -> int:
        """PAY-1: the number of the last reminder."""
        return len(self.reminder_days)


def delay_month_bounds(due_on: date, k: int) -> tuple[date, date]:
    """PAY-2: the first and last day of delay month ``k`` (k ≥ 1) of an invoice due on ``due_on``."""
    return add_months(due_on, k - 1) + timedelta(days=1), add_months(due_on, k)


def started_delay_months(due_on: date, through: date) -> int:
    """PAY-2: how many delay months have started by ``through`` (0 when not late)."""
    k = 0
    while delay_month_bounds(due_on, k + 1)[0] <= through:
        k += 1
    return k


def accrued_interest(
    state: InvoiceState, through: date, mode: InterestMode, rate: Decimal = MONTHLY_RATE
) -> Decimal:
    """PAY-2: the exact interest accrued on an invoice from its due date to ``through`` (inclusive)."""
    total = ZERO
    if mode is InterestMode.PER_DAY:
        day = state.due_on + timedelta(days=1)
        while day <= through:
            total += rate * max(state.outstanding_on(day), ZERO) / _DAYS_PER_MONTH
            day += timedelta(days=1)
        return total
    for k in range(1, started_delay_months(state.due_on, through) + 1):
        first, last = delay_month_bounds(state.due_on, k)
        if mode is InterestMode.PER_STARTED_MONTH:
            total += rate * max(state.outstanding_on(first), ZERO)
            continue
        length = (last - first).days + 1
        day = first
        while day <= min(last, through):
            total += rate * max(state.outstanding_on(day), ZERO) / length
            day += timedelta(days=1)
    return total


def interest_charge_date(state: InvoiceState, as_of: date, mode: InterestMode) -> date:
    """PAY-2: the day interest is charged through (see the module docstring)."""
    paid_on = state.paid_on
    if mode is InterestMode.PER_STARTED_MONTH:
        return min(as_of, paid_on) if paid_on else as_of
    if paid_on is not None and paid_on <= as_of:
        return paid_on
    k = 0
    while add_months(state.due_on, k + 1) <= as_of:
        k += 1
    return add_months(state.due_on, k)


def interest_line(
    invoice_number: str, party_id: str, amount: Decimal, months: int, through: date
) -> InvoiceLine:
    """PAY-2: an invoice line charging late-payment interest on ``invoice_number``."""
    return make_line(
        rule_id="PAY-2",
        vat=COMPENSATION_VAT,  # compensation, no VAT (billing.vat)
        description_key="line.payment.late_interest",
        customer_id=party_id,
        item_kind="late_interest",
        period=None,
        quantity=Decimal(1),
        unit_price=amount,
        sources=(SourceRef("invoice", invoice_number),),
        params={"invoice": invoice_number, "months": str(months), "through": through.isoformat()},
    )


def reminder_fee_line(invoice_number: str, party_id: str, level: int, fee: Decimal) -> InvoiceLine:
    """PAY-2: an invoice line charging a reminder's fee."""
    return make_line(
        rule_id="PAY-2",
        vat=COMPENSATION_VAT,  # compensation, no VAT (billing.vat)
        description_key="line.payment.reminder_fee",
        customer_id=party_id,
        item_kind="reminder_fee",
        period=None,
        quantity=Decimal(1),
        unit_price=fee,
        sources=(SourceRef("reminder", f"{invoice_number}:{level}"),),
        params={"invoice": invoice_number, "level": str(level)},
    )


def collection_costs_line(
    party_id: str, amount: Decimal, note: str, invoice_numbers: tuple[str, ...]
) -> InvoiceLine:
    """PAY-2: collection costs incurred by the operator, added by hand."""
    if amount <= ZERO:
        raise InvalidInput("amount", "collection costs are a positive amount")
    if not note.strip():
        raise InvalidInput("note", "say what the collection costs are (bailiff, agency...)")
    return make_line(
        rule_id="PAY-2",
        vat=COMPENSATION_VAT,  # compensation, no VAT (billing.vat)
        description_key="line.payment.collection_costs",
        customer_id=party_id,
        item_kind="collection_costs",
        period=None,
        quantity=Decimal(1),
        unit_price=round_half_up_to_cent(amount),
        sources=tuple(SourceRef("invoice", number) for number in invoice_numbers),
        params={"note": note.strip()},
    )


@dataclass(frozen=True)
class ReminderDue:
    """PAY-1/PAY-2: a reminder to send today."""

    invoice_number: str
    party_id: str
    level: int  # 1-based
    fee: Decimal
    outstanding: Decimal
    due_on: date


@dataclass(frozen=True)
class InterestCharge:
    """PAY-2: interest to charge on the party's next invoice."""

    invoice_number: str
    party_id: str
    amount: Decimal
    accrued_total: Decimal  # rounded interest charged so far once this is added
    through: date
    months: int

    @property
    def line(self) -> InvoiceLine:
        """PAY-2: the invoice line of this charge."""
        return interest_line(self.invoice_number, self.party_id, self.amount, self.months, self.through)


@dataclass(frozen=True)
class DunningHistory:
    """PAY-1/PAY-2: what was already done: reminders sent, interest charged, who is suspended."""

    reminders_sent: Mapping[str, Mapping[int, date]] = field(default_factory=dict)  # invoice → level → day
    interest_charged: Mapping[str, Decimal] = field(default_factory=dict)  # invoice → rounded total
    suspended_for_arrears: frozenset[str] = frozenset()  # contracting parties suspended under PAY-1


@dataclass(frozen=True)
class DunningPlan:
    """PAY-1/PAY-2: what the daily job does today."""

    reminders: tuple[ReminderDue, ...]
    interest: tuple[InterestCharge, ...]
    in_default: tuple[str, ...]  # contracting parties to suspend (after the last reminder)
    to_restore: tuple[str, ...]  # contracting parties suspended for arrears with nothing overdue left


def next_reminder(
    state: InvoiceState, sent: Mapping[int, date], policy: DunningPolicy
) -> tuple[int, date] | None:
    """PAY-1: the next reminder of an unpaid invoice and the day it falls due, or None after the last.

    Reminders go in order, one level at a time: level 1 at its days after the due date, each next
    level at its days after the due date *and* no sooner than the configured gap after the level
    before was sent, so a customer always gets the time the first reminders give before the next.
    """
    level = max(sent, default=0) + 1
    if level > policy.last_level:
        return None
    days = policy.reminder_days
    on = state.due_on + timedelta(days=days[level - 1])
    previous = sent.get(level - 1)
    if previous is not None:
        on = max(on, previous + timedelta(days=days[level - 1] - days[level - 2]))
    return level, on


def _reminder_due(
    state: InvoiceState, as_of: date, sent: Mapping[int, date], policy: DunningPolicy
) -> ReminderDue | None:
    if state.outstanding <= ZERO:
        return None
    following = next_reminder(state, sent, policy)
    if following is None or following[1] > as_of:
        return None
    level = following[0]
    return ReminderDue(
        state.number, state.party_id, level, policy.reminder_fees[level - 1], state.outstanding, state.due_on
    )


def plan_dunning(
    as_of: date,
    ledger: Ledger,
    history: DunningHistory,
    policy: DunningPolicy,
    interest_modes: Mapping[str, InterestMode] | None = None,
) -> DunningPlan:
    """PAY-1/PAY-2: reminders, interest charges, defaults and restorations on ``as_of``.

    ``interest_modes``: the PAY-2 reading of the parties whose price plan names one (the others
    follow ``policy.interest_mode``)."""
    modes = interest_modes or {}
    reminders: list[ReminderDue] = []
    charges: list[InterestCharge] = []
    in_default: dict[str, None] = {}
    for state in sorted(ledger.invoices.values(), key=lambda s: s.number):
        if state.due_on >= as_of:
            continue
        sent = history.reminders_sent.get(state.number, {})
        reminder = _reminder_due(state, as_of, sent, policy)
        if reminder is not None:
            reminders.append(reminder)
        mode = modes.get(state.party_id, policy.interest_mode)
        through = interest_charge_date(state, as_of, mode)
        accrued = round_half_up_to_cent(accrued_interest(state, through, mode, policy.monthly_rate))
        already = history.interest_charged.get(state.number, ZERO)
        if accrued > already:
            months = started_delay_months(state.due_on, through)
            charges.append(
                InterestCharge(state.number, state.party_id, accrued - already, accrued, through, months)
            )
        last_sent = sent.get(policy.last_level)
        if (
            state.outstanding > ZERO
            and last_sent is not None
            and (as_of - last_sent).days >= policy.suspend_after_days
        ):
            in_default[state.party_id] = None
    restore = tuple(
        sorted(party for party in history.suspended_for_arrears if not ledger.overdue(as_of, party))
    )
    defaults = tuple(party for party in in_default if party not in history.suspended_for_arrears)
    return DunningPlan(tuple(reminders), tuple(charges), defaults, restore)


def suspension_reason(invoice_numbers: tuple[str, ...]) -> str:
    """PAY-1/PAY-3: the status reason recorded on a party suspended for unpaid invoices."""
    listed = ", ".join(invoice_numbers) or "-"
    return f"{SUSPENSION_REASON_PREFIX}: unpaid invoices {listed}; minimum service (emergency calls only)"


def suspended_for_arrears(reason: str | None) -> bool:
    """PAY-1: whether a status reason is a suspension for non-payment (restored on payment)."""
    return bool(reason) and str(reason).startswith(SUSPENSION_REASON_PREFIX)
