from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nuage.rating.cdr import Cdr
from nuage.rating.errors import NoRateForDestination, NoTariffVersion
from nuage.rating.rater import call_price, rate_calls
from nuage.rating.tariffs import TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)


def cdr(cdr_id: str, seconds: int, destination: str = "+32470123456", at_minutes: int = 0) -> Cdr:
    return Cdr(cdr_id, "acc-1", JAN_1 + timedelta(minutes=at_minutes), destination, seconds)


@pytest.mark.rule("RAT-1")
def test_call_price_is_rounded_up_to_the_next_cent() -> None:
    assert call_price(61, Decimal("0.15")) == (Decimal("0.1525"), Decimal("0.16"))
    assert call_price(60, Decimal("0.15"))[1] == Decimal("0.15")
    assert call_price(1, Decimal("0.05"))[1] == Decimal("0.01")
    assert call_price(0, Decimal("0.05"))[1] == Decimal("0.00")


@pytest.mark.rule("RAT-1")
def test_cost_record_names_prefix_version_seconds_and_both_amounts(book: TariffBook) -> None:
    outcome = rate_calls([cdr("c1", 61)], book, run="customer-retail")
    (call,) = outcome.rated
    assert (call.prefix, call.tariff_version, call.billable_seconds, call.charged_seconds) == (
        "324",
        "2025-01",
        61,
        61,
    )
    assert call.exact_amount == Decimal("0.1525")
    assert call.amount == Decimal("0.16")
    assert call.run == "customer-retail"
    assert call.itemised
    assert not call.emergency


@pytest.mark.rule("RAT-1")
def test_rounding_is_per_call_not_per_batch(book: TariffBook) -> None:
    outcome = rate_calls([cdr("c1", 1, "+3222001122"), cdr("c2", 1, "+3222001122")], book, run="r")
    assert [call.amount for call in outcome.rated] == [Decimal("0.01"), Decimal("0.01")]
    assert sum(call.exact_amount for call in outcome.rated) < Decimal("0.01")


@pytest.mark.rule("RAT-2")
def test_calls_either_side_of_a_tariff_change_use_their_own_version(book: TariffBook) -> None:
    before = Cdr("c1", "acc-1", JAN_15 - timedelta(seconds=1), "+32470123456", 120)
    after = Cdr("c2", "acc-1", JAN_15, "+32470123456", 120)
    rated = {call.cdr_id: call for call in rate_calls([before, after], book, run="r").rated}
    assert (rated["c1"].tariff_version, rated["c1"].amount) == ("2025-01", Decimal("0.30"))
    assert (rated["c2"].tariff_version, rated["c2"].amount) == ("2025-01b", Decimal("0.40"))


@pytest.mark.rule("RAT-2")
def test_a_call_is_rated_by_its_start_even_if_it_ends_in_the_next_version(book: TariffBook) -> None:
    straddling = Cdr("c1", "acc-1", JAN_15 - timedelta(minutes=1), "+32470123456", 3600)
    (call,) = rate_calls([straddling], book, run="r").rated
    assert call.tariff_version == "2025-01"
    assert call.amount == Decimal("9.00")


@pytest.mark.rule("RAT-3")
def test_emergency_calls_are_free_and_not_itemised(book: TariffBook) -> None:
    emergency = Cdr("e1", "acc-1", JAN_1, "112", 300, emergency=True)
    (call,) = rate_calls([emergency], book, run="r").rated
    assert call.amount == Decimal(0)
    assert call.emergency
    assert not call.itemised


@pytest.mark.rule("RAT-1")
def test_rating_a_cdr_twice_gives_one_result(book: TariffBook) -> None:
    first = rate_calls([cdr("c1", 61), cdr("c1", 61)], book, run="r")
    assert [call.cdr_id for call in first.rated] == ["c1"]
    assert first.skipped_ids == ("c1",)
    again = rate_calls([cdr("c1", 61)], book, run="r", already_rated={"c1"})
    assert again.rated == ()
    assert again.skipped_ids == ("c1",)


@pytest.mark.rule("RAT-2")
def test_unpriceable_cdrs_are_reported_and_the_rest_rated(book: TariffBook) -> None:
    early = Cdr("c0", "acc-1", JAN_1 - timedelta(days=1), "+32470123456", 10)
    outcome = rate_calls([cdr("c1", 10), cdr("c2", 10, "+4930123456"), early], book, run="r")
    assert [call.cdr_id for call in outcome.rated] == ["c1"]
    assert [(failure.cdr_id, type(failure.error)) for failure in outcome.failures] == [
        ("c2", NoRateForDestination),
        ("c0", NoTariffVersion),
    ]
