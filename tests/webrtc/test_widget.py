"""The click-to-call widget's web side (CFG-10): only from its allowed origin, short-lived single-use
tokens, rate limits per address and per visitor, and a signed single-use ticket naming the destination
its administrator configured (the calls themselves, and "all lines busy", are test_widget_calls)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.support import Api
from nuage.bootstrap import Platform
from nuage.directory.widget_tickets import WidgetTickets, ticket_key
from nuage.errors import InvalidInput
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

SHOP = "https://shop.dupont.example"
OPERATOR, DUPONT = "demo-operator", "demo-dupont"


async def make_widget(api: Api, channels: int = 2, *, origin: str | None = SHOP) -> tuple[str, str]:
    dupont = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    [number, *_] = (await api.get(DUPONT, "/numbers", params={"account_id": dupont})).json()["items"]
    body = {"account_id": dupont, "name": "Shop", "channels": channels, "target_number_id": number["id"]}
    if origin:
        body["allowed_origin"] = origin
    made = await api.post(OPERATOR, "/web-channels", json=body)
    assert made.status_code == 201, made.text
    return made.json()["id"], number["e164"]


async def ask(
    api: Api, widget: str, action: str, body: dict[str, str], origin: str | None = SHOP
) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    return await api.http.post(f"http://nuage.test/widget/{widget}/{action}", json=body, headers=headers)


async def call(api: Api, widget: str, visitor: str) -> httpx.Response:
    token = await ask(api, widget, "token", {"visitor": visitor})
    assert token.status_code == 200, token.text
    assert token.headers["access-control-allow-origin"] == SHOP
    return await ask(api, widget, "call", {"token": token.json()["token"]})


@pytest.fixture(autouse=True)
def sip_proxy(meeting_platform: Platform) -> None:
    """Where the gateway sends widget calls (no call is placed here: only tickets are checked)."""
    meeting_platform.settings.janus.sip_proxy = "sip:sip.nuage.test"


@pytest.mark.rule("CFG-10")
async def test_a_call_gets_a_ticket_for_the_configured_destination_only(meeting_api: Api) -> None:
    api = meeting_api
    widget, e164 = await make_widget(api, channels=2)
    answer = await call(api, widget, "v1")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["destination"] == e164  # the configured destination, never the visitor's
    assert found["header"] == "X-Nuage-Widget"
    assert found["sip"]["uri"] == "sip:web@sip.nuage.test"
    tickets = WidgetTickets(ticket_key(api.platform.secret_key()), api.platform.clock)
    ticket = tickets.redeem(found["ticket"])  # what the SIP plane reads: signed with the shared key
    assert (ticket.widget_id, ticket.destination, ticket.channels) == (widget, e164, 2)
    token = (await ask(api, widget, "token", {"visitor": "v2"})).json()["token"]
    chosen = await ask(api, widget, "call", {"token": token, "destination": "+3290000000"})
    assert chosen.status_code == 422  # a visitor cannot name a number


@pytest.mark.rule("CFG-10")
def test_a_ticket_cannot_be_forged_altered_replayed_or_used_late() -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    tickets = WidgetTickets(ticket_key("the platform's key"), clock)
    issued = tickets.issue("web-1", "acc-1", "+3223000101", 2)
    body, _, signature = issued.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["d"] = "+3290000000"
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    foreign = WidgetTickets(ticket_key("another platform"), clock).issue("web-1", "acc-1", "+3223000101", 2)
    for bad in (f"{altered}.{signature}", foreign, "", "x.y", issued[:-1]):
        with pytest.raises(InvalidInput) as refused:
            tickets.redeem(bad)
        assert refused.value.details["rule_id"] == "CFG-10"
    assert tickets.redeem(issued).destination == "+3223000101"
    with pytest.raises(InvalidInput):
        tickets.redeem(issued)  # once
    late = tickets.issue("web-1", "acc-1", "+3223000101", 2)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(InvalidInput):
        tickets.redeem(late)


@pytest.mark.rule("CFG-10")
async def test_only_the_allowed_origin_gets_an_answer(meeting_api: Api) -> None:
    api = meeting_api
    widget, _ = await make_widget(api)
    for origin in (
        None,
        "https://evil.example",
        "http://shop.dupont.example",
        "https://shop.dupont.example:8443",
    ):
        refused = await ask(api, widget, "token", {"visitor": "v1"}, origin=origin)
        assert refused.status_code == 404, origin
        assert "access-control-allow-origin" not in refused.headers
    preflight = await api.http.options(f"http://nuage.test/widget/{widget}/token", headers={"Origin": SHOP})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    unset, _ = await make_widget(api, origin=None)
    assert (await ask(api, unset, "token", {"visitor": "v1"})).status_code == 404  # no origin: nobody


@pytest.mark.rule("CFG-10")
async def test_tokens_are_short_lived_and_used_once(meeting_api: Api) -> None:
    api = meeting_api
    widget, _ = await make_widget(api, channels=5)
    token = (await ask(api, widget, "token", {"visitor": "v1"})).json()["token"]
    assert (await ask(api, widget, "call", {"token": token})).status_code == 200
    again = await ask(api, widget, "call", {"token": token})
    assert again.status_code == 422
    assert again.json()["details"]["field"] == "token"
    late = (await ask(api, widget, "token", {"visitor": "v2"})).json()["token"]
    api.platform.clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
    assert (await ask(api, widget, "call", {"token": late})).status_code == 422
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert (await ask(api, widget, "call", {"token": forged})).status_code == 422
    other, _ = await make_widget(api)
    fresh = (await ask(api, widget, "token", {"visitor": "v3"})).json()["token"]
    assert (await ask(api, other, "call", {"token": fresh})).status_code == 422  # another widget's token


async def test_a_visitor_and_an_address_are_rate_limited(meeting_api: Api) -> None:
    api = meeting_api
    widget, _ = await make_widget(api, channels=50)
    for _ in range(5):
        assert (await ask(api, widget, "token", {"visitor": "same"})).status_code == 200
    limited = await ask(api, widget, "token", {"visitor": "same"})
    assert limited.status_code == 429
    assert limited.json()["error_id"] == "too-many-calls"
    for index in range(15):  # the address's other 15 tokens
        assert (await ask(api, widget, "token", {"visitor": f"v{index}"})).status_code == 200
    assert (await ask(api, widget, "token", {"visitor": "fresh"})).status_code == 429
    api.platform.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    assert (await ask(api, widget, "token", {"visitor": "same"})).status_code == 200


async def test_bad_bodies_are_422_naming_the_field(meeting_api: Api) -> None:
    api = meeting_api
    widget, _ = await make_widget(api)
    bad = await ask(api, widget, "token", {"visitor": "<script>"})
    assert bad.status_code == 422
    assert bad.json()["details"]["field"] == "visitor"
    form = await api.http.post(
        f"http://nuage.test/widget/{widget}/token", data={"visitor": "x"}, headers={"Origin": SHOP}
    )
    assert form.status_code == 422
    assert form.json()["details"]["field"] == "content-type"
    loader = await api.http.get("http://nuage.test/widget/loader.js")
    assert loader.status_code == 200
    assert loader.headers["content-type"].startswith("text/javascript")
