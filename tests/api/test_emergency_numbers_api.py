"""EMG-4 through the API: ``/emergency-numbers`` is read by everyone and edited by the operator only."""

from __future__ import annotations

import pytest

from api.support import Api, openapi_description

OPERATOR = "demo-operator"


@pytest.mark.rule("EMG-4")
async def test_the_operator_adds_a_short_number_everyone_reads_and_removes_it(api: Api) -> None:
    created = await api.post(
        OPERATOR, "/emergency-numbers", json={"number": "1733", "label": "Doctor on duty"}
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    assert created.json() == {
        "number": "1733",
        "label": "Doctor on duty",
        "built_in": False,
        "created_at": "2026-03-10T08:30:00Z",
    }
    # public knowledge: a plain user, a customer's and a partner's administrators all read the list
    for who in ("bob@dupont.example", "demo-peeters", "marie@meuse-connect.example", "chloe@dupont.example"):
        page = await api.get(who, "/emergency-numbers?total=true")
        assert page.status_code == 200, (who, page.text)
        assert [(n["number"], n["built_in"]) for n in page.json()["items"]] == [
            ("112", True),
            ("100", True),
            ("101", True),
            ("1733", False),
        ]
        assert page.json()["total"] == 4
    one = await api.get("bob@dupont.example", "/emergency-numbers/101")
    assert one.json() == {"number": "101", "label": "Police", "built_in": True, "created_at": None}
    added = await api.get("demo-dupont", "/emergency-numbers?built_in=false")
    assert [n["number"] for n in added.json()["items"]] == ["1733"]
    by_label = await api.get("demo-dupont", "/emergency-numbers?order=label&direction=desc&limit=2")
    assert [n["label"] for n in by_label.json()["items"]] == ["Police", "European emergency number"]
    assert (await api.delete(OPERATOR, "/emergency-numbers/1733")).status_code == 204
    gone = await api.get(OPERATOR, "/emergency-numbers/1733")
    assert gone.status_code == 404
    assert gone.json()["error_id"] == "not-found"


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize(
    "who", ["demo-dupont", "alice@dupont.example", "pierre@bruvoice.example", "demo-bruvoice"]
)
async def test_only_the_operator_edits_the_emergency_numbers(api: Api, who: str) -> None:
    refused = await api.post(who, "/emergency-numbers", json={"number": "1733", "label": "Doctor on duty"})
    assert refused.status_code == 403
    assert refused.json()["details"]["permission"] == "directory.emergency-numbers.create"
    await api.post(OPERATOR, "/emergency-numbers", json={"number": "1733", "label": "Doctor on duty"})
    kept = await api.delete(who, "/emergency-numbers/1733")
    assert kept.status_code == 403
    assert kept.json()["details"]["permission"] == "directory.emergency-numbers.delete"
    assert (await api.get(who, "/emergency-numbers/1733")).status_code == 200


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("number", ["112", "100", "101"])
async def test_the_built_in_numbers_are_refused_citing_emg_4(api: Api, number: str) -> None:
    for answer in (
        await api.post(OPERATOR, "/emergency-numbers", json={"number": number, "label": "Again"}),
        await api.delete(OPERATOR, f"/emergency-numbers/{number}"),
    ):
        assert answer.status_code == 422
        assert answer.json()["error_id"] == "term-violation"
        assert answer.json()["details"]["rule_id"] == "EMG-4"
        assert "built-in emergency number" in answer.json()["message"]
    assert (await api.get(OPERATOR, f"/emergency-numbers/{number}")).json()["built_in"] is True


@pytest.mark.rule("EMG-4")
async def test_extensions_and_emergency_numbers_never_shadow_each_other(api: Api) -> None:
    taken = await api.post("demo-dupont", "/users", json={"name": "Sam Short", "extension": "1813"})
    assert taken.status_code == 201
    shadowing = await api.post(OPERATOR, "/emergency-numbers", json={"number": "1813", "label": "Short"})
    assert shadowing.status_code == 422
    assert shadowing.json()["details"]["rule_id"] == "EMG-4"
    assert "1813 is the extension of Sam Short (Atelier Dupont)" in shadowing.json()["message"]
    await api.post(OPERATOR, "/emergency-numbers", json={"number": "1733", "label": "Doctor on duty"})
    user = await api.post("demo-dupont", "/users", json={"name": "Dana Desk", "extension": "1733"})
    assert user.status_code == 422
    assert user.json()["details"] == {
        "rule_id": "EMG-4",
        "field": "extension",
    }
    again = await api.post(OPERATOR, "/emergency-numbers", json={"number": "1733", "label": "Twice"})
    assert again.status_code == 409
    malformed = await api.post(OPERATOR, "/emergency-numbers", json={"number": "17a3", "label": "Bad"})
    assert malformed.status_code == 422
    assert malformed.json()["details"]["field"] == "number"


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("number", ["0475123456", "3224001111", "99", "1234567"])
async def test_only_short_service_numbers_can_be_emergency_numbers(api: Api, number: str) -> None:
    answer = await api.post(OPERATOR, "/emergency-numbers", json={"number": number, "label": "Not short"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_id"] == "invalid-input"
    assert body["details"] == {"field": "number", "rule_id": "EMG-4"}
    assert "not a short service number" in body["message"]
    assert (await api.get(OPERATOR, f"/emergency-numbers/{number}")).status_code == 404


@pytest.mark.rule("EMG-4")
async def test_the_openapi_description_cites_the_rule(api: Api) -> None:
    paths = (await openapi_description(api))["paths"]
    assert set(paths["/emergency-numbers"]) == {"get", "post"}
    assert set(paths["/emergency-numbers/{number}"]) == {"get", "delete"}
    assert "EMG-4" in paths["/emergency-numbers"]["post"]["description"]
    assert paths["/emergency-numbers"]["post"]["x-permission"] == "directory.emergency-numbers.create"
