"""What support bills, through the API and onto the next invoice, each line citing its rule and what
it comes from (BIL-10): interventions (BIL-5), return carriage after the warranty (HW-1), a port-out
(BIL-7) and Telavox activations as activated (BIL-8)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"


def _at(api: Api, when: datetime) -> None:
    api.platform.clock.set(when)  # type: ignore[attr-defined]


async def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _ticket(api: Api, who: str, account: str, category: str = "hardware") -> str:
    body = {"account_id": account, "category": category, "subject": "Desk phone", "description": "Dead"}
    return str((await _ok(await api.post(who, "/tickets", json=body), 201))["id"])


async def _invoice_lines(api: Api, customer: str) -> list[dict[str, Any]]:
    await _ok(await api.post(OPERATOR, "/billing/counts", json={"month": "2026-01"}))
    await _ok(await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": "2026-01-28"}))
    listed = (await _ok(await api.get(OPERATOR, "/invoices", params={"customer_id": customer})))["items"]
    latest = await _ok(await api.get(OPERATOR, f"/invoices/{listed[-1]['number']}"))
    lines: list[dict[str, Any]] = latest["lines"]
    return lines


@pytest.mark.rule("BIL-5")
@pytest.mark.rule("HW-1")
@pytest.mark.rule("BIL-7")
@pytest.mark.rule("BIL-8")
@pytest.mark.rule("BIL-10")
async def test_support_work_is_billed_on_the_next_invoice_citing_its_rule(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _at(api, datetime(2026, 1, 27, 9, tzinfo=UTC))  # Tuesday 10:00 in Brussels

    # BIL-5: time and materials on a ticket; covered work is logged, not billed
    tid = await _ticket(api, DUPONT, dupont, "configuration")
    work = {"reason": "customer_change", "performed_on": "2026-01-27", "minutes": 50}
    materials = [{"description": "Patch cable", "price": "30.00"}]
    assert (await api.post(DUPONT, f"/tickets/{tid}/interventions", json=work)).status_code == 403
    logged = await _ok(
        await api.post(OPERATOR, f"/tickets/{tid}/interventions", json={**work, "materials": materials}), 201
    )
    assert logged["billed"] is True
    assert Decimal(logged["amount"]) == Decimal("115.00")  # 4 started quarters at 85.00, plus 30.00
    covered = await _ok(
        await api.post(OPERATOR, f"/tickets/{tid}/interventions", json={**work, "covered_by": "warranty"}),
        201,
    )
    assert covered["billed"] is False
    seen = (await _ok(await api.get(DUPONT, f"/tickets/{tid}/interventions")))["items"]
    assert sorted(i["billed"] for i in seen) == [False, True]

    # HW-1: one item out of warranty, one under it
    old = {
        "model": "Yealink T54W",
        "serial": "YL-0001",
        "delivered_on": "2025-01-10",
        "mac": "00-15-65-AA-BB-01",
    }
    new = {"model": "Yealink T54W", "serial": "YL-0002", "delivered_on": "2025-06-01"}
    assert (await api.post(DUPONT, f"/customers/{dupont}/hardware", json=old)).status_code == 403
    old_item = await _ok(await api.post(OPERATOR, f"/customers/{dupont}/hardware", json=old), 201)
    assert (old_item["mac"], old_item["warranty_ends"], old_item["under_warranty"]) == (
        "00:15:65:aa:bb:01",
        "2026-01-09",
        False,
    )
    new_item = await _ok(await api.post(OPERATOR, f"/customers/{dupont}/hardware", json=new), 201)
    listed = (await _ok(await api.get(DUPONT, f"/customers/{dupont}/hardware")))["items"]
    assert [i["under_warranty"] for i in listed] == [False, True]
    hw_ticket = await _ticket(api, DUPONT, dupont)
    paid = await _ok(
        await api.post(DUPONT, f"/hardware/{old_item['id']}/returns", json={"ticket_id": hw_ticket}), 201
    )
    assert (paid["payer"], Decimal(paid["carriage"])) == ("customer", Decimal("15.00"))
    free = await _ok(
        await api.post(DUPONT, f"/hardware/{new_item['id']}/returns", json={"ticket_id": hw_ticket}), 201
    )
    assert (free["payer"], Decimal(free["carriage"])) == ("operator", Decimal("0.00"))
    twice = await api.post(DUPONT, f"/hardware/{old_item['id']}/returns", json={"ticket_id": hw_ticket})
    assert twice.status_code == 409  # one open return per item
    skip = await api.post(OPERATOR, f"/returns/{paid['id']}/state", json={"state": "repaired"})
    assert skip.status_code == 422  # reported → authorised → received → repaired
    assert (
        await api.post(DUPONT, f"/returns/{paid['id']}/state", json={"state": "authorised"})
    ).status_code == 403
    for state in ("authorised", "received"):
        await _ok(await api.post(OPERATOR, f"/returns/{paid['id']}/state", json={"state": state}))
        await _ok(await api.post(OPERATOR, f"/returns/{free['id']}/state", json={"state": state}))
    swapped = await _ok(
        await api.post(
            OPERATOR,
            f"/returns/{free['id']}/state",
            json={"state": "replaced", "replacement_serial": "YL-0003"},
        )
    )
    assert swapped["replacement_serial"] == "YL-0003"
    history = [e["kind"] for e in (await _ok(await api.get(DUPONT, f"/tickets/{hw_ticket}")))["events"]]
    assert history.count("return") == 7  # two reports, five steps
    bodies = [e["body"] for e in (await _ok(await api.get(DUPONT, f"/tickets/{hw_ticket}")))["events"]]
    assert any("hors garantie, le transport (15.00 EUR)" in b for b in bodies)  # the customer's language
    assert (await api.get(PEETERS, f"/returns/{paid['id']}")).status_code == 404

    # BIL-7: a port-out, protected while open, billed once completed on its date
    port_body = {"account_id": dupont, "e164": "+3223000101"}
    port = await _ok(await api.post(DUPONT, "/port-outs", json=port_body), 201)
    again = await api.post(DUPONT, "/port-outs", json=port_body)
    assert again.status_code == 422
    assert again.json()["details"]["rule_id"] == "BIL-7"
    numbers = (await _ok(await api.get(OPERATOR, "/numbers", params={"account_id": dupont})))["items"]
    bobs = next(n["id"] for n in numbers if n["e164"] == "+3223000101")
    moved = await api.put(DUPONT, f"/numbers/{bobs}/assignment", json={"user_id": None})
    assert moved.status_code == 422  # protected while the port is open
    assert moved.json()["details"]["rule_id"] == "BIL-7"
    assert (await api.delete(DUPONT, f"/numbers/{bobs}")).status_code == 422
    own = await api.post(DUPONT, f"/port-outs/{port['id']}/state", json={"state": "accepted"})
    assert own.status_code == 422  # only the operator moves it
    await _ok(await api.post(OPERATOR, f"/port-outs/{port['id']}/state", json={"state": "accepted"}))
    await _ok(
        await api.post(
            OPERATOR, f"/port-outs/{port['id']}/state", json={"state": "scheduled", "port_on": "2026-01-27"}
        )
    )
    done = await _ok(await api.post(OPERATOR, f"/port-outs/{port['id']}/state", json={"state": "completed"}))
    assert done["state"] == "completed"
    numbers = (await _ok(await api.get(OPERATOR, "/numbers", params={"account_id": dupont})))["items"]
    assert "+3223000101" not in [n["e164"] for n in numbers]  # released on the port date

    # BIL-8: billed from the upstream's confirmation, pro rata; alarm lines refused; never twice
    catalogue = (await _ok(await api.get(DUPONT, "/ucaas/catalogue")))["items"]
    assert {i["kind"] for i in catalogue} == {"licence", "shared_extension", "feature", "addon"}
    alarm = await api.post(
        DUPONT,
        "/ucaas/activations",
        json={"account_id": dupont, "item_code": "tvx-shared", "purpose": "alarm"},
    )
    assert alarm.status_code == 422
    users = await _ok(
        await api.post(
            DUPONT, "/ucaas/activations", json={"account_id": dupont, "item_code": "tvx-user", "quantity": 3}
        ),
        201,
    )
    teams = await _ok(
        await api.post(DUPONT, "/ucaas/activations", json={"account_id": dupont, "item_code": "tvx-teams"}),
        201,
    )
    stopped = await _ok(await api.post(DUPONT, f"/ucaas/activations/{teams['id']}/deactivation"))
    assert (stopped["active_from"], stopped["active_until"]) == (None, "2026-01-27")  # never confirmed
    assert (await api.post(DUPONT, f"/ucaas/activations/{teams['id']}/deactivation")).status_code == 422
    assert (await api.post(PEETERS, f"/ucaas/activations/{teams['id']}/deactivation")).status_code == 404
    assert (
        await api.post(DUPONT, f"/ucaas/activations/{users['id']}/confirmation", json={})
    ).status_code == 403
    confirmed = await _ok(
        await api.post(OPERATOR, f"/ucaas/activations/{users['id']}/confirmation", json={"on": "2026-01-12"})
    )
    assert confirmed["active_from"] == "2026-01-12"
    early = await api.post(OPERATOR, "/ucaas/billing", json={"month": "2026-01"})
    assert early.status_code == 422  # the month is not over

    _at(api, datetime(2026, 2, 3, 8, tzinfo=UTC))
    assert (await _ok(await api.post(OPERATOR, "/ucaas/billing", json={"month": "2026-01"})))["charged"] == 1
    assert (await _ok(await api.post(OPERATOR, "/ucaas/billing", json={"month": "2026-01"})))["charged"] == 0

    lines = await _invoice_lines(api, dupont)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_rule.setdefault(line["rule_id"], []).append(line)
    assert sorted(Decimal(x["amount"]) for x in by_rule["BIL-5"]) == [Decimal("30.00"), Decimal("85.00")]
    assert all({"kind": "ticket", "key": tid} in x["sources"] for x in by_rule["BIL-5"])
    [carriage] = by_rule["HW-1"]
    assert Decimal(carriage["amount"]) == Decimal("15.00")
    assert {"kind": "return", "key": paid["id"]} in carriage["sources"]
    [port_line] = by_rule["BIL-7"]
    assert Decimal(port_line["amount"]) == Decimal("25.00")
    assert {"kind": "number", "key": "+3223000101"} in port_line["sources"]
    [licences] = by_rule["BIL-8"]  # the unconfirmed add-on is not billed
    assert Decimal(licences["amount"]) == Decimal("36.77")  # 3 × 19.00 × 20/31 days
    assert all(x["vat_category"] == "S" for x in (*by_rule["BIL-5"], carriage, port_line, licences))


@pytest.mark.rule("BIL-8")
async def test_on_abuse_the_operator_adds_licences_back_to_the_contract_start(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _at(api, datetime(2026, 3, 3, 9, tzinfo=UTC))
    start = date.fromisoformat(
        (await _ok(await api.get(OPERATOR, f"/customers/{dupont}/contract")))["start_on"]
    )
    body = {"missing": 2, "evidence": "shared-ext-used-by-4"}
    path = f"/customers/{dupont}/ucaas/retroactive-licences"
    assert (await api.post(DUPONT, path, json=body)).status_code == 403
    line = await _ok(await api.post(OPERATOR, path, json=body), 201)
    assert line["rule_id"] == "BIL-8"
    assert line["description_params"]["from"] == start.isoformat()
    assert line["description_params"]["to"] == "2026-02"
    first = Fraction(31 - start.day + 1, 31)  # the demo's contracts start in January: its started part
    expected = (Decimal(2 * 19) * (first.numerator + first.denominator) / first.denominator).quantize(
        Decimal("0.01")
    )
    assert Decimal(line["amount"]) == expected  # January pro rata and February, two licences at 19.00
    assert ["ucaas-abuse", "shared-ext-used-by-4"] in line["sources"]
    assert (await api.post(OPERATOR, path, json=body)).status_code == 409  # once per evidence
