from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nuage.errors import InvalidInput
from nuage.rating.errors import NoRateForDestination, NoTariffVersion
from nuage.rating.tariffs import Tariff, TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)


@pytest.mark.rule("RAT-2")
def test_longest_prefix_wins(book: TariffBook) -> None:
    tariff = book.version_at(JAN_1)
    assert tariff.rate_for("+32470123456").prefix == "324"
    assert tariff.rate_for("+32470123456").per_minute == Decimal("0.15")
    assert tariff.rate_for("+3222001122").prefix == "32"


@pytest.mark.rule("RAT-2")
def test_prefixes_may_be_written_with_a_plus() -> None:
    tariff = Tariff("v", JAN_1, {"+44": Decimal("0.09")})
    assert tariff.rate_for("+442071234567").prefix == "44"


@pytest.mark.rule("RAT-2")
def test_unknown_destination_raises_no_rate_for_destination(book: TariffBook) -> None:
    with pytest.raises(NoRateForDestination) as caught:
        book.version_at(JAN_1).rate_for("+4930123456")
    assert caught.value.details == {"destination": "+4930123456", "tariff_version": "2025-01"}


@pytest.mark.rule("RAT-2")
def test_version_valid_at_the_instant_is_chosen(book: TariffBook) -> None:
    assert book.version_at(JAN_15 - timedelta(microseconds=1)).version == "2025-01"
    assert book.version_at(JAN_15).version == "2025-01b"
    assert book.version_at(datetime(2030, 1, 1, tzinfo=UTC)).version == "2025-01b"
    assert book.version_at(JAN_1).version == "2025-01"


@pytest.mark.rule("RAT-2")
def test_no_version_before_the_first_one(book: TariffBook) -> None:
    with pytest.raises(NoTariffVersion):
        book.version_at(JAN_1 - timedelta(seconds=1))


@pytest.mark.rule("RAT-2")
def test_a_gap_between_versions_has_no_tariff() -> None:
    book = TariffBook(
        [
            Tariff("a", JAN_1, {"32": Decimal("0.05")}, valid_to=JAN_1 + timedelta(days=1)),
            Tariff("b", JAN_15, {"32": Decimal("0.05")}),
        ]
    )
    with pytest.raises(NoTariffVersion):
        book.version_at(JAN_1 + timedelta(days=2))


@pytest.mark.rule("RAT-2")
def test_overlapping_versions_are_refused() -> None:
    with pytest.raises(InvalidInput):
        TariffBook([Tariff("a", JAN_1, {"32": Decimal(1)}), Tariff("b", JAN_15, {"32": Decimal(1)})])


@pytest.mark.rule("RAT-2")
def test_naive_validity_and_bad_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Tariff("a", datetime(2025, 1, 1), {"32": Decimal(1)})
    with pytest.raises(InvalidInput):
        Tariff("a", JAN_1, {"32": Decimal(-1)})
    with pytest.raises(InvalidInput):
        Tariff("a", JAN_1, {"3x": Decimal(1)})
    with pytest.raises(InvalidInput):
        TariffBook([])
