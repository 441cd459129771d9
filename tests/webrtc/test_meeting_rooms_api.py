"""Web Meeting rooms through the API (MTG-1, BIL-6): ordered with the terms accepted, invoiced at order,
opened only once paid, on Janus; the host's controls; the operator's view of the gateway."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from api.support import Api
from nuage.bootstrap import Platform
from nuage.services.billing.order_fees import invoice_order
from nuage.services.context import Context
from nuage.services.payments.payments import record_payment
from nuage.shared.clock import Clock, business_date
from nuage.tenancy.model import PartyKind

OPERATOR, PARTNER, CUSTOMER = "demo-operator", "demo-bruvoice", "demo-peeters"
ORDER = {"name": "Board room", "pin": "2468", "months": 12, "terms_version": "2026-01", "language": "nl"}


async def order_room(api: Api, who: str = PARTNER) -> dict[str, object]:
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    answer = await api.post(
        who, "/meeting-rooms", json={**ORDER, "account_id": peeters, "accepted_by": "Jan"}
    )
    assert answer.status_code == 201, answer.text
    room: dict[str, object] = answer.json()
    return room


def pay_invoice(platform: Platform, number: str) -> None:
    """The contracting party pays the invoice in full (PAY-1, recorded as the operator would)."""
    pay_with(platform.uow, platform.clock, number)


def pay_with(make: Callable[[], Any], clock: Clock, number: str) -> None:
    """``pay_invoice`` over any unit-of-work factory (databases, memory)."""
    with make() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        assert operator is not None
        invoice = uow.billing.find_invoice(number)
        assert invoice is not None
        headers, _ = uow.billing.list_invoices(party_ids=None, period=None, limit=10**6, offset=0)
        gross = next(header.gross for header in headers if header.number == number)
        record_payment(
            uow,
            Context.operator(operator.id, clock),
            party_id=invoice.issued.draft.invoiced_party_id,
            amount=abs(gross).quantize(Decimal("0.01")),
            received_on=business_date(clock.now()),
            invoice_number=number,
        )
        uow.commit()


def pay(api: Api, number: str) -> None:
    pay_invoice(api.platform, number)


@pytest.mark.rule("BIL-6")
@pytest.mark.rule("TEN-3")
async def test_a_room_is_invoiced_at_order_and_opens_only_once_paid(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    assert room["status"] == "ordered"
    order = (await api.get(PARTNER, f"/orders/{room['order_id']}")).json()
    assert order["terms_version"] == "2026-01"
    assert order["accepted_by"] == "Jan"
    invoice = (await api.get(OPERATOR, f"/invoices/{room['invoice_number']}")).json()
    [line] = invoice["lines"]
    assert line["rule_id"] == "BIL-6"
    assert line["item_kind"] == "meeting_room"
    assert Decimal(line["quantity"]) == 12
    assert Decimal(line["amount"]) == 12 * Decimal(line["unit_price"]) > 0
    assert invoice["invoiced_party_id"] == api.party_id(PartyKind.PARTNER, "Brussels Voice Partners")  # TEN-5

    refused = await api.post(PARTNER, f"/meeting-rooms/{room['id']}/open")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error_id"] == "term-violation"
    assert refused.json()["details"]["rule_id"] == "BIL-6"
    assert room["invoice_number"] in refused.json()["message"]
    host = await api.get(PARTNER, f"/meeting-rooms/{room['id']}/participants")
    assert host.status_code == 422
    assert host.json()["details"]["rule_id"] == "BIL-6"

    pay(api, str(room["invoice_number"]))
    opened = await api.post(PARTNER, f"/meeting-rooms/{room['id']}/open")
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "active"
    assert opened.json()["activated_at"] is not None
    empty = await api.get(PARTNER, f"/meeting-rooms/{room['id']}/participants")
    assert empty.status_code == 200, empty.text
    assert empty.json()["items"] == []


@pytest.mark.rule("BIL-9")
async def test_the_order_of_a_room_is_invoiced_once(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    platform = api.platform
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        assert operator is not None
        ctx = Context.operator(operator.id, platform.clock)
        again = invoice_order(uow, ctx, str(room["order_id"]), validator=platform.einvoice_validator)
    assert again is None  # the BIL-1 path finds the order's run key taken by its BIL-6 invoice
    headers = (await api.get(OPERATOR, "/invoices")).json()["items"]
    assert [h["number"] for h in headers].count(room["invoice_number"]) == 1


@pytest.mark.rule("MTG-1")
async def test_the_host_locks_the_room_and_only_its_tenants_see_it(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    pay(api, str(room["invoice_number"]))
    assert (await api.post(PARTNER, f"/meeting-rooms/{room['id']}/open")).status_code == 200
    locked = await api.post(PARTNER, f"/meeting-rooms/{room['id']}/lock", json={"locked": True})
    assert locked.status_code == 200, locked.text
    assert locked.json()["locked"] is True
    assert (await api.get(CUSTOMER, f"/meeting-rooms/{room['id']}")).status_code == 200
    assert (await api.get("demo-dupont", f"/meeting-rooms/{room['id']}")).status_code == 404  # TEN-4
    gone = await api.delete(PARTNER, f"/meeting-rooms/{room['id']}/participants/12345")
    assert gone.status_code == 409, gone.text
    closed = await api.delete(PARTNER, f"/meeting-rooms/{room['id']}")
    assert closed.status_code == 204, closed.text
    assert (await api.get(PARTNER, f"/meeting-rooms/{room['id']}")).json()["status"] == "closed"
    assert (await join(api, room["id"])).status_code == 404  # a closed room is gone for visitors


async def test_a_bad_pin_or_too_many_months_is_422_naming_the_field(meeting_api: Api) -> None:
    api = meeting_api
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    base = {**ORDER, "account_id": peeters, "accepted_by": "Jan"}
    for field, value in (("pin", "12"), ("months", 37)):
        answer = await api.post(PARTNER, "/meeting-rooms", json={**base, field: value})
        assert answer.status_code == 422, answer.text
        assert answer.json()["details"]["field"] == field


async def test_the_operator_sees_the_gateway_health(meeting_api: Api) -> None:
    answer = await meeting_api.get(OPERATOR, "/meeting-gateway")
    assert answer.status_code == 200, answer.text
    health = answer.json()
    assert health["configured"] is True
    assert health["reachable"] is True
    assert "janus.plugin.videoroom" in health["plugins"]
    assert health["stun_urls"] == ["stun:127.0.0.1:3478"]
    assert (await meeting_api.get(PARTNER, "/meeting-gateway")).status_code == 403


async def join(api: Api, room_id: object, pin: str = "2468") -> httpx.Response:
    return await api.http.post(
        f"http://nuage.test/meet/{room_id}/join", json={"pin": pin, "display": "Visitor"}
    )


@pytest.mark.rule("BIL-6")
@pytest.mark.rule("MTG-1")
async def test_a_visitor_enters_only_a_paid_unlocked_room_with_its_pin(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    unpaid = await join(api, room["id"])
    assert unpaid.status_code == 422, unpaid.text
    assert unpaid.json()["details"]["rule_id"] == "BIL-6"
    pay(api, str(room["invoice_number"]))
    ticket = await join(api, room["id"])  # the first visitor after payment opens the room
    assert ticket.status_code == 200, ticket.text
    assert ticket.json()["janus_url"] == api.platform.settings.janus.url
    assert ticket.json()["ice_servers"] == [{"urls": ["stun:127.0.0.1:3478"]}]
    assert (await api.get(PARTNER, f"/meeting-rooms/{room['id']}")).json()["status"] == "active"
    await api.post(PARTNER, f"/meeting-rooms/{room['id']}/lock", json={"locked": True})
    locked = await join(api, room["id"])
    assert locked.status_code == 422, locked.text
    assert locked.json()["details"]["rule_id"] == "MTG-1"
    await api.post(PARTNER, f"/meeting-rooms/{room['id']}/lock", json={"locked": False})
    again = await join(api, room["id"])
    assert again.status_code == 200, again.text
    assert again.json()["key"] != ticket.json()["key"]  # the key handed out before the lock is gone


async def test_wrong_pins_are_limited_per_address(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    pay(api, str(room["invoice_number"]))
    for _ in range(10):
        wrong = await join(api, room["id"], pin="9999")
        assert wrong.status_code == 422
        assert wrong.json()["details"]["field"] == "pin"
    blocked = await join(api, room["id"])  # even the right PIN, until the window has passed
    assert blocked.status_code == 429
    api.platform.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    assert (await join(api, room["id"])).status_code == 200


async def test_the_join_page_shows_the_partners_brand_and_refuses_other_bodies(meeting_api: Api) -> None:
    api = meeting_api
    room = await order_room(api)
    page = await api.http.get(f"http://nuage.test/meet/{room['id']}")
    assert page.status_code == 200
    assert "BruVoice" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert (
        f"connect-src 'self' http://127.0.0.1:{api.platform.settings.janus.url.split(':')[2].split('/')[0]}"
        in policy
    )  # type: ignore[union-attr]
    assert (await api.http.get("http://nuage.test/meet/meet_nothere")).status_code == 404
    form = await api.http.post(
        f"http://nuage.test/meet/{room['id']}/join", data={"pin": "2468", "display": "x"}
    )
    assert form.status_code == 422
    assert form.json()["details"]["field"] == "content-type"
