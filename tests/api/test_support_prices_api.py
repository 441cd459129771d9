"""Support's prices come from the customer's price list (BIL-2): the intervention hour (BIL-5), the
port-out fee (BIL-7) and the Telavox items' monthly prices (BIL-8); and the monthly run carries a
confirmed Telavox activation onto the invoice by itself, pro rata, never an unconfirmed one."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT = "demo-operator", "demo-dupont"


async def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _at(api: Api, when: datetime) -> None:
    api.platform.clock.set(when)  # type: ignore[attr-defined]


async def _premium_plan(api: Api, dupont: str) -> None:
    """A plan of its own for Dupont: the business plan's retail prices, dearer support and Telavox."""
    plans = (await _ok(await api.get(OPERATOR, "/plans")))["plans"]
    business = next(p for p in plans if p["plan_id"] == "business")
    retail = next(p for p in business["price_lists"] if p["audience"] == "customer-retail")
    body = {
        **{k: v for k, v in retail.items() if k != "valid_to"},
        "version": "premium-2025-12",
        "valid_from": "2025-12-20",
        "one_time": {**retail["one_time"], "intervention_hour": "100.00", "port_out": "40.00"},
        "resale": {"tvx-user": "25.00"},
    }
    await _ok(await api.post(OPERATOR, "/plans/premium/price-lists", json=body), 201)
    await _ok(await api.put(OPERATOR, f"/parties/{dupont}/plan", json={"plan_id": "premium"}))


@pytest.mark.rule("BIL-2")
@pytest.mark.rule("BIL-5")
@pytest.mark.rule("BIL-7")
@pytest.mark.rule("BIL-8")
@pytest.mark.rule("BIL-10")
async def test_support_is_priced_by_the_price_list_and_telavox_reaches_the_monthly_run(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _at(api, datetime(2025, 12, 20, 9, tzinfo=UTC))
    await _premium_plan(api, dupont)
    default = {
        i["code"]: i["monthly_price"] for i in (await _ok(await api.get(DUPONT, "/ucaas/catalogue")))["items"]
    }
    own = await _ok(await api.get(DUPONT, "/ucaas/catalogue", params={"account_id": dupont}))
    prices = {i["code"]: i["monthly_price"] for i in own["items"]}
    assert Decimal(prices["tvx-user"]) == Decimal("25.00")  # Dupont's price list
    assert prices["tvx-teams"] == default["tvx-teams"]  # not named there: the default price
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    assert (await api.get(DUPONT, "/ucaas/catalogue", params={"account_id": peeters})).status_code == 404

    _at(api, datetime(2026, 1, 12, 9, tzinfo=UTC))  # Monday 10:00 in Brussels
    ticket = {"account_id": dupont, "category": "configuration", "subject": "Menu", "description": "IVR"}
    tid = (await _ok(await api.post(DUPONT, "/tickets", json=ticket), 201))["id"]
    work = {"reason": "customer_change", "performed_on": "2026-01-12", "minutes": 60}
    logged = await _ok(await api.post(OPERATOR, f"/tickets/{tid}/interventions", json=work), 201)
    assert Decimal(logged["hourly_rate"]) == Decimal("100.00")  # the plan's, not a constant

    port = await _ok(
        await api.post(DUPONT, "/port-outs", json={"account_id": dupont, "e164": "+3223000101"}), 201
    )
    moves = f"/port-outs/{port['id']}/state"
    await _ok(await api.post(OPERATOR, moves, json={"state": "accepted"}))
    await _ok(await api.post(OPERATOR, moves, json={"state": "scheduled", "port_on": "2026-01-12"}))
    await _ok(await api.post(OPERATOR, moves, json={"state": "completed"}))

    users = await _ok(
        await api.post(
            DUPONT, "/ucaas/activations", json={"account_id": dupont, "item_code": "tvx-user", "quantity": 2}
        ),
        201,
    )
    await _ok(
        await api.post(DUPONT, "/ucaas/activations", json={"account_id": dupont, "item_code": "tvx-teams"}),
        201,
    )
    await _ok(
        await api.post(OPERATOR, f"/ucaas/activations/{users['id']}/confirmation", json={"on": "2026-01-12"})
    )

    # the run of January, on 3 February: no separate Telavox billing call
    _at(api, datetime(2026, 2, 3, 8, tzinfo=UTC))
    await _ok(await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"}))
    await _ok(await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-02-03"}))
    listed = (await _ok(await api.get(OPERATOR, "/invoices", params={"customer_id": dupont})))["items"]
    invoice = await _ok(await api.get(OPERATOR, f"/invoices/{listed[-1]['number']}"))
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for line in invoice["lines"]:
        by_rule.setdefault(line["rule_id"], []).append(line)
    [telavox] = by_rule["BIL-8"]  # the unconfirmed Teams add-on is not billed
    assert Decimal(telavox["amount"]) == Decimal("32.26")  # 2 × 25.00 × 20/31 days
    assert {"kind": "ucaas-activation", "key": users["id"]} in telavox["sources"]  # BIL-10
    [port_line] = by_rule["BIL-7"]
    assert Decimal(port_line["amount"]) == Decimal("40.00")
    [time_line] = by_rule["BIL-5"]
    assert Decimal(time_line["amount"]) == Decimal("100.00")

    # running again issues nothing new, and charges Telavox no second time (BIL-9)
    again = await _ok(
        await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-02-03"})
    )
    assert again["invoices"] == []
    listed_again = (await _ok(await api.get(OPERATOR, "/invoices", params={"customer_id": dupont})))["items"]
    assert len(listed_again) == len(listed)
