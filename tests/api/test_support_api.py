"""Support over the API: tickets as the only proof of a request (SUP-1), the desk's hours and who
reaches it out of hours (SUP-2), tenant scope (TEN-4), and the operator's queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

OPERATOR, PARTNER, DUPONT, PEETERS = "demo-operator", "demo-bruvoice", "demo-dupont", "demo-peeters"
BOB = "bob@dupont.example"  # a user, not an administrator


def _at(api: Api, when: datetime) -> None:
    api.platform.clock.set(when)  # type: ignore[attr-defined]


async def _open(api: Api, who: str, account: str, category: str, **extra: str) -> dict[str, object]:
    body = {"account_id": account, "category": category, "subject": "Phones", "description": "Help", **extra}
    made = await api.post(who, "/tickets", json=body)
    assert made.status_code == 201, made.text
    result: dict[str, object] = made.json()
    return result


@pytest.mark.rule("SUP-2")
async def test_out_of_hours_only_direct_customers_and_partners_reach_the_on_duty_staff(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")  # direct, French
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")  # through BruVoice, Dutch
    _at(api, datetime(2026, 2, 7, 9, tzinfo=UTC))  # Saturday 10:00 in Brussels: closed

    direct = await _open(api, DUPONT, dupont, "no_calls")
    assert direct["criticality"] == "critical"
    assert direct["on_duty"] is True
    assert direct["respond_by"] == "2026-02-07T10:00:00Z"  # the on-duty clock runs at once
    assert "équipe de garde" in str(direct["notice"])  # the customer's language

    indirect = await _open(api, PEETERS, peeters, "call_quality")
    assert indirect["criticality"] == "critical"
    assert indirect["on_duty"] is False
    assert indirect["starts_at"] == "2026-02-09T07:30:00Z"  # Monday 8:30 in Brussels
    assert "behandeld vanaf 2026-02-09 08:30" in str(indirect["notice"])  # told when, in Dutch

    by_partner = await _open(api, PARTNER, peeters, "no_calls")  # the partner reaches the desk
    assert (by_partner["requester"], by_partner["on_duty"]) == ("partner", True)

    not_critical = await _open(api, DUPONT, dupont, "configuration", criticality="critical")
    assert (not_critical["criticality"], not_critical["on_duty"]) == ("high", False)

    _at(api, datetime(2026, 4, 6, 8, tzinfo=UTC))  # Easter Monday, a Belgian public holiday
    holiday = await _open(api, DUPONT, dupont, "billing")
    assert holiday["on_duty"] is False
    assert holiday["starts_at"] == "2026-04-07T06:30:00Z"

    _at(api, datetime(2026, 2, 10, 9, tzinfo=UTC))  # Tuesday 10:00: open
    opened = await _open(api, DUPONT, dupont, "configuration")
    assert opened["starts_at"] == opened["opened_at"]
    assert opened["on_duty"] is False
    assert opened["respond_by"] == "2026-02-10T17:00:00Z"  # eight opening hours (normal)


@pytest.mark.rule("SUP-1")
@pytest.mark.rule("TEN-4")
async def test_a_ticket_is_the_record_of_a_request_seen_by_its_tenant(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    _at(api, datetime(2026, 2, 10, 9, tzinfo=UTC))
    ticket = await _open(api, BOB, dupont, "configuration")  # a user of the account opens it
    tid = ticket["id"]
    other = await _open(api, PEETERS, peeters, "other")

    assert (await api.get(PEETERS, f"/tickets/{tid}")).status_code == 404
    assert (await api.get(PARTNER, f"/tickets/{tid}")).status_code == 404  # not its customer
    partner_sees = (await api.get(PARTNER, "/tickets")).json()["items"]
    assert [t["id"] for t in partner_sees] == [other["id"]]
    assert {t["id"] for t in (await api.get(OPERATOR, "/tickets")).json()["items"]} >= {tid, other["id"]}
    refused = await api.post(PEETERS, "/tickets", json={**_body(dupont)})
    assert refused.status_code == 404
    phone = await api.post(DUPONT, "/tickets", json={**_body(dupont), "channel": "phone"})
    assert phone.status_code == 422  # only the operator attaches a call

    self_resolve = await api.post(DUPONT, f"/tickets/{tid}/status", json={"status": "resolved"})
    assert self_resolve.status_code == 422
    assert self_resolve.json()["details"]["rule_id"] == "SUP-1"
    answer = await api.post(OPERATOR, f"/tickets/{tid}/messages", json={"body": "On it", "channel": "phone"})
    assert answer.status_code == 201
    assert answer.json()["status"] == "in_progress"
    waiting = await api.post(OPERATOR, f"/tickets/{tid}/status", json={"status": "waiting_for_customer"})
    assert waiting.json()["status"] == "waiting_for_customer"
    back = await api.post(BOB, f"/tickets/{tid}/messages", json={"body": "Here is the MAC"})
    assert back.json()["status"] == "in_progress"
    resolved = await api.post(OPERATOR, f"/tickets/{tid}/status", json={"status": "resolved"})
    assert resolved.json()["resolved_at"] == "2026-02-10T09:00:00Z"
    closed = await api.post(DUPONT, f"/tickets/{tid}/status", json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    late = await api.post(BOB, f"/tickets/{tid}/messages", json={"body": "Again"})
    assert late.status_code == 422
    assert late.json()["details"]["rule_id"] == "SUP-1"

    history = (await api.get(DUPONT, f"/tickets/{tid}")).json()
    kinds = [e["kind"] for e in history["events"]]
    assert kinds == ["opened", "message", "message", "status", "message", "status", "status"]
    assert history["events"][2]["channel"] == "phone"
    assert history["events"][2]["from_desk"] is True
    assert history["events"][6]["body"] == "Ticket clôturé"  # French: the customer's language


def _body(account: str) -> dict[str, str]:
    return {"account_id": account, "category": "other", "subject": "A question", "description": "?"}


@pytest.mark.rule("SUP-2")
async def test_the_operator_queue_flags_tickets_at_risk(api: Api) -> None:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _at(api, datetime(2026, 2, 10, 9, tzinfo=UTC))  # Tuesday 10:00 in Brussels
    critical = await _open(api, DUPONT, dupont, "no_calls")  # answer within one opening hour
    normal = await _open(api, DUPONT, dupont, "other")
    assert (await api.get(DUPONT, "/support/queue")).status_code == 403
    _at(api, datetime(2026, 2, 10, 9, 40, tzinfo=UTC))
    queue = (await api.get(OPERATOR, "/support/queue", params={"margin_minutes": 30})).json()["items"]
    entries = {e["ticket"]["id"]: e for e in queue}
    assert entries[critical["id"]]["response_at_risk"] is True
    assert entries[normal["id"]]["response_at_risk"] is False
    assert queue[0]["ticket"]["id"] == critical["id"]  # soonest deadline first
    _at(api, datetime(2026, 2, 10, 10, 5, tzinfo=UTC))
    queue = (await api.get(OPERATOR, "/support/queue")).json()["items"]
    assert {e["ticket"]["id"]: e["overdue"] for e in queue}[critical["id"]] is True
