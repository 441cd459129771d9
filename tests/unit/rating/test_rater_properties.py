from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nuage.rating.cdr import Cdr
from nuage.rating.rater import call_price, rate_calls
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


FEB_1, MAR_1 = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)
GAPPED_BOOK = TariffBook(
    [
        Tariff("jan", JAN_1, {"32": Decimal("0.05"), "324": Decimal("0.15")}, valid_to=FEB_1),
        # no version from 1 February to 1 March; March has no rate for "33"
        Tariff("mar", MAR_1, {"32": Decimal("0.07"), "3247": Decimal("0.2"), "1": Decimal("0.01")}),
    ]
)
destinations = st.sampled_from(
    ["+3222001122", "+32470123456", "+32471000000", "+33142000000", "+12125550100"]
)
instants = st.integers(min_value=0, max_value=80 * 86400).map(
    lambda second: JAN_1 + timedelta(seconds=second)
)


@pytest.mark.rule("RAT-2")
@settings(max_examples=200, deadline=None)
@given(calls=st.lists(st.tuples(instants, destinations, durations), min_size=1, max_size=40))
@example(
    calls=[
        (JAN_1, "+32470123456", 61),  # jan, "324"
        (MAR_1, "+32470123456", 61),  # mar, "3247"
        (JAN_1 + timedelta(days=40), "+3222001122", 5),  # the gap: no version
        (JAN_1 + timedelta(days=2), "+32470123456", 61),  # jan again
        (MAR_1, "+33142000000", 5),  # mar has no rate for it
        (JAN_1, "+33142000000", 5),  # nor has jan
        (MAR_1 + timedelta(days=3), "+32471000000", 30),
    ]
)
def test_a_batch_rates_each_call_as_that_call_alone(calls: list[tuple[datetime, str, int]]) -> None:
    """Whatever the order of a batch (versions interleaved, gaps, destinations without a rate), each
    cost record or failure is the one the call gets when it is rated on its own."""
    cdrs = [
        Cdr(f"c{index}", "a", at, destination, seconds)
        for index, (at, destination, seconds) in enumerate(calls)
    ]
    batch = rate_calls(cdrs, GAPPED_BOOK, run="r")
    alone = [rate_calls([cdr], GAPPED_BOOK, run="r") for cdr in cdrs]
    assert batch.rated == tuple(call for outcome in alone for call in outcome.rated)
    for call in batch.rated:  # and that is the version valid at its start, and its longest prefix
        version = GAPPED_BOOK.version_at(call.started_at)
        rate = version.rate_for(call.destination)
        assert (call.tariff_version, call.prefix, call.per_minute) == (
            version.version,
            rate.prefix,
            rate.per_minute,
        )
        assert (call.exact_amount, call.amount) == call_price(call.charged_seconds, rate.per_minute)
    assert [(failure.cdr_id, str(failure.error)) for failure in batch.failures] == [
        (failure.cdr_id, str(failure.error)) for outcome in alone for failure in outcome.failures
    ]
