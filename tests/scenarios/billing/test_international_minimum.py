"""BIL-11: an international number released early is billed until its 12 months are over."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_world import PLAN, USERS, amounts, counts, direct

from nuage.billing.runs import (
    CountBasis,
    CustomerAccount,
    MonthlyRunRequest,
    NumberHolding,
    run_monthly_billing,
)
from nuage.shared.month import Month
from nuage.terms.contract import Contract

CUSTOMER = direct("roamer")
CONTRACT = Contract("ctr-r", "roamer", "roamer", date(2025, 1, 1))
BASIS = CountBasis.from_order("ord-r", counts({USERS: 2}))


def _run(
    period: Month, holdings: list[NumberHolding]
) -> list[tuple[str, str, str, str, Decimal, Decimal, Decimal]]:
    account = CustomerAccount(
        CONTRACT, PLAN, BASIS, recurring_billed_through=period, international_numbers=holdings
    )
    result = run_monthly_billing(
        MonthlyRunRequest(period, date(period.year, period.month, 28), [CUSTOMER], [account])
    )
    (draft,) = result.drafts
    return [row for row in amounts(draft) if row[0] == "BIL-11"]


@pytest.mark.rule("BIL-11")
def test_a_number_released_after_three_months_is_billed_until_its_twelve_months_end() -> None:
    paris = NumberHolding("+33142685300", taken_on=date(2025, 1, 10), released_on=date(2025, 4, 5))
    # The run of May bills June in advance: June starts before 10 January 2026.
    assert _run(Month(2025, 5), [paris]) == [
        ("BIL-11", "roamer", "international_numbers", "2025-06", Decimal(1), Decimal("5.00"), Decimal("5.00"))
    ]
    # January 2026 starts before 10 January 2026: still billed; February no longer.
    assert len(_run(Month(2025, 12), [paris])) == 1
    assert _run(Month(2026, 1), [paris]) == []


@pytest.mark.rule("BIL-11")
def test_a_number_kept_or_released_after_its_minimum_adds_no_line() -> None:
    kept = NumberHolding("+33142685301", taken_on=date(2025, 1, 10))
    late = NumberHolding("+33142685302", taken_on=date(2024, 1, 10), released_on=date(2025, 2, 1))
    assert _run(Month(2025, 5), [kept, late]) == []
