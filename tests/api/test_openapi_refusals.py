"""API-1: the OpenAPI description documents the 422 a rule of the terms gives on each operation it
refuses, and a real refusal's rule is one of those documented for its operation (issue #21)."""

from __future__ import annotations

from typing import Any

import pytest

from api.support import Api, openapi_description
from sound_samples import tone_file

ADMIN = "demo-dupont"


async def _unprocessable(api: Api, method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = (await openapi_description(api))["paths"][path][method]["responses"]["422"]
    return found


def _documented_rules(response: dict[str, Any]) -> set[str]:
    examples = response["content"]["application/json"]["examples"]
    return {e["value"]["details"]["rule_id"] for e in examples.values() if "rule_id" in e["value"]["details"]}


@pytest.mark.rule("API-1")
@pytest.mark.parametrize(
    ("method", "path", "rules"),
    [
        ("post", "/devices", {"CFG-2", "CFG-5", "SIP-5"}),
        ("patch", "/devices/{id}", {"CFG-2", "CFG-5", "SIP-5"}),
        ("post", "/trunks", {"CFG-5", "SIP-5"}),
        ("patch", "/users/{id}", {"CFG-2", "EMG-4"}),
        ("post", "/sound-files", {"CFG-12"}),
        ("put", "/customers/{id}/recording", {"CFG-9"}),
        ("put", "/customers/{id}/partner", {"PAY-4"}),
        ("post", "/hot-desk-sessions", {"CFG-13", "CFG-2"}),
        ("post", "/emergency-numbers", {"EMG-4"}),
        ("put", "/users/{id}/hot-desk-pin", {"CFG-2"}),
        ("post", "/rooms", set()),
    ],
)
async def test_the_422_of_an_operation_names_the_rules_that_may_refuse_it(
    api: Api, method: str, path: str, rules: set[str]
) -> None:
    response = await _unprocessable(api, method, path)
    assert _documented_rules(response) == rules
    assert response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
    assert "invalid-input" in response["content"]["application/json"]["examples"]
    for rule_id in rules:
        assert rule_id in response["description"]


@pytest.mark.rule("API-1")
async def test_real_refusals_cite_a_rule_their_operation_documents(api: Api) -> None:
    lift = await api.post(ADMIN, "/devices", json={"kind": "desk_phone", "label": "Lift", "purpose": "lift"})
    audio = {"content": tone_file(440, 1), "headers": {"content-type": "audio/wav"}}
    no_ack = await api.post(ADMIN, "/sound-files?name=Hold%20music", **audio)
    for answer, method, path in ((lift, "post", "/devices"), (no_ack, "post", "/sound-files")):
        assert answer.status_code == 422
        assert answer.json()["error_id"] == "term-violation"
        assert answer.json()["details"]["rule_id"] in _documented_rules(
            await _unprocessable(api, method, path)
        )
