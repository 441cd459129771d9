"""Tariffs and instants shared by the rating tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from nuage.rating.tariffs import Tariff, TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)


def two_version_book() -> TariffBook:
    return TariffBook(
        [
            Tariff(
                "2025-01",
                JAN_1,
                {"32": Decimal("0.05"), "324": Decimal("0.15"), "33": Decimal("0.10")},
                valid_to=JAN_15,
            ),
            Tariff(
                "2025-01b", JAN_15, {"32": Decimal("0.06"), "324": Decimal("0.20"), "33": Decimal("0.12")}
            ),
        ]
    )
