"""The API beside the portal's security: a user with a second factor gets a token from the password
grant only with its current code (``totp``, used once), and every accepted write joins the audit log
(who, when, what, from where, on which account)."""

from __future__ import annotations

from datetime import timedelta

from api.support import PASSWORDS, Api
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.services.security.second_factor import STEP_S, code_at
from nuage.tenancy.model import PartyKind

OLIVIA = "olivia@nuage.example"


async def test_the_password_grant_asks_a_user_with_a_second_factor_for_its_code_once(api: Api) -> None:
    with api.platform.uow() as uow:
        seed_demo_factors(uow, api.platform.clock.now())
        uow.commit()
    form = {"grant_type": "password", "username": OLIVIA, "password": PASSWORDS[OLIVIA]}
    without = await api.http.post("/oauth/token", data=form)
    assert without.status_code == 400
    assert without.json()["error"] == "invalid_grant"
    assert "totp" in without.json()["error_description"]
    code = code_at(DEMO_SECRETS[OLIVIA], api.platform.clock.now())
    wrong = "000000" if code != "000000" else "111111"
    assert (await api.http.post("/oauth/token", data={**form, "totp": wrong})).status_code == 400
    answer = await api.http.post("/oauth/token", data={**form, "totp": code})
    assert answer.status_code == 200, answer.text
    again = await api.http.post("/oauth/token", data={**form, "totp": code})
    assert again.status_code == 400  # a code works once (RFC 6238 §5.2)
    api.platform.clock.advance(timedelta(seconds=STEP_S))
    later = code_at(DEMO_SECRETS[OLIVIA], api.platform.clock.now())
    assert (await api.http.post("/oauth/token", data={**form, "totp": later})).status_code == 200
    # a user without a second factor logs in as before
    assert (await api.token("alice@dupont.example")).count(".") >= 1


async def test_every_accepted_api_write_is_in_the_audit_log(api: Api) -> None:
    with api.platform.uow() as uow:
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert dupont is not None
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
    changed = await api.patch("demo-dupont", f"/users/{bob.id}", json={"name": "Bob Martin-Dupont"})
    assert changed.status_code == 200, changed.text
    refused = await api.patch("demo-dupont", f"/users/{bob.id}", json={"name": ""})
    assert refused.status_code == 422
    read = await api.get("demo-dupont", f"/users/{bob.id}")
    assert read.status_code == 200
    with api.platform.uow() as uow:
        events = uow.security.events([dupont.id], limit=10)
    (event,) = events  # the accepted change only: no refused write, no read
    assert event.action == f"PATCH /api/v1/users/{bob.id}"
    assert (event.actor_id, event.actor_kind) == ("demo-dupont", "client")
    assert event.actor_account_id == dupont.id
    assert event.account_id == dupont.id
    assert event.address == "127.0.0.1"
    assert event.at == api.platform.clock.now()
    assert event.status == 200
