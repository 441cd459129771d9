"""Who is invoiced: a partner for its two customers (TEN-5), a French business (reverse charge)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_world import NATIONAL, PARTNER, PLAN, USERS, amounts, brussels, clock_at, counts, direct

from nuage.billing.runs import CountBasis, CustomerAccount, MonthlyRunRequest, run_monthly_billing
from nuage.billing.vat import VatRegime
from nuage.rating.rater import RatedCall
from nuage.shared.clock import business_date
from nuage.shared.month import Month
from nuage.terms.contract import Contract


def wholesale_call(cdr_id: str, account_id: str, amount: str) -> RatedCall:
    return RatedCall(
        cdr_id, account_id, "partner-wholesale", brussels(2025, 3, 10), "+3222001122", "32", "wholesale-t1",
        60, 0, 60, Decimal("0.03"), Decimal(amount), Decimal(amount), (), False, True,
    )  # fmt: skip


def indirect(customer_id: str, users: int, calls: list[RatedCall]) -> CustomerAccount:
    contract = Contract(f"ctr-{customer_id}", customer_id, PARTNER.party_id, date(2024, 9, 1))
    basis = CountBasis.from_order(f"ord-{customer_id}", counts({USERS: users, NATIONAL: 1}))
    return CustomerAccount(contract, PLAN, basis, recurring_billed_through=Month(2025, 3), rated_calls=calls)


@pytest.mark.rule("TEN-5")
def test_a_partner_gets_one_invoice_for_its_two_customers_itemised_per_customer() -> None:
    retail_call = wholesale_call("retail", "bakery", "0.05")._replace(run="customer-retail")
    customers = [
        indirect("bakery", 3, [wholesale_call("b1", "bakery", "0.03"), retail_call]),
        indirect(
            "garage", 5, [wholesale_call("g1", "garage", "0.03"), wholesale_call("g2", "garage", "0.06")]
        ),
    ]
    run_on = business_date(clock_at(date(2025, 3, 28)).now())
    result = run_monthly_billing(MonthlyRunRequest(Month(2025, 3), run_on, [PARTNER], customers))
    (draft,) = result.drafts
    assert draft.invoiced_party_id == "installer"
    assert draft.customer_ids == ("bakery", "garage")
    assert amounts(draft) == [
        ("BIL-2", "bakery", "billable_users", "2025-04", Decimal(3), Decimal("15.00"), Decimal("45.00")),
        ("BIL-2", "bakery", "national_numbers", "2025-04", Decimal(1), Decimal("1.50"), Decimal("1.50")),
        ("BIL-3", "bakery", "traffic", "2025-03", Decimal(1), Decimal("0.03"), Decimal("0.03")),
        ("BIL-2", "garage", "billable_users", "2025-04", Decimal(5), Decimal("15.00"), Decimal("75.00")),
        ("BIL-2", "garage", "national_numbers", "2025-04", Decimal(1), Decimal("1.50"), Decimal("1.50")),
        ("BIL-3", "garage", "traffic", "2025-03", Decimal(1), Decimal("0.09"), Decimal("0.09")),
    ]
    assert (draft.totals.net, draft.totals.vat, draft.totals.gross) == (
        Decimal("123.12"),
        Decimal("25.86"),
        Decimal("148.98"),
    )
    assert result.invoiced_call_ids == ("b1", "g1", "g2")


@pytest.mark.rule("BIL-4")
def test_a_french_business_is_invoiced_under_reverse_charge() -> None:
    french = direct("fromagerie", country="FR", vat_number="FR40303265045")
    contract = Contract("ctr-f", "fromagerie", "fromagerie", date(2024, 9, 1))
    account = CustomerAccount(
        contract,
        PLAN,
        CountBasis.from_order("ord-f", counts({USERS: 4})),
        recurring_billed_through=Month(2025, 3),
    )
    (draft,) = run_monthly_billing(
        MonthlyRunRequest(Month(2025, 3), date(2025, 3, 28), [french], [account])
    ).drafts
    assert draft.vat.regime is VatRegime.REVERSE_CHARGE
    assert draft.vat.mention_key == "vat.mention.reverse_charge"
    assert (draft.totals.net, draft.totals.vat, draft.totals.gross) == (
        Decimal("79.80"),
        Decimal("0.00"),
        Decimal("79.80"),
    )
