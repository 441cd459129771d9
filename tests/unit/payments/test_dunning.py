from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.errors import InvalidInput
from nuage.payments.dunning import (
    DunningHistory,
    DunningPolicy,
    InterestMode,
    accrued_interest,
    collection_costs_line,
    next_reminder,
    plan_dunning,
    started_delay_months,
    suspended_for_arrears,
    suspension_reason,
)
from nuage.payments.ledger import Payment, Receivable, settle
from nuage.shared.money import round_half_up_to_cent

D = Decimal
DUE = date(2026, 3, 31)
INVOICE = Receivable("INV-2026-000001", "cus-1", date(2026, 3, 1), DUE, D("1000.00"))
STARTED = InterestMode.PER_STARTED_MONTH
PRO_RATA = InterestMode.PRO_RATA
PER_DAY = InterestMode.PER_DAY


def state(*payments: tuple[date, str]):  # type: ignore[no-untyped-def]
    ledger = settle(
        [INVOICE],
        [
            Payment(f"p{i}", "cus-1", day, D(amount), INVOICE.number)
            for i, (day, amount) in enumerate(payments)
        ],
    )
    return ledger.invoices[INVOICE.number]


def interest(mode: InterestMode, through: date, *payments: tuple[date, str]) -> Decimal:
    return round_half_up_to_cent(accrued_interest(state(*payments), through, mode))


@pytest.mark.rule("PAY-2")
def test_delay_months_are_calendar_months_from_the_due_date() -> None:
    assert started_delay_months(DUE, DUE) == 0
    assert started_delay_months(DUE, date(2026, 4, 1)) == 1
    assert started_delay_months(DUE, date(2026, 4, 30)) == 1
    assert started_delay_months(DUE, date(2026, 5, 1)) == 2


@pytest.mark.rule("PAY-2")
def test_one_day_late_costs_a_whole_started_month_but_a_day_pro_rata() -> None:
    paid_late = (date(2026, 4, 1), "1000.00")
    assert interest(STARTED, date(2026, 6, 30), paid_late) == D("10.00")
    assert interest(PRO_RATA, date(2026, 6, 30), paid_late) == D("0.33")  # 1000 × 1 % / 30 (April)
    assert interest(STARTED, date(2026, 6, 30), (DUE, "1000.00")) == D("0.00")


@pytest.mark.rule("PAY-2")
def test_per_day_counts_days_of_delay_over_thirty() -> None:
    assert interest(PER_DAY, date(2026, 6, 30), (date(2026, 4, 1), "1000.00")) == D("0.33")  # 1 day
    assert interest(PER_DAY, date(2026, 5, 15), (date(2026, 5, 15), "1000.00")) == D("15.00")  # 45 days
    # 400 paid on 15 April, 600 on 10 May: 15 days on 1000 (1–15 April, as pro rata counts the day
    # of payment) and 25 days on 600 (16 April–10 May): 5.00 + 5.00
    payments = ((date(2026, 4, 15), "400.00"), (date(2026, 5, 10), "600.00"))
    assert interest(PER_DAY, date(2026, 7, 1), *payments) == D("10.00")


@pytest.mark.rule("PAY-2")
def test_partial_payments_reduce_the_base_of_later_months() -> None:
    payments = ((date(2026, 4, 15), "400.00"), (date(2026, 5, 10), "600.00"))
    # started months: April on 1000, May on 600
    assert interest(STARTED, date(2026, 7, 1), *payments) == D("16.00")
    # pro rata: 15 days × 1000/30 % + 15 days × 600/30 % + 10 days × 600/31 % = 5 + 3 + 1.935…
    assert interest(PRO_RATA, date(2026, 7, 1), *payments) == D("9.94")


@pytest.mark.rule("PAY-2")
def test_unpaid_invoice_is_charged_each_started_month_once() -> None:
    ledger = settle([INVOICE], [])
    policy = DunningPolicy()
    plan = plan_dunning(date(2026, 6, 15), ledger, DunningHistory(), policy)
    assert [(c.amount, c.months) for c in plan.interest] == [(D("30.00"), 3)]
    assert plan.interest[0].line.rule_id == "PAY-2"
    assert plan.interest[0].line.amount == D("30.00")
    charged = DunningHistory(interest_charged={INVOICE.number: D("30.00")})
    assert plan_dunning(date(2026, 6, 30), ledger, charged, policy).interest == ()
    later = plan_dunning(date(2026, 7, 1), ledger, charged, policy).interest
    assert [(c.amount, c.accrued_total) for c in later] == [(D("10.00"), D("40.00"))]


@pytest.mark.rule("PAY-2")
def test_pro_rata_interest_is_charged_at_month_anniversaries_and_settlement() -> None:
    ledger = settle([INVOICE], [])
    policy = DunningPolicy(interest_mode=PRO_RATA)
    plan = plan_dunning(date(2026, 6, 15), ledger, DunningHistory(), policy)
    assert [(c.amount, c.through) for c in plan.interest] == [(D("20.00"), date(2026, 5, 31))]
    paid = settle([INVOICE], [Payment("p", "cus-1", date(2026, 6, 10), D("1000.00"), INVOICE.number)])
    history = DunningHistory(interest_charged={INVOICE.number: D("20.00")})
    after = plan_dunning(date(2026, 6, 15), paid, history, policy).interest
    # 10 days of June's delay month (1..30 June) on 1000: 1000 × 1 % × 10/30 = 3.33
    assert [(c.amount, c.through) for c in after] == [(D("3.33"), date(2026, 6, 10))]


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-2")
def test_reminders_at_configured_days_with_fees_in_order() -> None:
    ledger = settle([INVOICE], [])
    policy = DunningPolicy(reminder_days=(7, 14, 30), reminder_fees=(D(0), D("7.50"), D(15)))
    assert plan_dunning(date(2026, 4, 6), ledger, DunningHistory(), policy).reminders == ()
    first = plan_dunning(date(2026, 4, 7), ledger, DunningHistory(), policy).reminders
    assert [(r.level, r.fee) for r in first] == [(1, D(0))]
    sent = DunningHistory(reminders_sent={INVOICE.number: {1: date(2026, 4, 7)}})
    assert plan_dunning(date(2026, 4, 8), ledger, sent, policy).reminders == ()
    # the job did not run for a month: the next reminder goes out, never a jump to the last one
    late = plan_dunning(date(2026, 5, 5), ledger, sent, policy).reminders
    assert [(r.level, r.fee, r.outstanding) for r in late] == [(2, D("7.50"), D("1000.00"))]
    second = DunningHistory(reminders_sent={INVOICE.number: {1: date(2026, 4, 7), 2: date(2026, 5, 5)}})
    # the third waits the gap between the second and third levels (30 - 14 = 16 days) after the second
    assert plan_dunning(date(2026, 5, 20), ledger, second, policy).reminders == ()
    third = plan_dunning(date(2026, 5, 21), ledger, second, policy).reminders
    assert [(r.level, r.fee) for r in third] == [(3, D(15))]
    assert next_reminder(ledger.invoices[INVOICE.number], second.reminders_sent[INVOICE.number], policy) == (
        3,
        date(2026, 5, 21),
    )


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-3")
def test_default_after_last_reminder_and_restoration_once_paid() -> None:
    ledger = settle([INVOICE], [])
    policy = DunningPolicy(suspend_after_days=7)
    sent = DunningHistory(reminders_sent={INVOICE.number: {1: date(2026, 4, 7), 3: date(2026, 4, 30)}})
    assert plan_dunning(date(2026, 5, 6), ledger, sent, policy).in_default == ()
    assert plan_dunning(date(2026, 5, 7), ledger, sent, policy).in_default == ("cus-1",)
    suspended = DunningHistory(sent.reminders_sent, {}, frozenset({"cus-1"}))
    assert plan_dunning(date(2026, 5, 8), ledger, suspended, policy).to_restore == ()
    paid = settle([INVOICE], [Payment("p", "cus-1", date(2026, 5, 9), D("1000.00"), INVOICE.number)])
    plan = plan_dunning(date(2026, 5, 10), paid, suspended, policy)
    assert plan.to_restore == ("cus-1",)
    assert plan.in_default == ()
    reason = suspension_reason((INVOICE.number,))
    assert suspended_for_arrears(reason)
    assert "PAY-3" in reason
    assert not suspended_for_arrears("CTR-4 bankruptcy")


@pytest.mark.rule("PAY-2")
def test_collection_costs_are_a_manual_line_citing_pay_2() -> None:
    line = collection_costs_line("cus-1", D("45.5"), "bailiff", ("INV-2026-000001",))
    assert (line.rule_id, line.amount, line.description_key) == (
        "PAY-2",
        D("45.50"),
        "line.payment.collection_costs",
    )
    with pytest.raises(InvalidInput):
        collection_costs_line("cus-1", D(0), "bailiff", ())


@pytest.mark.rule("PAY-2")
def test_policy_settings_are_checked() -> None:
    with pytest.raises(InvalidInput, match="increasing"):
        DunningPolicy(reminder_days=(14, 7), reminder_fees=(D(0), D(0)))
    with pytest.raises(InvalidInput, match="one reminder fee"):
        DunningPolicy(reminder_days=(7,), reminder_fees=(D(0), D(0)))
