"""PAY-2's interest reading as a price-plan setting: per day (days of delay / 30 × 1 %), beside per
started month and per calendar month, chosen by the plan the contracting party is billed with."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from nuage.billing.plans import Audience, PriceList
from nuage.payments.dunning import InterestMode
from nuage.services.billing import plans
from nuage.services.payments import dunning
from payments_flow import Month1

D = Decimal


def _late_interest(month1: Month1, party: str) -> list[Decimal]:
    with month1.uow() as (_uow, store):
        return [c.line.amount for c in store.charges(month1.ids[party]) if c.kind == "late_interest"]


@pytest.mark.rule("PAY-2")
def test_the_plan_names_the_per_day_reading(month1: Month1) -> None:
    dupont = month1.ids["Atelier Dupont"]
    with month1.uow() as (uow, _store):
        business = plans.get_plan(uow, month1.ctx, "business")
        retail = business.price_list(Audience.CUSTOMER_RETAIL, date(2026, 2, 3))
        per_day = PriceList(
            "per-day-1",
            Audience.CUSTOMER_RETAIL,
            date(2026, 2, 3),
            dict(retail.recurring),
            dict(retail.one_time),
            interest_reading=InterestMode.PER_DAY,
        )
        plans.publish_price_list(uow, month1.ctx, "late-payers", per_day)
        plans.assign_plan(uow, month1.ctx, dupont, "late-payers")
    month1.clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    with month1.uow() as (uow, _store):
        dunning.run_dunning(uow, month1.ctx, month1.settings, date(2026, 4, 10))
    # delay month 1 (6 Mar–5 Apr) charged at its anniversary: 31 days × 102.03 × 1 % / 30 = 1.0543…
    assert _late_interest(month1, "Atelier Dupont") == [D("1.05")]


@pytest.mark.rule("PAY-2")
def test_without_a_reading_in_the_plan_the_operator_setting_applies(month1: Month1) -> None:
    month1.clock.set(datetime(2026, 4, 10, 9, tzinfo=UTC))
    with month1.uow() as (uow, _store):
        assert plans.get_plan(uow, month1.ctx, "business").price_lists[0].interest_reading is None
        dunning.run_dunning(uow, month1.ctx, month1.settings, date(2026, 4, 10))
    assert _late_interest(month1, "Atelier Dupont") == [D("2.04")]  # per started month: 2 started
