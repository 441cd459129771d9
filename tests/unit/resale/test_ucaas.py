"""BIL-8: UCaaS resale billed as activated, per day, only once confirmed; the abuse clause."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from nuage.directory.model import LinePurpose
from nuage.errors import InvalidInput, TermViolation
from nuage.resale.ucaas import (
    Activation,
    CatalogueItem,
    UcaasKind,
    activation_lines,
    check_activation,
    retroactive_licences,
)
from nuage.shared.month import Month

LICENCE = CatalogueItem("tvx-user", UcaasKind.LICENCE, "User licence", Decimal("12.50"))
SHARED = CatalogueItem("tvx-shared", UcaasKind.SHARED_EXTENSION, "Shared extension", Decimal("6.00"))
CATALOGUE = {item.code: item for item in (LICENCE, SHARED)}
MARCH = Month(2026, 3)


@pytest.mark.rule("BIL-8")
def test_items_are_billed_for_the_days_they_were_active_once_confirmed() -> None:
    whole = Activation("a1", "cus_1", "tvx-user", 3, active_from=date(2026, 1, 5))
    partial = Activation("a2", "cus_1", "tvx-shared", 1, date(2026, 3, 10), active_until=date(2026, 3, 20))
    pending = Activation("a3", "cus_1", "tvx-user", 5, active_from=None)  # upstream has not confirmed
    ended = Activation("a4", "cus_1", "tvx-user", 1, date(2026, 1, 1), active_until=date(2026, 3, 1))
    lines = activation_lines([whole, partial, pending, ended], CATALOGUE, MARCH)
    assert [(line.sources[0].key, line.quantity, line.proration, line.amount) for line in lines] == [
        ("a1", Decimal(3), None, Decimal("37.50")),
        ("a2", Decimal(1), Fraction(10, 31), Decimal("1.94")),  # 10 days of 31 × 6.00 = 1.935…
    ]
    assert {line.rule_id for line in lines} == {"BIL-8"}


@pytest.mark.rule("BIL-8")
def test_abuse_adds_licences_retroactively_to_the_contract_start() -> None:
    line = retroactive_licences(
        account_id="cus_1",
        licence=LICENCE,
        missing=2,
        contract_start=date(2026, 1, 10),
        run_month=MARCH,
        evidence="audit-2026-03-28",
    )
    # January from the 10th (22/31) and February in full: 2 × 12.50 × (22/31 + 1) = 42.74…
    assert (line.rule_id, line.proration, line.amount) == ("BIL-8", Fraction(22, 31) + 1, Decimal("42.74"))
    assert line.sources[0].key == "audit-2026-03-28"
    with pytest.raises(InvalidInput):
        retroactive_licences(
            account_id="cus_1",
            licence=SHARED,
            missing=1,
            contract_start=date(2026, 1, 10),
            run_month=MARCH,
            evidence="x",
        )


@pytest.mark.rule("CFG-5")
@pytest.mark.rule("BIL-8")
def test_alarm_and_lift_lines_stay_out_of_the_resold_service() -> None:
    with pytest.raises(TermViolation) as refused:
        check_activation(SHARED, 1, LinePurpose.LIFT)
    assert refused.value.rule_id == "CFG-5"
    with pytest.raises(InvalidInput):
        check_activation(LICENCE, 0, LinePurpose.TELEPHONY)
    check_activation(LICENCE, 4, LinePurpose.TELEPHONY)
