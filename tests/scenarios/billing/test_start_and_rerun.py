"""A customer starts on 10 January: order fees, pro rata January and February, a re-run bills nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_world import NATIONAL, PLAN, USERS, amounts, clock_at, counts, direct

from nuage.billing.one_time import Order, OrderLine, invoice_order
from nuage.billing.periods import run_date
from nuage.billing.plans import OneTimeKind
from nuage.billing.runs import (
    CountBasis,
    CustomerAccount,
    MonthlyRunRequest,
    run_monthly_billing,
)
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.terms.contract import Contract

CUSTOMER = direct("acme")
CONTRACT = Contract("ctr-acme", "acme", "acme", date(2025, 1, 10))
ORDER_COUNTS = CountBasis.from_order("ord-1", counts({USERS: 3, NATIONAL: 2}))


def account(billed_through: Month | None = None) -> CustomerAccount:
    return CustomerAccount(CONTRACT, PLAN, ORDER_COUNTS, recurring_billed_through=billed_through)


@pytest.mark.rule("BIL-1")
def test_one_time_fees_are_invoiced_at_order() -> None:
    order = Order(
        "ord-1",
        "acme",
        date(2025, 1, 6),
        PLAN,
        (
            OrderLine(OneTimeKind.ACTIVATION, Decimal(1)),
            OrderLine(OneTimeKind.INSTALLATION, Decimal(1)),
            OrderLine(OneTimeKind.HARDWARE, Decimal(3)),
            OrderLine(OneTimeKind.HARDWARE, Decimal(1), Decimal("89.90"), "hardware.dect_base"),
        ),
    )
    draft = invoice_order(order, CUSTOMER, business_date(clock_at(date(2025, 1, 6)).now()))
    assert draft is not None
    assert [(line.rule_id, line.quantity, line.unit_price, line.amount) for line in draft.lines] == [
        ("BIL-1", Decimal(1), Decimal("50.00"), Decimal("50.00")),
        ("BIL-1", Decimal(1), Decimal("120.00"), Decimal("120.00")),
        ("BIL-1", Decimal(3), Decimal("150.00"), Decimal("450.00")),
        ("BIL-1", Decimal(1), Decimal("89.90"), Decimal("89.90")),
    ]
    assert draft.lines[3].description_key == "hardware.dect_base"
    assert (draft.totals.net, draft.totals.vat, draft.totals.gross) == (
        Decimal("709.90"),
        Decimal("149.08"),
        Decimal("858.98"),
    )
    assert draft.issue_on == date(2025, 1, 6)
    assert invoice_order(order, CUSTOMER, date(2025, 1, 6), existing_run_keys={draft.run_key}) is None


@pytest.mark.rule("BIL-2")
def test_run_on_the_28th_bills_the_started_month_pro_rata_and_the_next_month() -> None:
    clock = clock_at(run_date(Month(2025, 1)))
    result = run_monthly_billing(
        MonthlyRunRequest(Month(2025, 1), business_date(clock.now()), [CUSTOMER], [account()])
    )
    (draft,) = result.drafts
    assert amounts(draft) == [
        ("BIL-2", "acme", "billable_users", "2025-01", Decimal(3), Decimal("19.95"), Decimal("42.47")),
        ("BIL-2", "acme", "national_numbers", "2025-01", Decimal(2), Decimal("2.00"), Decimal("2.84")),
        ("BIL-2", "acme", "billable_users", "2025-02", Decimal(3), Decimal("19.95"), Decimal("59.85")),
        ("BIL-2", "acme", "national_numbers", "2025-02", Decimal(2), Decimal("2.00"), Decimal("4.00")),
    ]
    assert dict(draft.lines[0].description_params)["share"] == "22/31"
    assert draft.lines[0].sources[0].key == "ord-1:billable_users"
    assert (draft.totals.net, draft.totals.vat, draft.totals.gross) == (
        Decimal("109.16"),
        Decimal("22.92"),
        Decimal("132.08"),
    )
    assert result.recurring_billed_through == {"acme": Month(2025, 2)}


@pytest.mark.rule("BIL-9")
def test_re_running_the_period_bills_nothing() -> None:
    run_on = business_date(clock_at(date(2025, 1, 28)).now())
    first = run_monthly_billing(MonthlyRunRequest(Month(2025, 1), run_on, [CUSTOMER], [account()]))
    (draft,) = first.drafts
    again = run_monthly_billing(
        MonthlyRunRequest(
            Month(2025, 1),
            run_on,
            [CUSTOMER],
            [account(first.recurring_billed_through["acme"])],
            existing_run_keys={draft.run_key},
        )
    )
    assert again.drafts == ()
    assert again.skipped_run_keys == (draft.run_key,)
    # Even without the run key, periods already billed are not billed again.
    no_key = run_monthly_billing(
        MonthlyRunRequest(Month(2025, 1), run_on, [CUSTOMER], [account(Month(2025, 2))])
    )
    assert no_key.drafts == ()


@pytest.mark.rule("BIL-2")
def test_next_month_bills_only_the_month_after() -> None:
    result = run_monthly_billing(
        MonthlyRunRequest(Month(2025, 2), date(2025, 2, 28), [CUSTOMER], [account(Month(2025, 2))])
    )
    (draft,) = result.drafts
    assert [(line.period, line.amount) for line in draft.lines] == [
        (Month(2025, 3), Decimal("59.85")),
        (Month(2025, 3), Decimal("4.00")),
    ]
    assert draft.totals.gross == Decimal("77.26")
