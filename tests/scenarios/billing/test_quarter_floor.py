"""Users removed across a quarter: billed users fall by at most 10% per quarter (CNT-3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from billing_world import PLAN, USERS, clock_at, direct

from nuage.billing.periods import run_date
from nuage.billing.runs import CountBasis, CustomerAccount, MonthlyRunRequest, run_monthly_billing
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.terms.contract import Contract
from nuage.terms.counting import MonthlySummary, freeze_monthly_summary, quarter_base_month

CUSTOMER = direct("shrinking")
CONTRACT = Contract("ctr-s", "shrinking", "shrinking", date(2024, 1, 1))


def run(period: Month, summary: MonthlySummary, base: int | None) -> tuple[Decimal, str, Decimal]:
    account = CustomerAccount(
        CONTRACT,
        PLAN,
        CountBasis.from_summary(summary),
        quarter_base_billed_users=base,
        recurring_billed_through=period,
    )
    run_on = business_date(clock_at(run_date(period)).now())
    (draft,) = run_monthly_billing(MonthlyRunRequest(period, run_on, [CUSTOMER], [account])).drafts
    (line,) = draft.lines
    assert line.period == period.next()
    return line.quantity, line.rule_id, line.amount


@pytest.mark.rule("CNT-3")
def test_users_removed_across_a_quarter_are_billed_down_to_the_floor_only() -> None:
    # Month-end counts (CNT-1), chained; billed users per month recorded as the runs go.
    counted = {Month(2025, 2): 20, Month(2025, 3): 15, Month(2025, 4): 12, Month(2025, 5): 12}
    billed: dict[Month, int] = {Month(2025, 3): 20}  # March was billed for 20 users
    previous: MonthlySummary | None = None
    results = []
    for period, users in counted.items():
        frozen_at = datetime(period.year, period.month, period.days, 21, tzinfo=UTC)
        summary = freeze_monthly_summary("shrinking", period, {USERS: Decimal(users)}, frozen_at, previous)
        previous = summary
        if period == Month(2025, 2):
            continue  # March was billed at the end of February (20 users)
        target = period.next()
        base = billed[quarter_base_month(target)]
        quantity, rule_id, amount = run(period, summary, base)
        billed[target] = int(quantity)
        results.append((str(target), quantity, rule_id, amount))
    assert results == [
        # Q2: base = March (20); floor ceil(18.0) = 18.
        ("2025-04", Decimal(18), "CNT-3", Decimal("359.10")),
        ("2025-05", Decimal(18), "CNT-3", Decimal("359.10")),
        ("2025-06", Decimal(18), "CNT-3", Decimal("359.10")),
    ]
    # Q3 opens with June's 18 billed users as the base: floor ceil(16.2) = 17.
    july_summary = freeze_monthly_summary(
        "shrinking", Month(2025, 6), {USERS: Decimal(12)}, datetime(2025, 6, 30, 21, tzinfo=UTC), previous
    )
    assert run(Month(2025, 6), july_summary, billed[quarter_base_month(Month(2025, 7))]) == (
        Decimal(17),
        "CNT-3",
        Decimal("339.15"),
    )


@pytest.mark.rule("CNT-2")
def test_an_increase_is_billed_in_full_at_the_month_end_count() -> None:
    summary = freeze_monthly_summary(
        "shrinking", Month(2025, 4), {USERS: Decimal(25)}, datetime(2025, 4, 30, 21, tzinfo=UTC), None
    )
    assert run(Month(2025, 4), summary, 20) == (Decimal(25), "BIL-2", Decimal("498.75"))
