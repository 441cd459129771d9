from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from nuage.errors import InvalidInput, TermViolation
from nuage.shared.month import Month
from nuage.terms.contract import (
    Contract,
    PreviousService,
    add_months,
    billing_suspended,
    declare_bankruptcy,
    early_termination_balance,
    give_notice,
    remaining_term_months,
    service_interrupted,
)


def contract(start_on: date = date(2025, 1, 1), minimum_term_months: int = 24) -> Contract:
    return Contract("ctr-1", "cus-1", "cus-1", start_on, minimum_term_months)


@pytest.mark.rule("CTR-1")
def test_minimum_term_is_24_months_unless_the_order_says_otherwise() -> None:
    assert contract().minimum_term_end_on == date(2027, 1, 1)
    assert contract(minimum_term_months=12).minimum_term_end_on == date(2026, 1, 1)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    with pytest.raises(InvalidInput):
        contract(minimum_term_months=-1)


@pytest.mark.rule("CTR-2")
def test_termination_takes_effect_at_the_end_of_the_current_period_without_refund() -> None:
    ended = give_notice(contract(), date(2025, 7, 3))
    assert ended.termination is not None
    assert ended.termination.effective_on == date(2025, 8, 1)
    assert ended.termination.last_period == Month(2025, 7)
    assert ended.termination.refund == Decimal(0)
    assert ended.in_service(Month(2025, 7))
    assert not ended.in_service(Month(2025, 8))


@pytest.mark.rule("CTR-2")
def test_a_period_already_invoiced_in_advance_runs_to_its_end() -> None:
    ended = give_notice(contract(), date(2025, 7, 29), invoiced_through=Month(2025, 8))
    assert ended.termination is not None
    assert ended.termination.effective_on == date(2025, 9, 1)


@pytest.mark.rule("CTR-2")
def test_a_later_requested_end_is_moved_to_the_end_of_its_period() -> None:
    ended = give_notice(contract(), date(2025, 7, 3), requested_end_on=date(2025, 10, 15))
    assert ended.termination is not None
    assert ended.termination.effective_on == date(2025, 11, 1)
    with pytest.raises(InvalidInput):
        give_notice(contract(), date(2024, 12, 1))


@pytest.mark.rule("CTR-3")
def test_remaining_months_are_whole_periods_plus_the_started_last_one() -> None:
    assert remaining_term_months(contract(), date(2025, 8, 1)) == 17
    started_10th = contract(date(2025, 1, 10))
    assert remaining_term_months(started_10th, date(2025, 8, 1)) == 17 + Fraction(9, 31)
    assert remaining_term_months(contract(), date(2027, 2, 1)) == 0


@pytest.mark.rule("CTR-3")
def test_balance_takes_previous_services_except_traffic_and_national_numbers() -> None:
    ended = give_notice(contract(), date(2025, 7, 3))
    services = [
        PreviousService("cus-1", "billable_users", Decimal(10), Decimal("20.00"), "line:1"),
        PreviousService("cus-1", "national_numbers", Decimal(3), Decimal("2.00"), "line:2"),
        PreviousService("cus-1", "international_numbers", Decimal(1), Decimal("5.00"), "line:3"),
        PreviousService("cus-1", "traffic", Decimal(1), Decimal("12.34"), "line:4"),
    ]
    balance = early_termination_balance(ended, services)
    assert balance.remaining_months == 17
    assert [(item.service.item_kind, item.amount) for item in balance.items] == [
        ("billable_users", Decimal("3400.00")),
        ("international_numbers", Decimal("85.00")),
    ]


@pytest.mark.rule("CTR-3")
def test_no_balance_without_notice_or_after_bankruptcy() -> None:
    with pytest.raises(TermViolation) as caught:
        early_termination_balance(contract(), [])
    assert caught.value.rule_id == "CTR-3"
    bankrupt = declare_bankruptcy(give_notice(contract(), date(2025, 7, 3)), date(2025, 7, 3))
    with pytest.raises(TermViolation) as caught:
        early_termination_balance(bankrupt, [])
    assert caught.value.rule_id == "CTR-4"


@pytest.mark.rule("CTR-4")
def test_bankruptcy_interrupts_service_and_suspends_billing_from_the_proof_date() -> None:
    bankrupt = declare_bankruptcy(contract(), date(2025, 5, 12))
    assert not billing_suspended(bankrupt, date(2025, 5, 11))
    assert billing_suspended(bankrupt, date(2025, 5, 12))
    assert service_interrupted(bankrupt, date(2025, 6, 1))
    assert not service_interrupted(contract(), date(2025, 6, 1))
    assert bankrupt.in_service(Month(2025, 5))
    assert not bankrupt.in_service(Month(2025, 6))
