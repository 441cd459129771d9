"""API-1, API-3, API-4: developer credentials, portal logins, bearer tokens, suspension and revocation."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from api.support import SECRETS, Api
from nuage.storage.sql.api_tables import api_clients


@pytest.mark.rule("API-1")
async def test_client_credentials_give_a_short_lived_bearer_token_that_no_cache_keeps(api: Api) -> None:
    answer = await api.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-dupont",
            "client_secret": SECRETS["demo-dupont"],
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    assert answer.headers["cache-control"] == "no-store"
    me = await api.http.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["subject"] == "demo-dupont"
    assert me.json()["account_kind"] == "customer"


@pytest.mark.rule("API-1")
async def test_client_may_authenticate_with_http_basic(api: Api) -> None:
    basic = base64.b64encode(f"demo-peeters:{SECRETS['demo-peeters']}".encode()).decode()
    answer = await api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 200


@pytest.mark.rule("API-1")
async def test_wrong_secret_is_refused_as_rfc_6749_invalid_client(api: Api) -> None:
    answer = await api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-dupont", "client_secret": "guess"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_id"] == "invalid-client"
    assert "www-authenticate" in answer.headers
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
        ({"client_id": "demo-dupont"}, 400, "invalid_request"),
        (
            {"grant_type": "password", "username": "alice@dupont.example", "password": "wrong-password"},
            400,
            "invalid_grant",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ],
)
async def test_token_endpoint_errors_follow_rfc_6749(
    api: Api, form: dict[str, str], status: int, error: str
) -> None:
    answer = await api.http.post("/oauth/token", data=form)
    assert answer.status_code == status
    assert answer.json()["error"] == error


async def test_token_endpoint_wants_a_form(api: Api) -> None:
    answer = await api.http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.rule("API-1")
async def test_portal_users_log_in_with_their_password(api: Api) -> None:
    me = await api.get("alice@dupont.example", "/me")
    assert me.status_code == 200
    assert me.json()["kind"] == "user"
    assert me.json()["role"] == "administrator"
    staff = await api.get("olivia@nuage.example", "/me")
    assert staff.json()["account_kind"] == "operator"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Bearer nonsense", "garbled"),
        ("Basic abc", "wrong scheme"),
        ("Bearer v1.e30.AAAA", "forged"),
    ],
)
async def test_requests_without_a_valid_token_get_401_with_www_authenticate(
    api: Api, header: str | None, reason: str
) -> None:
    answer = await api.http.get("/users", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401, reason
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error_id"] == "unauthenticated"
    assert set(answer.json()) == {"error_id", "message", "details"}


async def test_a_token_signed_with_another_key_is_refused(api: Api) -> None:
    from nuage.api.tokens import TokenSigner

    genuine = await api.token("demo-dupont")
    claims = api.runtime.signer.verify(genuine, 0)
    assert claims is not None
    forged = TokenSigner("another-key").issue(claims)
    answer = await api.http.get("/users", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


async def test_an_expired_token_is_refused(api: Api) -> None:
    import dataclasses

    claims = api.runtime.signer.verify(await api.token("demo-dupont"), 0)
    assert claims is not None
    expired = api.runtime.signer.issue(dataclasses.replace(claims, expires_at=claims.issued_at - 1))
    answer = await api.http.get("/users", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401


@pytest.mark.rule("API-1")
async def test_a_new_client_secret_is_shown_once_and_stored_hashed(api: Api) -> None:
    created = await api.post("demo-dupont", "/api-clients", json={"name": "CRM integration"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    client_id, secret = created.json()["id"], created.json()["client_secret"]
    shown = await api.get("demo-dupont", f"/api-clients/{client_id}")
    assert "client_secret" not in shown.json()
    with api.platform.engine.connect() as connection:
        stored = connection.execute(
            select(api_clients.c.secret_hash).where(api_clients.c.id == client_id)
        ).scalar_one()
    assert secret not in stored
    assert stored.startswith("$argon2id$")
    answer = await api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 200


@pytest.mark.rule("API-3")
async def test_operator_suspends_a_client_and_its_existing_tokens_stop_at_once(api: Api) -> None:
    assert (await api.get("demo-dupont", "/users")).status_code == 200
    suspended = await api.put(
        "demo-operator", "/api-clients/demo-dupont/status", json={"status": "suspended"}
    )
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    after = await api.get("demo-dupont", "/users")
    assert after.status_code == 401
    assert "API-3" in after.json()["message"]
    refused = await api.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-dupont",
            "client_secret": SECRETS["demo-dupont"],
        },
    )
    assert refused.status_code == 401
    back = await api.put("demo-operator", "/api-clients/demo-dupont/status", json={"status": "active"})
    assert back.status_code == 200
    assert (await api.get("demo-dupont", "/users")).status_code == 200


@pytest.mark.rule("API-3")
async def test_only_the_operator_suspends_clients(api: Api) -> None:
    answer = await api.put("demo-dupont", "/api-clients/demo-dupont/status", json={"status": "suspended"})
    assert answer.status_code == 403
    assert answer.json()["details"]["permission"] == "access.api-clients.update-status"


@pytest.mark.rule("API-4")
async def test_a_revoked_client_loses_access_for_good(api: Api) -> None:
    token = await api.token("demo-peeters")
    revoked = await api.delete("demo-peeters", "/api-clients/demo-peeters")
    assert revoked.status_code == 204
    answer = await api.http.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    back = await api.put("demo-operator", "/api-clients/demo-peeters/status", json={"status": "active"})
    assert back.status_code == 409


@pytest.mark.rule("API-3")
async def test_a_suspension_on_another_web_node_reaches_this_one_at_the_next_refresh(api: Api) -> None:
    token = await api.token("demo-lemaire")
    from nuage.services import access as a
    from nuage.services.context import Context

    with api.platform.uow() as uow:  # as if another node had written it
        operator = uow.parties.find_by(kind="operator")
        assert operator is not None
        a.set_client_status(
            uow.access,
            Context.operator(operator.id, api.platform.clock),
            "demo-lemaire",
            a.ClientStatus.SUSPENDED,
        )
        uow.commit()
    api.runtime.state.reload()  # what the periodic refresh does
    answer = await api.http.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


async def test_removed_user_loses_access_at_once(api: Api) -> None:
    headers = await api.headers("bob@dupont.example")
    me = (await api.http.get("/me", headers=headers)).json()
    removed = await api.delete("demo-dupont", f"/users/{me['subject']}")
    assert removed.status_code == 204
    assert (await api.http.get("/me", headers=headers)).status_code == 401


def _as_another_node(api: Api, change: str, user_id: str) -> None:
    """Remove a user or change their role in the database, as another web node would."""
    from nuage.services.context import Context
    from nuage.services.directory.users import UserChanges, remove_user, update_user

    with api.platform.uow() as uow:
        operator = uow.parties.find_by(kind="operator")
        assert operator is not None
        ctx = Context.operator(operator.id, api.platform.clock)
        if change == "remove":
            remove_user(uow, ctx, user_id)
        else:
            update_user(uow, ctx, user_id, UserChanges(role=change))
        uow.commit()


@pytest.mark.parametrize("change", ["remove", "supervisor"])
async def test_a_user_removed_or_changed_on_another_node_loses_access_here_at_the_next_refresh(
    api: Api, change: str
) -> None:
    headers = await api.headers("bob@dupont.example")
    me = await api.http.get("/me", headers=headers)
    assert me.status_code == 200
    _as_another_node(api, change, me.json()["subject"])
    assert (await api.http.get("/me", headers=headers)).status_code == 200  # until the refresh
    api.runtime.state.reload()  # what the periodic refresh does (every api.state_refresh_s)
    refused = await api.http.get("/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error_id"] == "unauthenticated"


async def test_a_users_first_token_on_a_node_is_checked_before_it_is_answered(api: Api) -> None:
    headers = await api.headers("bob@dupont.example")  # issued here, not used yet on this node
    with api.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
    _as_another_node(api, "remove", bob.id)
    assert (await api.http.get("/me", headers=headers)).status_code == 401
    assert (await api.get("alice@dupont.example", "/me")).status_code == 200  # a user still there
