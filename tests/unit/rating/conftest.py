from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.rating.tariffs import Tariff, TariffBook


@pytest.fixture
def book() -> TariffBook:
    """Two versions: 2025-01 until 15 January, 2025-01b from then on."""
    jan_1, jan_15 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC)
    return TariffBook(
        [
            Tariff(
                "2025-01",
                jan_1,
                {"32": Decimal("0.05"), "324": Decimal("0.15"), "33": Decimal("0.10")},
                valid_to=jan_15,
            ),
            Tariff(
                "2025-01b", jan_15, {"32": Decimal("0.06"), "324": Decimal("0.20"), "33": Decimal("0.12")}
            ),
        ]
    )
