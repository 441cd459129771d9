from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nuage.errors import InvalidInput
from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackBalance, PackKind, TrafficPack
from nuage.rating.rater import rate_calls
from nuage.rating.tariffs import TariffBook

JAN_1 = datetime(2025, 1, 1, tzinfo=UTC)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)


def minutes_pack(minutes: int, **kwargs: object) -> TrafficPack:
    return TrafficPack("p1", "acc-1", "v1", PackKind.MINUTES, Decimal(minutes), JAN_1, **kwargs)  # type: ignore[arg-type]


def call(cdr_id: str, minute: int, seconds: int, destination: str = "+32470123456") -> Cdr:
    return Cdr(cdr_id, "acc-1", JAN_1 + timedelta(minutes=minute), destination, seconds)


@pytest.mark.rule("RAT-3")
def test_pack_is_consumed_first_and_the_straddling_call_is_split(book: TariffBook) -> None:
    # 2 minutes in the pack; calls of 90 s then 90 s: the second is split 30 s free + 60 s priced.
    outcome = rate_calls([call("c2", 5, 90), call("c1", 1, 90)], book, run="r", packs=[minutes_pack(2)])
    first, second = outcome.rated
    assert (first.cdr_id, first.pack_seconds, first.charged_seconds, first.amount) == (
        "c1",
        90,
        0,
        Decimal(0),
    )
    assert (second.cdr_id, second.pack_seconds, second.charged_seconds) == ("c2", 30, 60)
    assert second.amount == Decimal("0.15")
    assert second.pack_ids == ("p1",)
    assert outcome.balances["p1"] == PackBalance("p1", used_seconds=120, used_amount=Decimal(0))


@pytest.mark.rule("RAT-3")
def test_pack_balance_carries_over_between_batches(book: TariffBook) -> None:
    balance = {"p1": PackBalance("p1", used_seconds=100)}
    outcome = rate_calls([call("c1", 1, 60)], book, run="r", packs=[minutes_pack(2)], balances=balance)
    (rated,) = outcome.rated
    assert (rated.pack_seconds, rated.charged_seconds, rated.amount) == (20, 40, Decimal("0.10"))


@pytest.mark.rule("RAT-3")
def test_amount_pack_pays_the_rat1_price_until_exhausted(book: TariffBook) -> None:
    pack = TrafficPack("p1", "acc-1", "v1", PackKind.AMOUNT, Decimal("0.20"), JAN_1)
    outcome = rate_calls([call("c1", 1, 60), call("c2", 2, 60)], book, run="r", packs=[pack])
    first, second = outcome.rated
    assert (first.pack_seconds, first.amount) == (60, Decimal(0))  # 0.15 debited
    # 0.05 left: 20 s at 0.15/min; the remaining 40 s cost 0.10.
    assert (second.pack_seconds, second.charged_seconds, second.amount) == (20, 40, Decimal("0.10"))
    assert outcome.balances["p1"].used_amount == Decimal("0.20")


@pytest.mark.rule("RAT-3")
def test_pack_applies_only_while_valid_and_to_its_destinations(book: TariffBook) -> None:
    expired = minutes_pack(10, valid_to=JAN_1 + timedelta(minutes=3))
    national = TrafficPack(
        "p2", "acc-1", "v1", PackKind.MINUTES, Decimal(10), JAN_1, covered_prefixes=frozenset({"+32"})
    )
    outcome = rate_calls(
        [call("late", 5, 60), call("abroad", 6, 60, "+33123456789")],
        book,
        run="r",
        packs=[expired],
    )
    assert [rated.pack_seconds for rated in outcome.rated] == [0, 0]
    outcome = rate_calls([call("abroad", 6, 60, "+33123456789")], book, run="r", packs=[national])
    assert outcome.rated[0].pack_seconds == 0
    assert outcome.rated[0].amount == Decimal("0.10")


@pytest.mark.rule("RAT-3")
def test_pack_expiring_first_is_drawn_first_and_calls_may_span_two_packs(book: TariffBook) -> None:
    later = TrafficPack("late", "acc-1", "v1", PackKind.MINUTES, Decimal(5), JAN_1)
    sooner = TrafficPack("soon", "acc-1", "v1", PackKind.MINUTES, Decimal(1), JAN_1, valid_to=JAN_15)
    (rated,) = rate_calls([call("c1", 1, 120)], book, run="r", packs=[later, sooner]).rated
    assert rated.pack_ids == ("soon", "late")
    assert rated.pack_seconds == 120


@pytest.mark.rule("RAT-3")
def test_emergency_calls_never_draw_on_a_pack(book: TariffBook) -> None:
    emergency = Cdr("e1", "acc-1", JAN_1, "112", 60, emergency=True)
    outcome = rate_calls([emergency], book, run="r", packs=[minutes_pack(1)])
    assert outcome.rated[0].pack_seconds == 0
    assert "p1" not in outcome.balances


@pytest.mark.rule("CFG-11")
def test_pack_sizes_are_validated() -> None:
    with pytest.raises(InvalidInput):
        TrafficPack("p", "a", "v", PackKind.MINUTES, Decimal("1.5"), JAN_1)
    with pytest.raises(InvalidInput):
        TrafficPack("p", "a", "v", PackKind.AMOUNT, Decimal("1.005"), JAN_1)
