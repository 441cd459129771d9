from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.rating.cdr import Cdr
from nuage.rating.runs import RatingRun, RunPlan, invoiced_run, rate_for_runs, runs_for_account
from nuage.rating.tariffs import Tariff, TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.rule("TEN-5")
def test_one_cdr_is_rated_once_per_run_with_each_runs_tariff() -> None:
    retail = TariffBook([Tariff("retail-1", JAN_1, {"32": Decimal("0.10")})])
    wholesale = TariffBook([Tariff("wholesale-1", JAN_1, {"32": Decimal("0.06")})])
    cdrs = [Cdr("c1", "acc-1", JAN_1, "+3222001122", 90)]
    outcomes = rate_for_runs(
        cdrs,
        [RunPlan(RatingRun.CUSTOMER_RETAIL, retail), RunPlan(RatingRun.PARTNER_WHOLESALE, wholesale)],
        already_rated={RatingRun.PARTNER_WHOLESALE: {"c0"}},
    )
    assert outcomes[RatingRun.CUSTOMER_RETAIL].rated[0].amount == Decimal("0.15")
    assert outcomes[RatingRun.PARTNER_WHOLESALE].rated[0].amount == Decimal("0.09")
    assert outcomes[RatingRun.PARTNER_WHOLESALE].rated[0].run == "partner-wholesale"


@pytest.mark.rule("RAT-1")
def test_runs_are_idempotent_each_on_its_own() -> None:
    book = TariffBook([Tariff("t", JAN_1, {"32": Decimal("0.10")})])
    cdrs = [Cdr("c1", "acc-1", JAN_1, "+3222001122", 90)]
    outcomes = rate_for_runs(
        cdrs,
        [RunPlan(RatingRun.CUSTOMER_RETAIL, book), RunPlan(RatingRun.PARTNER_WHOLESALE, book)],
        already_rated={RatingRun.CUSTOMER_RETAIL: {"c1"}},
    )
    assert outcomes[RatingRun.CUSTOMER_RETAIL].rated == ()
    assert len(outcomes[RatingRun.PARTNER_WHOLESALE].rated) == 1


@pytest.mark.rule("TEN-5")
def test_a_partners_customer_is_rated_in_both_runs_a_direct_customer_in_retail_only() -> None:
    assert runs_for_account(served_by_partner=True) == {
        RatingRun.CUSTOMER_RETAIL,
        RatingRun.PARTNER_WHOLESALE,
    }
    assert runs_for_account(served_by_partner=False) == {RatingRun.CUSTOMER_RETAIL}


@pytest.mark.rule("TEN-5")
def test_a_partner_is_invoiced_wholesale_calls_a_direct_customer_retail_calls() -> None:
    assert invoiced_run(invoiced_party_is_partner=True) is RatingRun.PARTNER_WHOLESALE
    assert invoiced_run(invoiced_party_is_partner=False) is RatingRun.CUSTOMER_RETAIL
