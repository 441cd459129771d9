"""Shared value types: E.164 numbers, money rounding, aware clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from nuage.errors import InvalidInput
from nuage.shared.clock import FrozenClock, business_date, business_midnight, require_aware
from nuage.shared.money import from_minor, round_half_up_to_cent, round_up_to_cent, to_minor
from nuage.shared.phone import dialled_to_e164, is_national, parse_e164


@pytest.mark.rule("CFG-6")
@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("02 300 01 00", "+3223000100"),
        ("+32 (0)9 300 02 00", "+3293000200"),
        ("0032 81 00 03 00", "+3281000300"),
    ],
)
def test_belgian_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert parse_e164(raw) == e164
    assert is_national(e164)


@pytest.mark.rule("CFG-6")
@pytest.mark.parametrize("raw", ["", "abc", "+32 12", "+999 123"])
def test_invalid_numbers_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_e164(raw, field="number")
    assert refused.value.field == "number"


@pytest.mark.rule("CFG-6")
def test_a_french_number_is_international_for_a_belgian_operator() -> None:
    assert not is_national("+33142685300")


@pytest.mark.rule("RAT-1")
def test_rounding_helpers() -> None:
    assert round_up_to_cent(Decimal("0.1501")) == Decimal("0.16")
    assert round_up_to_cent(Decimal("0.15")) == Decimal("0.15")
    assert round_half_up_to_cent(Decimal("0.125")) == Decimal("0.13")
    assert to_minor(Decimal("12.34")) == 1234
    assert from_minor(1234) == Decimal("12.34")
    with pytest.raises(ValueError, match="cents"):
        to_minor(Decimal("0.001"))


def test_business_dates_follow_brussels_time() -> None:
    late_evening_utc = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 on 1 April in Brussels (CEST)
    assert business_date(late_evening_utc) == date(2026, 4, 1)
    assert business_midnight(date(2026, 1, 1)) == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


def test_clocks_refuse_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        require_aware(datetime(2026, 1, 1))
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(hours=1))
    assert clock.now() == datetime(2026, 1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dialled", "expected"),
    [
        ("+3222000101", "+3222000101"),
        ("0032 2 200 01 01", "+3222000101"),  # the international prefix
        ("02 200 01 01", "+3222000101"),  # a national number of the region
        ("abc", None),
        ("12", None),  # not a possible number
    ],
)
def test_a_dialled_string_becomes_e164_when_it_can_be_a_number(dialled: str, expected: str | None) -> None:
    assert dialled_to_e164(dialled, "BE") == expected
