"""CFG-13 through the API: hot-desk PINs (``/users/{id}/hot-desk-pin``) and ``/hot-desk-sessions``."""

from __future__ import annotations

import pytest

from api.support import Api
from nuage.services.access import verify_secret

ADMIN = "demo-dupont"


async def _user(api: Api, extension: str, who: str = ADMIN) -> str:
    page = await api.get(who, f"/users?extension={extension}")
    return str(page.json()["items"][0]["id"])


async def _shared_phone(api: Api) -> str:
    page = await api.get(ADMIN, "/devices?hot_desk=true")
    assert [d["label"] for d in page.json()["items"]] == ["Hot desk 1"]
    return str(page.json()["items"][0]["id"])


@pytest.mark.rule("CFG-13")
async def test_the_demo_has_a_shared_phone_with_known_credentials_and_users_with_pins(api: Api) -> None:
    with api.platform.uow() as uow:
        phone = uow.devices.find_by(sip_username="hotdesk1")
        assert phone is not None
        assert (phone.label, phone.hot_desk, phone.sip_password) == ("Hot desk 1", True, "Hotdesk-Demo-2026!")
        for email, pin in (("alice@dupont.example", "5829"), ("bob@dupont.example", "7314")):
            user = uow.users.find_by(email=email)
            assert user is not None
            assert user.account_id == phone.account_id
            assert verify_secret(user.hot_desk_pin_hash, pin)


@pytest.mark.rule("CFG-13")
async def test_pins_are_set_by_the_user_and_their_administrators_and_never_shown(api: Api) -> None:
    bob = await _user(api, "212")
    alice = await _user(api, "211")
    assert (
        await api.put("bob@dupont.example", f"/users/{bob}/hot-desk-pin", json={"pin": "7391"})
    ).status_code == 204
    shown = await api.get("bob@dupont.example", f"/users/{bob}")
    assert shown.json()["has_hot_desk_pin"] is True
    assert "7391" not in shown.text
    assert "argon2" not in shown.text
    assert "hot_desk_pin_hash" not in shown.json()
    with api.platform.uow() as uow:
        assert verify_secret(uow.users.get(bob).hot_desk_pin_hash, "7391")
    # a user sets only their own; a supervisor reads but does not write
    assert (
        await api.put("bob@dupont.example", f"/users/{alice}/hot-desk-pin", json={"pin": "7391"})
    ).status_code == 403
    assert (
        await api.put("chloe@dupont.example", f"/users/{bob}/hot-desk-pin", json={"pin": "7391"})
    ).status_code == 403
    # the customer's administrator, the partner's, the operator
    jan = await _user(api, "221", "demo-peeters")
    for who, user in ((ADMIN, bob), ("pierre@bruvoice.example", jan), ("demo-operator", jan)):
        assert (await api.put(who, f"/users/{user}/hot-desk-pin", json={"pin": "3817"})).status_code == 204, (
            who
        )
    assert (
        await api.put("marie@meuse-connect.example", f"/users/{jan}/hot-desk-pin", json={"pin": "3817"})
    ).status_code == 404
    cleared = await api.delete(ADMIN, f"/users/{bob}/hot-desk-pin")
    assert cleared.status_code == 204
    assert (await api.get(ADMIN, f"/users/{bob}")).json()["has_hot_desk_pin"] is False


@pytest.mark.rule("CFG-13")
@pytest.mark.parametrize(
    ("pin", "message"), [("1234", "too easy"), ("8888", "too easy"), ("9753", "too easy"), ("12", "pin")]
)
async def test_trivial_pins_are_refused_naming_the_field(api: Api, pin: str, message: str) -> None:
    bob = await _user(api, "212")
    refused = await api.put(ADMIN, f"/users/{bob}/hot-desk-pin", json={"pin": pin})
    assert refused.status_code == 422
    assert refused.json()["details"]["field"] == "pin"
    assert message in refused.json()["message"]


@pytest.mark.rule("CFG-13")
async def test_a_user_logs_in_on_the_shared_phone_and_out_again(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = await _shared_phone(api)
    alice, bob = await _user(api, "211"), await _user(api, "212")
    login = await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": phone, "user_id": alice})
    assert login.status_code == 201, login.text
    assert login.json() == {
        "device_id": phone,
        "user_id": alice,
        "started_at": "2026-03-10T08:30:00Z",
        "expires_at": "2026-03-10T20:30:00Z",  # sip.hot_desk_timeout_hours: 12 by default
    }
    assert (await api.get(ADMIN, f"/hot-desk-sessions/{phone}")).json()["user_id"] == alice
    # a phone has one user: Bob taking it over logs Alice out; the timeout is the operator's setting
    monkeypatch.setattr(api.platform.settings.sip, "hot_desk_timeout_hours", 2.0)
    taken = await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": phone, "user_id": bob})
    assert taken.json()["expires_at"] == "2026-03-10T10:30:00Z"
    page = (await api.get(ADMIN, "/hot-desk-sessions")).json()
    assert [(s["device_id"], s["user_id"]) for s in page["items"]] == [(phone, bob)]
    assert (await api.get(ADMIN, f"/hot-desk-sessions?user_id={alice}")).json()["items"] == []
    assert (await api.delete(ADMIN, f"/hot-desk-sessions/{phone}")).status_code == 204
    assert (await api.get(ADMIN, f"/hot-desk-sessions/{phone}")).status_code == 404
    assert (await api.get(ADMIN, "/hot-desk-sessions")).json()["items"] == []


@pytest.mark.rule("CFG-13")
async def test_logins_need_a_shared_phone_of_the_account_and_a_user_with_telephony(api: Api) -> None:
    phone = await _shared_phone(api)
    bob = await _user(api, "212")
    own_phone = (await api.get(ADMIN, f"/devices?user_id={bob}")).json()["items"][0]["id"]
    fixed = await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": own_phone, "user_id": bob})
    assert fixed.status_code == 422
    assert fixed.json()["details"]["rule_id"] == "CFG-13"
    chloe = (await api.get(ADMIN, "/users?no_service=true")).json()["items"][0]["id"]
    no_service = await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": phone, "user_id": chloe})
    assert no_service.status_code == 422
    assert no_service.json()["details"]["rule_id"] == "CFG-2"
    jan = await _user(api, "221", "demo-peeters")
    foreign = await api.post("demo-operator", "/hot-desk-sessions", json={"device_id": phone, "user_id": jan})
    assert foreign.status_code == 422
    assert foreign.json()["details"]["field"] == "user_id"
    hidden = await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": phone, "user_id": jan})
    assert hidden.status_code == 404  # TEN-4: Jan is not Atelier Dupont's to see


@pytest.mark.rule("CFG-13")
async def test_users_and_supervisors_do_not_log_others_in(api: Api) -> None:
    phone = await _shared_phone(api)
    bob = await _user(api, "212")
    for who in ("bob@dupont.example", "chloe@dupont.example"):
        refused = await api.post(who, "/hot-desk-sessions", json={"device_id": phone, "user_id": bob})
        assert refused.status_code == 403
        assert refused.json()["details"]["permission"] == "directory.hot-desk-sessions.create"
    assert (await api.get("bob@dupont.example", "/hot-desk-sessions")).status_code == 403
    assert (await api.get("chloe@dupont.example", "/hot-desk-sessions")).status_code == 200


@pytest.mark.rule("TEN-4")
async def test_another_tenants_sessions_are_not_listed(api: Api) -> None:
    phone = await _shared_phone(api)
    alice = await _user(api, "211")
    await api.post(ADMIN, "/hot-desk-sessions", json={"device_id": phone, "user_id": alice})
    account = (await api.get(ADMIN, "/me")).json()["account_id"]
    for who in ("demo-peeters", "marc@lemaire.example", "marie@meuse-connect.example", "demo-bruvoice"):
        assert (await api.get(who, "/hot-desk-sessions")).json()["items"] == [], who
        assert (await api.get(who, f"/hot-desk-sessions?account_id={account}")).json()["items"] == [], who
    operator = await api.get("demo-operator", f"/hot-desk-sessions?account_id={account}")
    assert len(operator.json()["items"]) == 1
