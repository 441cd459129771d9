"""Contract end: early termination in month 7 (CTR-2, CTR-3) and bankruptcy (CTR-4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_world import INTERNATIONAL, NATIONAL, PLAN, USERS, amounts, clock_at, counts, direct

from nuage.billing.runs import (
    CountBasis,
    CustomerAccount,
    MonthlyRunRequest,
    invoice_early_termination,
    run_monthly_billing,
)
from nuage.rating.rater import RatedCall
from nuage.shared.clock import business_date
from nuage.shared.money import ZERO
from nuage.shared.month import Month
from nuage.terms.contract import Contract, declare_bankruptcy, give_notice

CUSTOMER = direct("leaver")
CONTRACT = Contract("ctr-l", "leaver", "leaver", date(2025, 1, 1))
BASIS = CountBasis.from_order("ord-l", counts({USERS: 10, NATIONAL: 3, INTERNATIONAL: 1}))


def july_call() -> RatedCall:
    return RatedCall(
        "call-7", "leaver", "customer-retail", clock_at(date(2025, 7, 2)).now(), "+3222001122", "32",
        "retail-t2", 600, 0, 600, Decimal("0.06"), Decimal("0.60"), Decimal("0.60"), (), False, True,
    )  # fmt: skip


@pytest.mark.rule("CTR-3")
def test_early_termination_in_month_7_invoices_the_balance_of_the_term() -> None:
    june_run_on = business_date(clock_at(date(2025, 6, 28)).now())
    june = run_monthly_billing(
        MonthlyRunRequest(
            Month(2025, 6),
            june_run_on,
            [CUSTOMER],
            [CustomerAccount(CONTRACT, PLAN, BASIS, recurring_billed_through=Month(2025, 6))],
        )
    )
    (previous_invoice,) = june.drafts  # the invoice for July, month 7 of the contract
    assert previous_invoice.totals.net == Decimal("210.50")
    ended = give_notice(CONTRACT, date(2025, 7, 3), invoiced_through=Month(2025, 7))
    assert ended.termination is not None
    assert ended.termination.effective_on == date(2025, 8, 1)
    balance = invoice_early_termination(
        ended, CUSTOMER, previous_invoice, date(2025, 7, 3), previous_invoice_number="INV-2025-000107"
    )
    assert balance is not None
    # 17 months left (August 2025 to December 2026); traffic and national numbers excluded.
    assert [
        (line.rule_id, line.item_kind, line.quantity, line.unit_price, line.amount) for line in balance.lines
    ] == [
        ("CTR-3", "billable_users", Decimal(10), Decimal("19.95"), Decimal("3391.50")),
        ("CTR-3", "international_numbers", Decimal(1), Decimal("5.00"), Decimal("85.00")),
    ]
    assert dict(balance.lines[0].description_params) == {"months": "17/1", "term_end": "2027-01-01"}
    assert (balance.totals.net, balance.totals.vat, balance.totals.gross) == (
        Decimal("3476.50"),
        Decimal("730.07"),
        Decimal("4206.57"),
    )
    assert (
        invoice_early_termination(
            ended, CUSTOMER, previous_invoice, date(2025, 7, 3), existing_run_keys={balance.run_key}
        )
        is None
    )
    # CTR-2: the July run bills July's traffic and no August services; nothing is refunded.
    july = run_monthly_billing(
        MonthlyRunRequest(
            Month(2025, 7),
            date(2025, 7, 28),
            [CUSTOMER],
            [
                CustomerAccount(
                    ended, PLAN, BASIS, recurring_billed_through=Month(2025, 7), rated_calls=[july_call()]
                )
            ],
        )
    )
    (final,) = july.drafts
    assert amounts(final) == [
        ("BIL-3", "leaver", "traffic", "2025-07", Decimal(1), Decimal("0.60"), Decimal("0.60"))
    ]
    assert ended.termination.refund == ZERO


@pytest.mark.rule("CTR-4")
def test_bankruptcy_interrupts_billing_from_the_proof_date() -> None:
    account = CustomerAccount(CONTRACT, PLAN, BASIS, recurring_billed_through=Month(2025, 4))
    april = run_monthly_billing(MonthlyRunRequest(Month(2025, 4), date(2025, 4, 28), [CUSTOMER], [account]))
    assert april.drafts[0].totals.net == Decimal("210.50")  # May billed before the proof
    bankrupt = CustomerAccount(
        declare_bankruptcy(CONTRACT, date(2025, 5, 12)),
        PLAN,
        BASIS,
        recurring_billed_through=Month(2025, 5),
        rated_calls=[july_call()._replace(started_at=clock_at(date(2025, 5, 5)).now())],
    )
    may = run_monthly_billing(MonthlyRunRequest(Month(2025, 5), date(2025, 5, 28), [CUSTOMER], [bankrupt]))
    assert may.drafts == ()
    assert may.suspended_customer_ids == ("leaver",)
