"""The click-to-call widget (CFG-10): only from its allowed origin, short-lived single-use tokens,
rate limits per address and per visitor, the destination its administrator configured, and never
more calls at once than its channels ("all lines busy")."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from api.support import Api
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


@pytest.mark.rule("CFG-10")
async def test_calls_beyond_the_widgets_channels_are_refused_all_lines_busy(meeting_api: Api) -> None:
    api = meeting_api
    widget, e164 = await make_widget(api, channels=2)
    first, second = await call(api, widget, "v1"), await call(api, widget, "v2")
    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["destination"] == e164  # the configured destination, never the visitor's
    busy = await call(api, widget, "v3")
    assert busy.status_code == 422, busy.text
    assert busy.json()["details"]["rule_id"] == "CFG-10"
    assert "All lines busy" in busy.json()["message"]
    freed = await ask(api, widget, "hangup", {"line_id": first.json()["line_id"]})
    assert freed.status_code == 204, freed.text
    assert (await call(api, widget, "v3")).status_code == 200
    assert (await call(api, widget, "v4")).status_code == 422
    api.platform.clock.advance(timedelta(hours=3))  # type: ignore[attr-defined]  # lost hang-ups: leases end
    assert (await call(api, widget, "v4")).status_code == 200


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
