"""API-1 contract checks for every resource: CRUD, paging, sorting, filters, errors, cache headers (API-4)."""

from __future__ import annotations

from typing import Any

import pytest

from api.support import Api
from api.tenants import RESOURCES
from nuage.tenancy.model import PartyKind
from sound_samples import tone_file

ADMIN = "demo-dupont"


@pytest.mark.rule("API-1")
@pytest.mark.parametrize("resource", RESOURCES)
async def test_unknown_ids_are_404_with_the_error_shape(api: Api, resource: str) -> None:
    answer = await api.get("demo-operator", f"/{resource}/nope_0000")
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"error_id", "message", "details"}
    assert body["error_id"] == "not-found"
    assert body["details"]["id"] == "nope_0000"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.rule("API-1")
@pytest.mark.parametrize(
    ("path", "create", "patch"),
    [
        (
            "/users",
            {"name": "Dana Desk", "extension": "150", "email": "dana@dupont.example"},
            {"name": "Dana D."},
        ),
        ("/devices", {"kind": "softphone_pc", "label": "Laptop"}, {"label": "Work laptop"}),
        ("/rooms", {"name": "Kitchen", "use": "non_users"}, {"use": "users"}),
        ("/conference-rooms", {"name": "Board", "pin": "1234"}, {"extension": "850"}),
        ("/trunks", {"name": "Old PBX", "auth": "registration"}, {"channel_limit": 4}),
        ("/number-blocks", {"first_e164": "+3223009000", "size": 10}, None),
        ("/numbers", {"e164": "+3223000160"}, None),
        ("/traffic-packs", {"name": "500 min", "valid_from": "2026-01-01", "minutes": 500}, None),
        ("/api-clients", {"name": "Reporting", "role": "supervisor"}, None),
    ],
)
async def test_customer_administrator_creates_reads_changes_and_removes(
    api: Api, path: str, create: dict[str, Any], patch: dict[str, Any] | None
) -> None:
    created = await api.post(ADMIN, path, json=create)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    item = created.json()
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    assert item["account_id"] == account
    read = await api.get(ADMIN, f"{path}/{item['id']}")
    assert read.status_code == 200
    if patch is not None:
        changed = await api.patch(ADMIN, f"{path}/{item['id']}", json=patch)
        assert changed.status_code == 200, changed.text
        assert all(changed.json()[k] == v for k, v in patch.items())
    removed = await api.delete(ADMIN, f"{path}/{item['id']}")
    assert removed.status_code == 204
    gone = await api.get(ADMIN, f"{path}/{item['id']}")
    assert gone.status_code == 404 if path != "/api-clients" else gone.json()["status"] == "revoked"


@pytest.mark.rule("API-1")
async def test_devices_and_trunks_show_their_sip_password_only_when_created(api: Api) -> None:
    device = await api.post(ADMIN, "/devices", json={"kind": "desk_phone", "label": "Front desk"})
    assert len(device.json()["sip_password"]) >= 12
    again = await api.get(ADMIN, f"/devices/{device.json()['id']}")
    assert "sip_password" not in again.json()
    trunk = await api.post(ADMIN, "/trunks", json={"name": "PBX", "auth": "registration"})
    assert trunk.json()["sip_password"]
    assert "sip_password" not in (await api.get(ADMIN, f"/trunks/{trunk.json()['id']}")).json()


@pytest.mark.rule("API-1")
async def test_collections_page_sort_and_filter_alike(api: Api) -> None:
    for name in ("Stock 1", "Atelier", "Lab"):
        assert (await api.post(ADMIN, "/rooms", json={"name": name, "use": "non_users"})).status_code == 201
    first = (await api.get(ADMIN, "/rooms?order=name&limit=2&total=true")).json()
    assert first["total"] == 5
    assert first["limit"] == 2
    assert [r["name"] for r in first["items"]] == ["Atelier", "Lab"]
    second = (await api.get(ADMIN, f"/rooms?order=name&limit=2&cursor={first['next']}")).json()
    assert [r["name"] for r in second["items"]] == ["Meeting room", "Stock 1"]
    assert "total" not in second  # counted only when asked for
    last = (await api.get(ADMIN, f"/rooms?order=name&limit=2&cursor={second['next']}")).json()
    assert [r["name"] for r in last["items"]] == ["Workshop"]
    assert last["next"] is None
    backwards = (await api.get(ADMIN, "/rooms?order=name&direction=desc&limit=1")).json()
    assert backwards["items"][0]["name"] == "Workshop"
    users = (await api.get(ADMIN, "/users?role=administrator")).json()
    assert [u["email"] for u in users["items"]] == ["alice@dupont.example"]
    no_service = (await api.get(ADMIN, "/users?no_service=true")).json()
    assert [u["email"] for u in no_service["items"]] == ["chloe@dupont.example"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("order=password_hash", "order"),
        ("direction=up", "direction"),
        ("cursor=not-a-cursor", "cursor"),
        ("total=maybe", "total"),
        ("offset=50", "offset"),
    ],
)
async def test_bad_list_parameters_are_422_naming_the_parameter(api: Api, query: str, field: str) -> None:
    answer = await api.get(ADMIN, f"/users?{query}")
    assert answer.status_code == 422
    assert answer.json()["error_id"] == "invalid-input"
    assert answer.json()["details"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 12}, "name"),
        ({"name": "X", "role": "emperor"}, "role"),
        ({"name": "X", "unknown": 1}, "unknown"),
        ({}, "name"),
        ({"name": "X", "extension": "12345678901"}, "extension"),
    ],
)
async def test_malformed_bodies_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = await api.post(ADMIN, "/users", json=body)
    assert answer.status_code == 422
    assert answer.json()["error_id"] == "invalid-input"
    assert answer.json()["details"]["field"] == field
    assert set(answer.json()) == {"error_id", "message", "details"}


async def test_malformed_json_is_422(api: Api) -> None:
    answer = await api.post(
        ADMIN, "/users", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error_id"] == "invalid-input"


@pytest.mark.rule("CFG-5")
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/devices", {"kind": "desk_phone", "label": "Lift", "purpose": "lift"}),
        ("/trunks", {"name": "Alarm panel", "auth": "ip", "allowed_ips": "192.0.2.1", "purpose": "alarm"}),
    ],
)
async def test_alarm_and_lift_lines_are_refused_citing_cfg_5(
    api: Api, path: str, body: dict[str, Any]
) -> None:
    answer = await api.post(ADMIN, path, json=body)
    assert answer.status_code == 422
    assert answer.json()["error_id"] == "term-violation"
    assert answer.json()["details"]["rule_id"] == "CFG-5"


@pytest.mark.rule("CFG-2")
async def test_a_no_service_user_cannot_own_a_device(api: Api) -> None:
    users = (await api.get(ADMIN, "/users?no_service=true")).json()["items"]
    answer = await api.post(
        ADMIN, "/devices", json={"kind": "desk_phone", "label": "X", "user_id": users[0]["id"]}
    )
    assert answer.status_code == 422
    assert answer.json()["details"]["rule_id"] == "CFG-2"


@pytest.mark.rule("CFG-9")
async def test_recording_needs_an_administrator_who_acknowledges(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    refused = await api.put("alice@dupont.example", f"/customers/{account}/recording", json={"enabled": True})
    assert refused.status_code == 422
    assert refused.json()["details"]["rule_id"] == "CFG-9"
    accepted = await api.put(
        "alice@dupont.example",
        f"/customers/{account}/recording",
        json={"enabled": True, "acknowledged": True},
    )
    assert accepted.status_code == 200
    assert accepted.json()["enabled"] is True


@pytest.mark.rule("CFG-12")
async def test_sound_files_need_the_copyright_acknowledgment(api: Api) -> None:
    audio = {"content": tone_file(440, 1), "headers": {"content-type": "audio/wav"}}
    refused = await api.post(ADMIN, "/sound-files?name=Hold%20music", **audio)
    assert refused.status_code == 422
    assert refused.json()["details"]["rule_id"] == "CFG-12"
    accepted = await api.post(ADMIN, "/sound-files?name=Hold%20music&copyright_acknowledged=true", **audio)
    assert accepted.status_code == 201
    assert accepted.json()["size_bytes"] == len(audio["content"])
    wrong_type = await api.post(
        ADMIN,
        "/sound-files?name=X&copyright_acknowledged=true",
        content=b"x",
        headers={"content-type": "text/plain"},
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["details"]["field"] == "content_type"


@pytest.mark.rule("CFG-6")
async def test_a_number_is_assigned_to_a_user_and_a_block_gets_its_address(api: Api) -> None:
    user = (await api.post(ADMIN, "/users", json={"name": "Eve"})).json()
    number = (await api.post(ADMIN, "/numbers", json={"e164": "+32 2 300 01 70"})).json()
    assert number["e164"] == "+3223000170"
    assigned = await api.put(ADMIN, f"/numbers/{number['id']}/assignment", json={"user_id": user["id"]})
    assert assigned.json()["user_id"] == user["id"]
    block = (await api.post(ADMIN, "/number-blocks", json={"first_e164": "+3223009100", "size": 5})).json()
    assert block["has_address"] is False
    address = {"street": "Rue Haute 1", "postal_code": "1000", "city": "Bruxelles", "country": "be"}
    updated = await api.put(ADMIN, f"/number-blocks/{block['id']}/address", json=address)
    assert updated.json()["has_address"] is True
    assert updated.json()["country"] == "BE"


@pytest.mark.rule("CAP-1")
async def test_computed_views_of_an_account(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    capacity = (await api.get(ADMIN, f"/customers/{account}/capacity")).json()
    assert capacity == {
        "account_id": account,
        "channels": 4,
        "rule_id": "CAP-1",
        "billable_users": 2,
        "reading": "literal",
        "pack_id": None,
        "trunk_channels": 0,
    }
    audit = (await api.get(ADMIN, f"/customers/{account}/declaration-audit")).json()
    assert audit["under_declared"] is True
    assert {s["rule_id"] for s in audit["shortfalls"]} >= {"CFG-4"}
    readiness = (await api.get(ADMIN, f"/customers/{account}/emergency-readiness")).json()
    assert {f["rule_id"] for f in readiness["findings"]} >= {"EMG-3"}


@pytest.mark.rule("CAP-2")
async def test_a_pack_with_a_channel_limit_replaces_the_formula(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    pack = {"name": "SIP 10", "valid_from": "2026-01-01", "minutes": 1000, "channel_limit": 10}
    assert (await api.post(ADMIN, "/traffic-packs", json=pack)).status_code == 201
    capacity = (await api.get(ADMIN, f"/customers/{account}/capacity")).json()
    assert (capacity["channels"], capacity["rule_id"]) == (10, "CAP-2")


@pytest.mark.rule("API-4")
async def test_reads_carry_an_etag_and_if_none_match_gives_304(api: Api) -> None:
    first = await api.get(ADMIN, "/users")
    assert first.headers["cache-control"] == "private, max-age=0, must-revalidate"
    assert first.headers["vary"] == "Authorization"
    etag = first.headers["etag"]
    unchanged = await api.get(ADMIN, "/users", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    await api.post(ADMIN, "/users", json={"name": "Fred"})
    changed = await api.get(ADMIN, "/users", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


@pytest.mark.rule("TEN-1")
async def test_partner_creates_its_own_customer_and_places_an_order(api: Api) -> None:
    customer = await api.post(
        "pierre@bruvoice.example", "/customers", json={"name": "Frituur Jansen", "language": "nl"}
    )
    assert customer.status_code == 201
    assert customer.json()["partner_id"] == api.party_id(PartyKind.PARTNER, "Brussels Voice Partners")
    order = await api.post(
        "pierre@bruvoice.example",
        "/orders",
        json={
            "customer_id": customer.json()["id"],
            "terms_version": "2026-01",
            "language": "nl",
            "accepted_by": "Jan Jansen",
            "service_start_on": "2026-12-01",
            "lines": [{"item": "activation", "quantity": 1}],
        },
    )
    assert order.status_code == 201, order.text
    assert order.json()["minimum_term_months"] == 24


@pytest.mark.rule("PAY-4")
async def test_operator_moves_a_customer_to_direct(api: Api) -> None:
    peeters = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    moved = await api.put("demo-operator", f"/customers/{peeters}/partner", json={"partner_id": None})
    assert moved.status_code == 200
    assert moved.json()["partner_id"] is None
    assert (await api.get("pierre@bruvoice.example", f"/customers/{peeters}")).status_code == 404


@pytest.mark.rule("API-1")
async def test_operator_creates_staff_users_who_log_in(api: Api) -> None:
    partner = api.party_id(PartyKind.PARTNER, "Meuse Connect")
    staff = await api.post(
        "demo-operator",
        "/users",
        json={
            "account_id": partner,
            "name": "Paul Meuse",
            "email": "paul@meuse.example",
            "password": "Paul-Pass-2026",
        },
    )
    assert staff.status_code == 201, staff.text
    assert staff.json()["role"] == "administrator"
    assert staff.json()["no_service"] is True
    token = await api.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "paul@meuse.example", "password": "Paul-Pass-2026"},
    )
    assert token.status_code == 200
