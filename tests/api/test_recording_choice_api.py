"""Call recording's choice over the API (CFG-9): the administrator chooses whose calls are recorded
(every call, selected users, selected numbers; made, received or both) and a retention period;
bad choices get a stable error, a field left out keeps its value."""

from __future__ import annotations

import pytest

from nuage.tenancy.model import PartyKind

from .support import Api

ALICE = "alice@dupont.example"


def _ids(api: Api, account_id: str) -> tuple[str, str, str]:
    """bob's user id, one of Dupont's numbers, and a user of another account."""
    with api.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        number = uow.numbers.find_by(account_id=account_id, e164="+3223000101")
        other = uow.users.find_by(email="jan@peeters.example") or next(
            u for u in uow.users.list() if u.account_id != account_id
        )
    assert bob is not None
    assert number is not None
    return bob.id, number.id, other.id


@pytest.mark.rule("CFG-9")
async def test_the_administrator_chooses_users_numbers_direction_and_retention(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    bob, number, _ = _ids(api, account)
    path = f"/customers/{account}/recording"
    chosen = await api.put(
        ALICE,
        path,
        json={
            "enabled": True,
            "acknowledged": True,
            "scope": "users",
            "direction": "inbound",
            "user_ids": [bob],
            "retention_days": 30,
        },
    )
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert (body["scope"], body["direction"], body["user_ids"], body["retention_days"]) == (
        "users",
        "inbound",
        [bob],
        30,
    )
    numbers = await api.put(
        ALICE, path, json={"enabled": True, "acknowledged": True, "scope": "numbers", "number_ids": [number]}
    )
    assert numbers.status_code == 200, numbers.text
    kept = numbers.json()
    assert (kept["scope"], kept["number_ids"], kept["user_ids"]) == ("numbers", [number], [bob])
    assert (kept["direction"], kept["retention_days"]) == ("inbound", 30)  # left out: kept
    cleared = await api.put(ALICE, path, json={"enabled": True, "acknowledged": True, "retention_days": None})
    assert cleared.json()["retention_days"] is None
    read = (await api.get(ALICE, path)).json()
    assert (read["scope"], read["number_ids"], read["retention_days"]) == ("numbers", [number], None)


@pytest.mark.rule("CFG-9")
async def test_bad_choices_are_refused_with_a_stable_error(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    _, _, stranger = _ids(api, account)
    path = f"/customers/{account}/recording"
    on = {"enabled": True, "acknowledged": True}
    for days in (0, 3651):
        refused = await api.put(ALICE, path, json={**on, "retention_days": days})
        assert refused.status_code == 422
        assert refused.json()["error_id"] == "invalid-input"
    empty = await api.put(ALICE, path, json={**on, "scope": "users", "user_ids": []})
    assert empty.status_code == 422
    assert empty.json()["error_id"] == "invalid-input"
    assert empty.json()["details"]["field"] == "user_ids"
    foreign = await api.put(ALICE, path, json={**on, "scope": "users", "user_ids": [stranger]})
    assert foreign.status_code == 404  # TEN-4: another account's user is not visible
    too_many = await api.put(ALICE, path, json={**on, "scope": "users", "user_ids": ["usr_x"] * 501})
    assert too_many.status_code == 422
    unknown = await api.put(ALICE, path, json={**on, "scope": "everyone"})
    assert unknown.status_code == 422
    read = (await api.get(ALICE, path)).json()
    assert (read["enabled"], read["scope"], read["user_ids"]) == (False, "all", [])  # nothing changed
