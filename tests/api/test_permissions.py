"""Who may do what: operator staff, partner and customer administrators, supervisors, users (API-1)."""

from __future__ import annotations

import pytest

from api.support import Api
from nuage.tenancy.model import PartyKind


@pytest.mark.rule("API-1")
async def test_a_supervisor_reads_and_reports_but_does_not_write(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    who = "chloe@dupont.example"
    assert (await api.get(who, "/users")).status_code == 200
    assert (await api.get(who, f"/customers/{account}/declaration-audit")).status_code == 200
    refused = await api.post(who, "/rooms", json={"name": "Lab", "use": "non_users"})
    assert refused.status_code == 403
    assert refused.json() == {
        "error_id": "forbidden",
        "message": "This needs the permission directory.rooms.create",
        "details": {"permission": "directory.rooms.create"},
    }


@pytest.mark.rule("API-1")
async def test_a_user_sees_and_changes_only_themself(api: Api) -> None:
    who = "bob@dupont.example"
    me = (await api.get(who, "/me")).json()
    assert (await api.get(who, f"/users/{me['subject']}")).status_code == 200
    renamed = await api.patch(who, f"/users/{me['subject']}", json={"name": "Bobby Martin"})
    assert renamed.status_code == 200
    promoted = await api.patch(who, f"/users/{me['subject']}", json={"role": "administrator"})
    assert promoted.status_code == 403
    assert (
        await api.put(who, f"/users/{me['subject']}/password", json={"password": "Bobs-New-Pass-1"})
    ).status_code == 204
    assert (await api.get(who, "/me")).status_code == 401  # a new password ends the user's tokens
    form = {"grant_type": "password", "username": who, "password": "Bobs-New-Pass-1"}
    api.tokens[who] = (await api.http.post("/oauth/token", data=form)).json()["access_token"]
    others = (await api.get("demo-dupont", "/users?role=administrator")).json()["items"]
    assert (
        await api.get(who, f"/users/{others[0]['id']}")
    ).status_code == 403  # same tenant: visible, not allowed
    assert (await api.get(who, "/users")).status_code == 403
    assert (await api.get(who, "/devices")).status_code == 403


@pytest.mark.rule("API-1")
@pytest.mark.parametrize(
    ("who", "method", "path", "body", "permission"),
    [
        ("pierre@bruvoice.example", "POST", "/partners", {"name": "Rival"}, "tenancy.partners.create"),
        ("demo-dupont", "POST", "/customers", {"name": "Sub"}, "tenancy.customers.create"),
        ("demo-dupont", "GET", "/carrier-trunks", None, "directory.carrier-trunks.read"),
        ("demo-bruvoice", "GET", "/api-usage", None, "access.api-usage.read"),
        (
            "demo-dupont",
            "POST",
            "/web-channels",
            {"account_id": "x", "name": "W", "channels": 1},
            "directory.web-channels.create",
        ),
    ],
)
async def test_operator_and_partner_only_operations_are_403_for_others(
    api: Api, who: str, method: str, path: str, body: object, permission: str
) -> None:
    answer = await api.http.request(method, path, json=body, headers=await api.headers(who))
    assert answer.status_code == 403
    assert answer.json()["details"]["permission"] == permission


@pytest.mark.rule("API-2")
async def test_only_the_operator_changes_limits(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    own = await api.get("demo-dupont", f"/api-limits/{account}")
    assert own.json() | {"updated_at": None} == {
        "account_id": account,
        "max_reads": 10,
        "max_writes": 1,
        "updated_at": None,
    }
    refused = await api.put("demo-dupont", f"/api-limits/{account}", json={"max_reads": 50, "max_writes": 5})
    assert refused.status_code == 403
    changed = await api.put(
        "demo-operator", f"/api-limits/{account}", json={"max_reads": 20, "max_writes": 2}
    )
    assert changed.status_code == 200
    assert (await api.get("demo-dupont", f"/api-limits/{account}")).json()["max_reads"] == 20
    assert api.runtime.state.limits_for(account) == (20, 2)


@pytest.mark.rule("API-3")
async def test_operator_sees_requests_errors_and_refusals_per_client(api: Api) -> None:
    await api.get("demo-dupont", "/users")
    await api.get("demo-dupont", "/users/none_0")
    usage = (await api.get("demo-operator", "/api-usage?client_id=demo-dupont&total=true")).json()
    assert usage["total"] == 1
    row = usage["items"][0]
    assert row["account_id"] == api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    assert (row["requests"], row["errors"], row["refusals"]) == (2, 1, 0)
