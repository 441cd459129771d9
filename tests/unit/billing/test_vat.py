from __future__ import annotations

from decimal import Decimal

import pytest

from nuage.billing.vat import BillingParty, PartyKind, VatRegime, vat_treatment
from nuage.errors import InvalidInput


def party(country: str, vat_number: str | None = None, is_business: bool = True) -> BillingParty:
    return BillingParty("p", "Party", PartyKind.DIRECT_CUSTOMER, country, vat_number, is_business)


@pytest.mark.rule("BIL-4")
def test_belgian_parties_pay_21_percent() -> None:
    assert vat_treatment(party("BE", "BE0821802905")).rate == Decimal("0.21")
    assert vat_treatment(party("be", None, is_business=False)).regime is VatRegime.STANDARD


@pytest.mark.rule("BIL-4")
def test_eu_businesses_with_a_vat_number_are_reverse_charged() -> None:
    treatment = vat_treatment(party("FR", "FR40303265045"))
    assert (treatment.regime, treatment.rate) == (VatRegime.REVERSE_CHARGE, Decimal(0))
    assert treatment.mention_key == "vat.mention.reverse_charge"


@pytest.mark.rule("BIL-4")
def test_parties_outside_the_eu_pay_no_belgian_vat() -> None:
    treatment = vat_treatment(party("CH", None))
    assert (treatment.regime, treatment.rate) == (VatRegime.OUTSIDE_EU, Decimal(0))


@pytest.mark.rule("BIL-4")
def test_eu_consumers_outside_belgium_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        vat_treatment(party("NL", None, is_business=False))
    assert caught.value.field == "vat_number"
