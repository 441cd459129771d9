"""CNT-2 catch-up lines: the units a later month-end count adds to a month already invoiced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.billing.catch_up import catch_up_lines
from nuage.billing.charge_models import ChargeModelKind, ChargeSpec, Tier
from nuage.billing.lines import SourceRef
from nuage.billing.plans import Audience, PriceList
from nuage.shared.month import Month
from nuage.terms.counting import ItemKind

USERS, NUMBERS = ItemKind.BILLABLE_USERS, ItemKind.NATIONAL_NUMBERS
TIERS = (Tier(Decimal(5), Decimal("10.00")), Tier(None, Decimal("8.00"), flat_fee=Decimal("20.00")))


def _prices(users: ChargeSpec) -> PriceList:
    recurring = {USERS: users, NUMBERS: ChargeSpec(unit_price=Decimal("2.00"))}
    return PriceList("v1", Audience.CUSTOMER_RETAIL, date(2025, 1, 1), recurring)


def _lines(users: ChargeSpec, counted: int, billed: int) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    lines = catch_up_lines(
        customer_id="c",
        month=Month(2026, 3),
        counted={USERS: Decimal(counted), NUMBERS: Decimal(2)},
        billed={USERS.value: Decimal(billed), NUMBERS.value: Decimal(3)},
        prices=_prices(users),
        sources={kind: SourceRef("monthly-summary", f"c:2026-02:h:{kind.value}") for kind in ItemKind},
        counted_in=Month(2026, 2),
    )
    assert all(line.rule_id == "CNT-2" and line.period == Month(2026, 3) for line in lines)
    return [(line.description_key, line.quantity, line.unit_price, line.amount) for line in lines]


@pytest.mark.rule("CNT-2")
def test_per_unit_increase_is_billed_and_a_decrease_waits_for_the_next_month() -> None:
    assert _lines(ChargeSpec(unit_price=Decimal("19.95")), counted=4, billed=3) == [
        ("line.catch_up.billable_users", Decimal(1), Decimal("19.95"), Decimal("19.95"))
    ]  # numbers fell from 3 to 2: no line
    assert _lines(ChargeSpec(unit_price=Decimal("19.95")), counted=3, billed=3) == []


@pytest.mark.rule("CNT-2")
def test_graduated_increase_bills_the_units_of_each_tier_reached_and_its_fee() -> None:
    graduated = ChargeSpec(ChargeModelKind.GRADUATED, tiers=TIERS)
    assert _lines(graduated, counted=7, billed=3) == [
        ("line.catch_up.billable_users", Decimal(2), Decimal("10.00"), Decimal("20.00")),
        ("line.catch_up.billable_users", Decimal(2), Decimal("8.00"), Decimal("16.00")),
        ("line.recurring.flat_fee", Decimal(1), Decimal("20.00"), Decimal("20.00")),
    ]


@pytest.mark.rule("CNT-2")
def test_volume_increase_into_a_new_tier_rebills_the_month_at_that_tier() -> None:
    volume = ChargeSpec(ChargeModelKind.VOLUME, tiers=TIERS)
    lines = _lines(volume, counted=7, billed=3)
    assert sum(amount for *_, amount in lines) == Decimal("7") * Decimal("8.00") + Decimal("20.00") - Decimal(
        "30.00"
    )
    assert ("line.catch_up.billable_users", Decimal(-3), Decimal("10.00"), Decimal("-30.00")) in lines
