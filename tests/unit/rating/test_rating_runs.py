from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.rating.cdr import Cdr
from nuage.rating.runs import RatingRun, RunPlan, rate_for_runs
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
