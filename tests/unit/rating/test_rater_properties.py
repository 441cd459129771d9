from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nuage.rating.cdr import Cdr
from nuage.rating.rater import rate_calls
from nuage.rating.tariffs import Tariff, TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)

prices = st.decimals(min_value=Decimal(0), max_value=Decimal(50), places=5)
durations = st.integers(min_value=0, max_value=6 * 3600)


@pytest.mark.rule("RAT-1")
@settings(max_examples=300, deadline=None)
@given(per_minute=prices, seconds=durations)
def test_rounded_price_is_never_below_exact_nor_a_cent_above(per_minute: Decimal, seconds: int) -> None:
    book = TariffBook([Tariff("t", JAN_1, {"32": per_minute})])
    (call,) = rate_calls([Cdr("c", "a", JAN_1, "+3222001122", seconds)], book, run="r").rated
    exact = Fraction(per_minute) * seconds / 60
    assert Fraction(call.amount) >= exact
    assert Fraction(call.amount) - exact < Fraction(1, 100)
    assert call.amount == call.amount.quantize(Decimal("0.01"))


@pytest.mark.rule("RAT-1")
@settings(max_examples=100, deadline=None)
@given(seconds=st.lists(durations, min_size=1, max_size=20), repeats=st.integers(min_value=1, max_value=3))
def test_rating_is_idempotent_by_cdr_id(seconds: list[int], repeats: int) -> None:
    book = TariffBook([Tariff("t", JAN_1, {"32": Decimal("0.0731")})])
    cdrs = [
        Cdr(f"c{index}", "a", JAN_1 + timedelta(seconds=index), "+3222001122", value)
        for index, value in enumerate(seconds)
    ]
    once = rate_calls(cdrs, book, run="r")
    repeated = rate_calls(cdrs * repeats, book, run="r")
    assert repeated.rated == once.rated
    rerun = rate_calls(cdrs, book, run="r", already_rated={call.cdr_id for call in once.rated})
    assert rerun.rated == ()
