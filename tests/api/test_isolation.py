"""TEN-4: an object of another tenant is answered exactly like one that does not exist, everywhere."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.support import Api
from api.tenants import RESOURCES, Operation, operations, seed_peeters

# Outsiders to Bakkerij Peeters: a direct customer (client and administrator), a customer of
# another partner, and that other partner.
OUTSIDERS = ("demo-dupont", "alice@dupont.example", "marc@lemaire.example", "marie@meuse-connect.example")
MISSING = "zzz_0000000000000000"


async def _send(api: Api, who: str, op: Operation, key: str) -> httpx.Response:
    path = op.path.replace("{id}", key)
    return await api.http.request(op.method, path, json=op.json, headers=await api.headers(who))


def _same_as_missing(theirs: httpx.Response, missing: httpx.Response, key: str) -> bool:
    """Status, body (with the id put in) and content type are identical."""
    return (
        theirs.status_code == missing.status_code
        and theirs.text == missing.text.replace(MISSING, key)
        and theirs.headers.get("content-type") == missing.headers.get("content-type")
    )


@pytest.mark.rule("TEN-4")
@pytest.mark.parametrize("resource", RESOURCES)
async def test_another_tenants_object_is_answered_like_a_missing_one(api: Api, resource: str) -> None:
    ids = await seed_peeters(api)
    foreign = ids[resource]
    for who in OUTSIDERS:
        for op in operations(resource):
            theirs = await _send(api, who, op, foreign)
            missing = await _send(api, who, op, MISSING)
            assert theirs.status_code == 404, (who, op, theirs.text)
            assert _same_as_missing(theirs, missing, foreign), (who, op)
    # and nothing was changed or removed: the owner's partner still sees every object
    for op in operations(resource)[:1]:
        seen = await _send(api, "demo-operator", op, foreign)
        assert seen.status_code == 200, (resource, seen.text)


@pytest.mark.rule("TEN-4")
async def test_lists_show_only_the_callers_tenancy(api: Api) -> None:
    ids = await seed_peeters(api)
    for resource in (
        "users",
        "devices",
        "rooms",
        "numbers",
        "trunks",
        "sound-files",
        "api-clients",
        "orders",
    ):
        for who in OUTSIDERS:
            page = (await api.get(who, f"/{resource}?limit=500")).json()
            assert ids[resource] not in {item["id"] for item in page["items"]}, (who, resource)
        filtered = await api.get(
            "demo-dupont",
            f"/{resource}?{'customer_id' if resource == 'orders' else 'account_id'}={ids['customers']}",
        )
        assert filtered.json() == {"items": [], "limit": 50, "next": None}


@pytest.mark.rule("TEN-4")
async def test_a_partner_sees_its_own_customers_and_no_others(api: Api) -> None:
    pierre = (await api.get("pierre@bruvoice.example", "/customers")).json()
    assert [c["name"] for c in pierre["items"]] == ["Bakkerij Peeters"]
    marie = (await api.get("marie@meuse-connect.example", "/customers")).json()
    assert [c["name"] for c in marie["items"]] == ["Cabinet Lemaire"]
    partners = (await api.get("demo-bruvoice", "/partners")).json()
    assert [p["name"] for p in partners["items"]] == ["Brussels Voice Partners"]
    everyone = (await api.get("demo-operator", "/customers?total=true")).json()
    assert everyone["total"] == 3


@pytest.mark.rule("TEN-4")
async def test_the_partner_of_a_customer_reaches_its_objects(api: Api) -> None:
    ids = await seed_peeters(api)
    for resource in ("users", "devices", "numbers", "trunks", "orders", "customers"):
        answer = await api.get("pierre@bruvoice.example", f"/{resource}/{ids[resource]}")
        assert answer.status_code == 200, resource


@pytest.mark.rule("TEN-4")
async def test_creating_in_another_tenant_is_answered_like_a_missing_account(api: Api) -> None:
    ids = await seed_peeters(api)
    for path, body in (
        ("/users", {"name": "Intruder"}),
        ("/devices", {"kind": "door_phone", "label": "Intruder"}),
        ("/rooms", {"name": "Intruder", "use": "users"}),
        ("/conference-rooms", {"name": "Intruder"}),
        ("/api-clients", {"name": "Intruder"}),
    ):
        theirs = await api.post("demo-dupont", path, json={**body, "account_id": ids["customers"]})
        missing = await api.post("demo-dupont", path, json={**body, "account_id": MISSING})
        assert theirs.status_code == 404, (path, theirs.text)
        assert _same_as_missing(theirs, missing, ids["customers"])


@pytest.mark.rule("TEN-4")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_ids_never_reveal_another_tenants_objects(api: Api, data: st.DataObject) -> None:
    """Property: for any resource, operation and id (real foreign ids or random text), an outsider gets
    404 and exactly the body of a missing object."""
    if not hasattr(api, "_peeters"):
        api._peeters = await seed_peeters(api)  # type: ignore[attr-defined]
    ids: dict[str, str] = api._peeters  # type: ignore[attr-defined]
    resource = data.draw(st.sampled_from(RESOURCES))
    op = data.draw(st.sampled_from(operations(resource)))
    who = data.draw(st.sampled_from(OUTSIDERS))
    key = data.draw(
        st.one_of(
            st.sampled_from(sorted(ids.values())),
            st.from_regex(r"\A[a-z]{2,4}_[0-9a-f]{16}\Z"),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40),
        )
    )
    theirs = await _send(api, who, op, key)
    missing = await _send(api, who, op, MISSING)
    if theirs.status_code == 404:
        assert _same_as_missing(theirs, missing, key)
    else:
        # only the caller's own objects may answer otherwise: never an id of Bakkerij Peeters
        assert key not in ids.values(), (who, op, key, theirs.status_code)
