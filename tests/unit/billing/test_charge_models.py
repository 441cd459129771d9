from __future__ import annotations

from decimal import Decimal

import pytest

from nuage.billing.charge_models import (
    ChargeModelKind,
    ChargeSpec,
    Graduated,
    PerUnit,
    Tier,
    Volume,
    charge_amount,
    charge_model,
)
from nuage.errors import InvalidInput

TIERS = (
    Tier(Decimal(5), Decimal("10.00")),
    Tier(Decimal(10), Decimal("8.00"), flat_fee=Decimal("5.00")),
    Tier(None, Decimal("6.00")),
)


@pytest.mark.rule("BIL-2")
def test_per_unit_prices_every_unit_alike() -> None:
    assert charge_amount(PerUnit(Decimal("19.95")), Decimal(3)) == Decimal("59.85")
    assert PerUnit(Decimal(1)).parts(Decimal(0)) == ()


@pytest.mark.rule("BIL-2")
def test_graduated_prices_each_unit_by_its_tier_and_adds_flat_fees_once() -> None:
    model = Graduated(TIERS)
    assert charge_amount(model, Decimal(12)) == Decimal(50 + 5 + 40 + 12)
    assert [(part.units, part.unit_price, part.flat) for part in model.parts(Decimal(7))] == [
        (Decimal(5), Decimal("10.00"), False),
        (Decimal(1), Decimal("5.00"), True),
        (Decimal(2), Decimal("8.00"), False),
    ]
    assert model.parts(Decimal(0)) == ()


@pytest.mark.rule("BIL-2")
def test_volume_prices_all_units_by_the_tier_of_the_total() -> None:
    assert charge_amount(Volume(TIERS), Decimal(7)) == Decimal(5 + 56)
    assert charge_amount(Volume(TIERS), Decimal(11)) == Decimal(66)
    assert Volume(TIERS).parts(Decimal(0)) == ()


@pytest.mark.rule("BIL-2")
def test_factory_picks_the_model_from_plan_data_and_checks_tiers() -> None:
    assert charge_model(ChargeSpec(unit_price=Decimal(2))) == PerUnit(Decimal(2))
    assert charge_model(ChargeSpec(ChargeModelKind.GRADUATED, tiers=TIERS)) == Graduated(TIERS)
    assert charge_model(ChargeSpec(ChargeModelKind.VOLUME, tiers=TIERS)) == Volume(TIERS)
    assert ChargeSpec(ChargeModelKind.GRADUATED, tiers=TIERS).base_unit_price == Decimal("10.00")
    with pytest.raises(InvalidInput):
        Graduated((Tier(Decimal(5), Decimal(1)),))
    with pytest.raises(InvalidInput):
        Volume((Tier(Decimal(5), Decimal(1)), Tier(Decimal(2), Decimal(1)), Tier(None, Decimal(1))))
