"""Porting a number in (CFG-6, BIL-7) through the API: its states and dates, the number protected
from being taken into service by anyone while it ports, in service on the account once completed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, DUPONT, PEETERS = "demo-operator", "demo-dupont", "demo-peeters"
NUMBER = "+3227771234"


async def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _e164s(api: Api, account: str) -> list[str]:
    found = await _ok(await api.get(OPERATOR, "/numbers", params={"account_id": account, "limit": 500}))
    return [n["e164"] for n in found["items"]]


@pytest.mark.rule("BIL-7")
@pytest.mark.rule("TEN-4")
async def test_a_number_ported_in_is_protected_while_it_ports_then_in_service(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    api.platform.clock.set(datetime(2026, 2, 2, 9, tzinfo=UTC))  # type: ignore[attr-defined]

    port = await _ok(await api.post(DUPONT, "/port-ins", json={"account_id": dupont, "e164": NUMBER}), 201)
    assert (port["direction"], port["state"], port["requested_on"]) == ("in", "requested", "2026-02-02")
    twice = await api.post(DUPONT, "/port-ins", json={"account_id": dupont, "e164": NUMBER})
    assert (twice.status_code, twice.json()["details"]["rule_id"]) == (422, "BIL-7")
    other = await api.post(PEETERS, "/port-ins", json={"account_id": dupont, "e164": "+3227771235"})
    assert other.status_code == 404  # another tenant's account

    # protected: nobody takes the number into service while it ports in
    taken = await api.post(OPERATOR, "/numbers", json={"account_id": peeters, "e164": NUMBER})
    assert (taken.status_code, taken.json()["details"]["rule_id"]) == (422, "BIL-7")
    in_use = await api.post(
        DUPONT, "/port-ins", json={"account_id": dupont, "e164": (await _e164s(api, dupont))[0]}
    )
    assert in_use.status_code == 409  # already in service here: nothing to port in

    moves = f"/port-ins/{port['id']}/state"
    assert (await api.post(DUPONT, moves, json={"state": "accepted"})).status_code == 422  # the operator's
    await _ok(await api.post(OPERATOR, moves, json={"state": "accepted"}))
    early = await api.post(OPERATOR, moves, json={"state": "scheduled", "port_on": "2026-01-30"})
    assert early.status_code == 422  # not before the request
    scheduled = await _ok(
        await api.post(OPERATOR, moves, json={"state": "scheduled", "port_on": "2026-02-05"})
    )
    assert scheduled["port_on"] == "2026-02-05"
    assert (
        await api.post(OPERATOR, moves, json={"state": "completed"})
    ).status_code == 422  # not yet its date
    assert NUMBER not in await _e164s(api, dupont)

    api.platform.clock.set(datetime(2026, 2, 5, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    done = await _ok(await api.post(OPERATOR, moves, json={"state": "completed"}))
    assert done["state"] == "completed"
    assert NUMBER in await _e164s(api, dupont)  # in service on the account from its port date
    assert NUMBER not in await _e164s(api, peeters)
    listed = (await _ok(await api.get(DUPONT, f"/customers/{dupont}/port-outs")))["items"]
    assert [(p["direction"], p["state"]) for p in listed] == [("in", "completed")]
