"""What ends a token before its expiry, and what is never a token (issue #21): revocation (RFC 7009),
a new password, a demotion; non-ASCII credentials; expiry on the platform clock."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from api.support import PASSWORDS, Api
from nuage.api.tokens import TokenSigner
from nuage.directory.passwords import check_password
from nuage.errors import InvalidInput
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app

ALICE = "alice@dupont.example"
BOB = "bob@dupont.example"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer v1.été.x".encode(),
        "Bearer tökén".encode(),
        b"Bearer \xff\xfe\xfd",
        "Bearer v1.eyJzdWIiOiJ4In0.sïgnature".encode(),
    ],
)
async def test_a_non_ascii_bearer_token_is_401_not_500(api: Api, header: bytes) -> None:
    answer = await api.http.get("/users", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json()["error_id"] == "unauthenticated"


def test_a_non_ascii_token_is_simply_not_a_token() -> None:
    assert TokenSigner("key").verify("v1.été.sig", 0) is None


async def test_non_ascii_basic_credentials_are_invalid_client(api: Api) -> None:
    for value in (
        "Basic ÿÿÿÿ".encode("latin-1"),
        b"Basic " + base64.b64encode("dému:sécret".encode("latin-1")),
    ):
        answer = await api.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": value}
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"


async def test_a_token_expires_on_the_platform_clock(api: Api, clock: FrozenClock) -> None:
    headers = await api.headers("demo-dupont")
    assert (await api.http.get("/me", headers=headers)).status_code == 200
    clock.advance(timedelta(seconds=api.runtime.settings.token_ttl_s))
    assert (await api.http.get("/me", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1234567890", "common"),
        ("Password123", "common"),
        ("qwertyuiop12", "keyboard pattern"),
        (ALICE, "own e-mail"),
        ("Alice Dupont!!", "own name"),
        ("short-1", "too short"),
    ],
)
async def test_weak_passwords_are_refused_with_the_reason(api: Api, password: str, why: str) -> None:
    me = (await api.get(ALICE, "/me")).json()
    answer = await api.put(ALICE, f"/users/{me['subject']}/password", json={"password": password})
    assert answer.status_code == 422, why
    assert answer.json()["error_id"] == "invalid-input"
    assert answer.json()["details"]["field"] == "password"
    assert (await api.get(ALICE, "/me")).status_code == 200  # nothing changed


def test_the_policy_scores_patterns_and_personal_details() -> None:
    for weak in ("Password123", "aaaaaaaaaaaaaaa", "alice@dupont.example", "iloveyou2020", "dupont"):
        with pytest.raises(InvalidInput):
            check_password(weak, email="alice@dupont.example", name="Alice Dupont")
    for strong in ("correct horse battery staple", "Alice-Portal-2026", "vN7#qL2!pR9z"):
        check_password(strong, email="alice@dupont.example", name="Alice Dupont")
    with pytest.raises(InvalidInput):
        check_password("x" * 201)
    with pytest.raises(InvalidInput):
        check_password("tab\tinside-a-passw0rd")


async def test_a_new_password_ends_the_users_existing_tokens_at_once(api: Api) -> None:
    old = await api.headers(BOB)
    me = (await api.http.get("/me", headers=old)).json()
    changed = await api.http.put(
        f"/users/{me['subject']}/password", headers=old, json={"password": "Bobs-Fresh-Secret-77"}
    )
    assert changed.status_code == 204
    assert (await api.http.get("/me", headers=old)).status_code == 401  # no refresh needed
    form = {"grant_type": "password", "username": BOB, "password": "Bobs-Fresh-Secret-77"}
    fresh = (await api.http.post("/oauth/token", data=form)).json()["access_token"]
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {fresh}"})).status_code == 200
    stale = {"grant_type": "password", "username": BOB, "password": PASSWORDS[BOB]}
    assert (await api.http.post("/oauth/token", data=stale)).status_code == 400


async def test_a_password_set_on_another_node_ends_tokens_here_at_the_next_refresh(api: Api) -> None:
    from nuage.services import access as a
    from nuage.services.context import Context

    headers = await api.headers(BOB)
    me = (await api.http.get("/me", headers=headers)).json()
    with api.platform.uow() as uow:  # as another web node would
        operator = uow.parties.find_by(kind="operator")
        assert operator is not None
        a.set_password(
            uow, Context.operator(operator.id, api.platform.clock), me["subject"], "Set-Elsewhere-4821"
        )
        uow.commit()
    api.runtime.state.reload()  # what the periodic refresh does
    assert (await api.http.get("/me", headers=headers)).status_code == 401


async def test_a_demoted_administrator_loses_the_rights_at_once(api: Api) -> None:
    alice = await api.headers(ALICE)
    me = (await api.http.get("/me", headers=alice)).json()
    assert me["role"] == "administrator"
    assert (await api.http.get("/devices", headers=alice)).status_code == 200
    demoted = await api.patch("demo-dupont", f"/users/{me['subject']}", json={"role": "supervisor"})
    assert demoted.status_code == 200
    refused = await api.http.post("/rooms", headers=alice, json={"name": "Still an admin?"})
    assert refused.status_code == 401  # the very next request: no refresh in between
    form = {"grant_type": "password", "username": ALICE, "password": PASSWORDS[ALICE]}
    token = (await api.http.post("/oauth/token", data=form)).json()["access_token"]
    again = await api.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert again.json()["role"] == "supervisor"


async def test_a_revoked_token_stops_at_once_and_other_tokens_go_on(api: Api) -> None:
    first = await api.token(BOB)
    form = {"grant_type": "password", "username": BOB, "password": PASSWORDS[BOB]}
    second = (await api.http.post("/oauth/token", data=form)).json()["access_token"]
    revoked = await api.http.post("/oauth/revoke", data={"token": first, "token_type_hint": "access_token"})
    assert revoked.status_code == 200
    assert revoked.headers["cache-control"] == "no-store"
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {first}"})).status_code == 401
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {second}"})).status_code == 200
    api.runtime.state.reload()  # still revoked once this node re-reads the database
    assert (await api.http.get("/me", headers={"Authorization": f"Bearer {first}"})).status_code == 401
    again = await api.http.post("/oauth/revoke", data={"token": first})
    assert again.status_code == 200  # RFC 7009 §2.2: revoking twice is no error


async def test_a_token_revoked_on_one_node_is_refused_by_the_others(api: Api) -> None:
    token = await api.token("demo-dupont")
    other = create_app(api.platform)  # a second web node on the same database
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://nuage.test/api/v1"
    ) as node:
        headers = {"Authorization": f"Bearer {token}"}
        assert (await node.get("/me", headers=headers)).status_code == 200
        assert (await api.http.post("/oauth/revoke", data={"token": token})).status_code == 200
        mounted = next(r for r in other.routes if getattr(r, "path", "") == "/api/v1")
        mounted.app.app.state.api.state.reload()  # the other node's periodic refresh
        assert (await node.get("/me", headers=headers)).status_code == 401


@pytest.mark.parametrize("token", ["nonsense", "v1.e30.AAAA", "ünïcode"])
async def test_revoking_what_is_not_a_valid_token_is_answered_200(api: Api, token: str) -> None:
    assert (await api.http.post("/oauth/revoke", data={"token": token})).status_code == 200


async def test_revocation_wants_a_token_in_a_form(api: Api) -> None:
    assert (await api.http.post("/oauth/revoke", data={})).json()["error"] == "invalid_request"
    assert (await api.http.post("/oauth/revoke", json={"token": "x"})).status_code == 400
