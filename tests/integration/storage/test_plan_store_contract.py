"""Tariffs and price lists in every store (memory, SQLite, PostgreSQL) alike: a prefix's terms kept, a
version closed by the next one, a price list's PAY-2 interest reading kept, the plans listed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nuage.billing.charge_models import ChargeSpec
from nuage.billing.plans import Audience, PriceList
from nuage.payments.dunning import InterestMode
from nuage.rating.tariffs import RateTerms, Tariff
from nuage.terms.counting import ItemKind

from .billing_records import T0

D = Decimal


@pytest.mark.rule("RAT-2")
def test_a_tariff_keeps_its_terms_and_is_closed_by_the_next(uow_factory: Any) -> None:
    terms = {"32": RateTerms("Belgium", D("0.20"), D("0.05"))}
    with uow_factory() as uow:
        uow.billing.add_tariff(
            "customer-retail", Tariff("t1", T0, {"32": D("0.6")}, terms_by_prefix=terms), T0
        )
        uow.billing.add_tariff("customer-retail", Tariff("t0", T0 - timedelta(days=9), {"1": D("0.1")}), T0)
        uow.billing.close_tariff("customer-retail", "t0", T0)
        uow.commit()
    with uow_factory() as uow:
        t0, t1 = uow.billing.tariffs("customer-retail")
    assert (t0.version, t0.valid_to, dict(t0.terms_by_prefix)) == ("t0", T0, {})
    assert (t1.version, t1.valid_to) == ("t1", None)
    assert t1.rate_for("+3222001122").minimum == D("0.20")
    assert dict(t1.terms_by_prefix)["32"] == terms["32"]


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("PAY-2")
def test_a_price_list_keeps_its_interest_reading_and_is_closed_by_the_next(uow_factory: Any) -> None:
    first = PriceList(
        "p1", Audience.CUSTOMER_RETAIL, date(2026, 1, 1), {ItemKind.BILLABLE_USERS: ChargeSpec()}
    )
    with uow_factory() as uow:
        uow.billing.add_price_list("premium", first, T0)
        uow.billing.add_price_list(
            "gold",
            PriceList(
                "g1", Audience.PARTNER_WHOLESALE, date(2026, 1, 1), {}, interest_reading=InterestMode.PER_DAY
            ),
            T0,
        )
        uow.billing.close_price_list("premium", Audience.CUSTOMER_RETAIL, "p1", date(2026, 3, 1))
        uow.commit()
    with uow_factory() as uow:
        assert uow.billing.plan_ids() == ["gold", "premium"]
        (closed,) = uow.billing.price_lists("premium")
        (gold,) = uow.billing.price_lists("gold")
    assert (closed.valid_to, closed.interest_reading) == (date(2026, 3, 1), None)
    assert gold.interest_reading is InterestMode.PER_DAY
