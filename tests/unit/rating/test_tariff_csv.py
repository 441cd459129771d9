"""RAT-2: a tariff CSV is read whole or refused whole, every bad field reported by row; its connection
fee and minimum price a charged call before the RAT-1 rounding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.rating.cdr import Cdr
from nuage.rating.packs import PackKind, TrafficPack
from nuage.rating.rater import call_price, rate_calls
from nuage.rating.tariff_csv import MAX_BYTES, MAX_ROWS, parse_tariff_csv
from nuage.rating.tariffs import RateTerms, Tariff, TariffBook

D = Decimal
HEADER = "prefix,description,per_minute,minimum,connection_fee\n"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def _errors(text: str) -> list[tuple[int, str]]:
    parsed = parse_tariff_csv(text)
    assert parsed.per_minute_by_prefix == {}  # nothing kept when anything is wrong
    return [(e.row, e.field) for e in parsed.errors]


@pytest.mark.rule("RAT-2")
def test_a_good_file_gives_every_prefix_with_its_terms() -> None:
    parsed = parse_tariff_csv(HEADER + "32,Belgium,0.02,,\n324,Belgium mobile,0.15,0.05,0.01\n")
    assert parsed.ok
    assert parsed.per_minute_by_prefix == {"32": D("0.02"), "324": D("0.15")}
    assert parsed.terms_by_prefix["324"] == RateTerms("Belgium mobile", D("0.05"), D("0.01"))
    assert parse_tariff_csv("prefix,per_minute\n32,0.02\n").ok  # optional columns may be left out


@pytest.mark.rule("RAT-2")
def test_every_bad_field_is_reported_and_the_whole_file_refused() -> None:
    assert _errors("") == [(1, "header")]
    assert _errors("prefix,price\n32,1\n") == [(1, "per_minute"), (1, "price")]
    assert _errors(HEADER) == [(2, "file")]
    bad = HEADER + "32,ok,0.02,0,0\n3a,x,0.02,0,0\n33,x,-1,0,0\n34,x,0.1234567,0,0\n35,x,1e3,0,0\n"
    assert _errors(bad) == [(3, "prefix"), (4, "per_minute"), (5, "per_minute"), (6, "per_minute")]
    assert _errors(HEADER + "32,x,0.02,0,0\n32,y,0.03,0,0\n") == [(3, "prefix")]
    assert _errors(HEADER + "1234567890123456,x,0.02,0,0\n") == [(2, "prefix")]
    assert _errors(HEADER + f"32,{'x' * 81},0.02,0,0\n") == [(2, "description")]
    assert _errors(HEADER + "32,x,0.02,0\n") == [(2, "row")]
    assert _errors(HEADER + "32,x,,nan,0\n") == [(2, "per_minute"), (2, "minimum")]


@pytest.mark.rule("RAT-2")
def test_the_file_is_bounded_in_size_and_rows() -> None:
    assert _errors(HEADER + "x" * MAX_BYTES) == [(0, "file")]
    rows = "".join(f"{n},,0.01,,\n" for n in range(1, MAX_ROWS + 2))
    assert _errors(HEADER + rows)[-1] == (MAX_ROWS + 2, "file")


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-2")
def test_connection_fee_and_minimum_price_a_charged_call_before_rounding_up() -> None:
    assert call_price(60, D("0.10"), D("0.015")) == (D("0.115"), D("0.12"))
    assert call_price(6, D("0.10"), D("0.01"), D("0.05"))[1] == D("0.05")
    assert call_price(0, D("0.10"), D("0.01"), D("0.05"))[1] == D("0.00")  # nothing charged, nothing owed
    tariff = Tariff(
        "t1", JAN_1, {"32": D("0.60")}, terms_by_prefix={"32": RateTerms("Belgium", D("0.20"), D("0.05"))}
    )
    pack = TrafficPack("p1", "acc-1", "p1@1", PackKind.MINUTES, D(1), JAN_1, None)  # one minute
    cdrs = [
        Cdr("in-pack", "acc-1", JAN_1, "+3222001122", 60),
        Cdr("short", "acc-1", JAN_1.replace(hour=1), "+3222001122", 6),
        Cdr("long", "acc-1", JAN_1.replace(hour=2), "+3222001122", 120),
    ]
    rated = rate_calls(cdrs, TariffBook([tariff]), run="customer-retail", packs=[pack]).rated
    assert [(r.cdr_id, r.amount) for r in rated] == [
        ("in-pack", D("0.00")),  # wholly inside the pack: no fee, no minimum (RAT-3)
        ("short", D("0.20")),
        ("long", D("1.25")),
    ]
