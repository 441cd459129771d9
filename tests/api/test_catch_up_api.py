"""Counts that catch up (CNT-2): with runs on the 28th, an increase after the month-end count is
billed at the next run with a catch-up line for the month it was missed, never two months late."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT = "demo-operator", "demo-dupont"


def _at(api: Api, *when: int) -> None:
    api.platform.clock.set(datetime(*when, tzinfo=UTC))  # type: ignore[attr-defined]


async def _count(api: Api, month: str) -> None:
    counted = await api.post(OPERATOR, "/billing/counts", json={"month": month})
    assert counted.status_code == 200, counted.text


async def _run(api: Api, period: str, dupont: str) -> dict[str, Any]:
    run = await api.post(OPERATOR, "/billing/runs", json={"period": period})
    assert run.status_code == 200, run.text
    listed = (await api.get(OPERATOR, "/invoices", params={"customer_id": dupont, "period": period})).json()
    [header] = listed["items"]
    invoice: dict[str, Any] = (await api.get(OPERATOR, f"/invoices/{header['number']}")).json()
    return invoice


def _users(invoice: dict[str, Any], rule: str, period: str) -> list[dict[str, Any]]:
    return [
        line
        for line in invoice["lines"]
        if line["rule_id"] == rule and line["item_kind"] == "billable_users" and line["period"] == period
    ]


@pytest.mark.rule("CNT-2")
@pytest.mark.rule("BIL-10")
async def test_an_increase_after_the_count_is_caught_up_at_the_next_run(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _at(api, 2026, 2, 1, 6)
    await _count(api, "2026-01")
    _at(api, 2026, 2, 28, 9)
    february = await _run(api, "2026-02", dupont)  # January (pro rata) to March, from the January count
    assert not [line for line in february["lines"] if line["rule_id"] == "CNT-2"]
    [march] = _users(february, "BIL-2", "2026-03")
    _at(api, 2026, 2, 28, 15)  # after the run: a new colleague, in February's month-end count
    made = await api.post(DUPONT, "/users", json={"name": "Dana Nieuw"})
    assert made.status_code == 201, made.text
    _at(api, 2026, 3, 1, 6)
    await _count(api, "2026-02")
    _at(api, 2026, 3, 28, 9)
    april_run = await _run(api, "2026-03", dupont)
    [april] = _users(april_run, "BIL-2", "2026-04")
    assert Decimal(april["quantity"]) == Decimal(march["quantity"]) + 1
    [caught_up] = _users(april_run, "CNT-2", "2026-03")  # March, missed by the run of 28 February
    assert Decimal(caught_up["quantity"]) == 1
    assert caught_up["unit_price"] == march["unit_price"]
    assert caught_up["description_params"]["counted_in"] == "2026-02"
    [source] = caught_up["sources"]
    assert source["kind"] == "monthly-summary"
    assert f"{dupont}:2026-02:" in source["key"]
    _at(api, 2026, 4, 1, 6)
    await _count(api, "2026-03")
    _at(api, 2026, 4, 28, 9)
    may_run = await _run(api, "2026-04", dupont)
    assert not [line for line in may_run["lines"] if line["rule_id"] == "CNT-2"]  # caught up once
