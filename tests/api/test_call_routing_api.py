"""Call forwarding (``/users/{id}/forwarding``) and ring groups (``/ring-groups``), issue #15, through
the API on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from api.support import Api
from api.test_postgres import pg_api, pg_platform  # noqa: F401  (the PostgreSQL variant's fixtures)

ADMIN = "demo-dupont"


@pytest.fixture(params=["sqlite", "postgresql"])
def routing_api(request: pytest.FixtureRequest) -> Api:
    """The demo's API on SQLite (``api``) or on PostgreSQL (``pg_api``)."""
    found: Api = request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")
    return found


async def _user(api: Api, extension: str, who: str = ADMIN) -> str:
    page = await api.get(who, f"/users?extension={extension}")
    return str(page.json()["items"][0]["id"])


async def test_a_user_sets_their_own_forwarding_and_an_administrator_anyones(routing_api: Api) -> None:
    api = routing_api
    bob, alice = await _user(api, "212"), await _user(api, "211")
    shown = await api.get("bob@dupont.example", f"/users/{bob}/forwarding")
    assert shown.status_code == 200
    assert shown.json() | {"updated_at": None} == {
        "user_id": bob,
        "account_id": shown.json()["account_id"],
        "unconditional": None,
        "busy": None,
        "no_answer": None,
        "no_answer_s": 20,
        "unregistered": None,
        "dnd": False,
        "updated_at": None,
    }
    changed = await api.patch(
        "bob@dupont.example",
        f"/users/{bob}/forwarding",
        json={"no_answer": "211", "no_answer_s": 15, "busy": "+32475123456", "dnd": True},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["no_answer"], changed.json()["no_answer_s"], changed.json()["dnd"]) == (
        "211",
        15,
        True,
    )
    cleared = await api.patch(ADMIN, f"/users/{bob}/forwarding", json={"busy": None, "dnd": False})
    assert (cleared.json()["busy"], cleared.json()["no_answer"], cleared.json()["dnd"]) == (
        None,
        "211",
        False,
    )
    assert (
        await api.patch("bob@dupont.example", f"/users/{alice}/forwarding", json={"dnd": True})
    ).status_code == 403
    jan = await _user(api, "221", "demo-peeters")
    assert (await api.get(ADMIN, f"/users/{jan}/forwarding")).status_code == 404  # TEN-4


@pytest.mark.rule("EMG-2")
@pytest.mark.parametrize("field", ["unconditional", "busy", "no_answer", "unregistered"])
async def test_a_forward_to_an_emergency_number_is_refused_citing_emg_2(routing_api: Api, field: str) -> None:
    bob = await _user(routing_api, "212")
    refused = await routing_api.patch(ADMIN, f"/users/{bob}/forwarding", json={field: "112"})
    assert refused.status_code == 422
    assert (refused.json()["error_id"], refused.json()["details"]["rule_id"]) == ("term-violation", "EMG-2")


async def test_bad_forwards_are_refused_naming_the_field(routing_api: Api) -> None:
    bob = await _user(routing_api, "212")
    for body, field in (
        ({"unconditional": "212"}, "unconditional"),  # to oneself
        ({"busy": "sip:x@y"}, "busy"),
        ({"no_answer_s": 2}, "no_answer_s"),
    ):
        refused = await routing_api.patch(ADMIN, f"/users/{bob}/forwarding", json=body)
        assert refused.status_code == 422, body
        assert field in refused.text


@pytest.mark.rule("CFG-2")
async def test_a_no_service_user_has_no_forwarding_to_set(routing_api: Api) -> None:
    page = await routing_api.get(ADMIN, "/users?no_service=true")
    chloe = page.json()["items"][0]["id"]
    refused = await routing_api.patch(ADMIN, f"/users/{chloe}/forwarding", json={"dnd": True})
    assert (refused.status_code, refused.json()["details"]["rule_id"]) == (422, "CFG-2")


async def test_ring_groups_are_created_listed_changed_and_removed(routing_api: Api) -> None:
    api = routing_api
    bob, alice = await _user(api, "212"), await _user(api, "211")
    body = {
        "name": "Accueil",
        "strategy": "sequential",
        "members": [alice, bob],
        "extension": "250",
        "member_timeout_s": 10,
        "timeout_s": 30,
        "fallback": "+3223000100",
    }
    created = await api.post(ADMIN, "/ring-groups", json=body)
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["members"], group["strategy"], group["extension"]) == ([alice, bob], "sequential", "250")
    listed = await api.get(ADMIN, "/ring-groups?extension=250")
    assert [g["id"] for g in listed.json()["items"]] == [group["id"]]
    changed = await api.patch(
        ADMIN, f"/ring-groups/{group['id']}", json={"strategy": "round-robin", "members": [bob]}
    )
    assert (changed.json()["strategy"], changed.json()["members"]) == ("round-robin", [bob])
    # the group's extension is taken for users, and a user's for groups
    clash = await api.patch(ADMIN, f"/users/{bob}", json={"extension": "250"})
    assert clash.status_code == 409
    assert (
        await api.post(ADMIN, "/ring-groups", json={"name": "Other", "extension": "211"})
    ).status_code == 409
    assert (await api.get("demo-peeters", f"/ring-groups/{group['id']}")).status_code == 404  # TEN-4
    assert (await api.delete(ADMIN, f"/ring-groups/{group['id']}")).status_code == 204
    assert (await api.get(ADMIN, f"/ring-groups/{group['id']}")).status_code == 404


@pytest.mark.rule("EMG-2")
@pytest.mark.rule("EMG-4")
async def test_a_group_never_falls_back_to_nor_shadows_an_emergency_number(routing_api: Api) -> None:
    fallback = await routing_api.post(ADMIN, "/ring-groups", json={"name": "G", "fallback": "112"})
    assert (fallback.status_code, fallback.json()["details"]["rule_id"]) == (422, "EMG-2")
    extension = await routing_api.post(ADMIN, "/ring-groups", json={"name": "G", "extension": "112"})
    assert (extension.status_code, extension.json()["details"]["rule_id"]) == (422, "EMG-4")


async def test_members_are_users_of_the_groups_account(routing_api: Api) -> None:
    jan = await _user(routing_api, "221", "demo-peeters")
    refused = await routing_api.post(ADMIN, "/ring-groups", json={"name": "G", "members": [jan]})
    assert (refused.status_code, refused.json()["details"]["field"]) == (422, "members")


async def test_a_removed_user_leaves_their_groups_and_forwarding(routing_api: Api) -> None:
    api = routing_api
    bob, alice = await _user(api, "212"), await _user(api, "211")
    group = (await api.post(ADMIN, "/ring-groups", json={"name": "G", "members": [alice, bob]})).json()
    assert (await api.patch(ADMIN, f"/users/{bob}/forwarding", json={"dnd": True})).status_code == 200
    removed = await api.delete(ADMIN, f"/users/{bob}")
    assert removed.status_code == 204, removed.text
    assert (await api.get(ADMIN, f"/ring-groups/{group['id']}")).json()["members"] == [alice]


async def test_a_number_rings_a_ring_group_until_the_group_is_removed(routing_api: Api) -> None:
    api = routing_api
    group = (await api.post(ADMIN, "/ring-groups", json={"name": "Sales"})).json()
    number = (await api.post(ADMIN, "/numbers", json={"e164": "+3223000150"})).json()
    assigned = await api.put(
        ADMIN, f"/numbers/{number['id']}/assignment", json={"ring_group_id": group["id"]}
    )
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["ring_group_id"], assigned.json()["user_id"]) == (group["id"], None)
    bob = await _user(api, "212")
    both = await api.put(
        ADMIN, f"/numbers/{number['id']}/assignment", json={"ring_group_id": group["id"], "user_id": bob}
    )
    assert both.status_code == 422
    assert (await api.delete(ADMIN, f"/ring-groups/{group['id']}")).status_code == 204
    assert (await api.get(ADMIN, f"/numbers/{number['id']}")).json()["ring_group_id"] is None
