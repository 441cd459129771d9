"""BIL-5: interventions billed on time and materials, each line citing its ticket."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.errors import InvalidInput
from nuage.support.interventions import Intervention, InterventionReason, intervention_lines


@pytest.mark.rule("BIL-5")
@pytest.mark.rule("BIL-10")
def test_time_per_started_quarter_and_materials_each_cite_the_ticket() -> None:
    work = Intervention(
        "int_1",
        "TCK-42",
        "cus_1",
        InterventionReason.CUSTOMER_CHANGE,
        date(2026, 12, 3),
        minutes=50,
        hourly_rate=Decimal("80.00"),
        materials=(("Patch cable", Decimal("4.90")),),
    )
    lines = intervention_lines(work)
    assert [(line.rule_id, line.quantity, line.unit_price, line.amount) for line in lines] == [
        ("BIL-5", Decimal("1"), Decimal("80.00"), Decimal("80.00")),  # 50 min: 4 started quarters
        ("BIL-5", Decimal(1), Decimal("4.90"), Decimal("4.90")),
    ]
    assert all(line.sources[0] == ("ticket", "TCK-42") for line in lines)
    with pytest.raises(InvalidInput):
        Intervention("x", "t", "c", InterventionReason.CUSTOMER_CHANGE, date(2026, 1, 1), 0, Decimal(1))
