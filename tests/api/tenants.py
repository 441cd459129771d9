"""Objects of every resource in one tenant, and the operations that reach them, for the TEN-4 tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.support import Api
from nuage.tenancy.model import PartyKind
from sound_samples import tone_file


@dataclass(frozen=True)
class Operation:
    """One operation on one object: method, path with ``{id}``, body."""

    method: str
    path: str
    json: Any = None


def operations(resource: str) -> list[Operation]:
    """Every operation that names an object of ``resource`` by id, with a valid body."""
    item = f"/{resource}/{{id}}"
    ops = [Operation("GET", item)]
    patches: dict[str, Any] = {
        "users": {"name": "Renamed"},
        "devices": {"label": "Renamed"},
        "rooms": {"name": "Renamed"},
        "conference-rooms": {"name": "Renamed"},
        "web-channels": {"name": "Renamed"},
        "trunks": {"name": "Renamed"},
        "customers": {"name": "Renamed"},
        "partners": {"name": "Renamed"},
        "carrier-trunks": {"name": "Renamed"},
        "ring-groups": {"name": "Renamed"},
    }
    if resource in patches:
        ops.append(Operation("PATCH", item, patches[resource]))
    if resource not in ("customers", "partners", "orders"):
        ops.append(Operation("DELETE", item))
    extra: dict[str, list[Operation]] = {
        "users": [
            Operation("PUT", item + "/password", {"password": "Another-Pass-2026"}),
            Operation("PUT", item + "/hot-desk-pin", {"pin": "5829"}),
            Operation("DELETE", item + "/hot-desk-pin"),
            Operation("GET", item + "/forwarding"),
            Operation("PATCH", item + "/forwarding", {"dnd": True}),
        ],
        "number-blocks": [
            Operation(
                "PUT",
                item + "/address",
                {"street": "Rue 1", "postal_code": "1000", "city": "Bxl", "country": "BE"},
            )
        ],
        "numbers": [Operation("PUT", item + "/assignment", {"user_id": None})],
        "customers": [
            Operation("GET", item + "/capacity"),
            Operation("GET", item + "/declaration-audit"),
            Operation("GET", item + "/emergency-readiness"),
            Operation("GET", item + "/recording"),
            Operation("PUT", item + "/recording", {"enabled": False}),
            Operation("PUT", item + "/status", {"status": "suspended", "reason": "test"}),
            Operation("PUT", item + "/partner", {"partner_id": None}),
            Operation("GET", "/api-limits/{id}"),
            Operation("PUT", "/api-limits/{id}", {"max_reads": 5, "max_writes": 1}),
        ],
        "partners": [Operation("PUT", item + "/status", {"status": "suspended", "reason": "test"})],
        "api-clients": [Operation("PUT", item + "/status", {"status": "suspended"})],
    }
    return ops + extra.get(resource, [])


RESOURCES = (
    "users",
    "devices",
    "rooms",
    "number-blocks",
    "numbers",
    "virtual-faxes",
    "conference-rooms",
    "web-channels",
    "traffic-packs",
    "trunks",
    "sound-files",
    "api-clients",
    "orders",
    "customers",
    "partners",
    "carrier-trunks",
    "hot-desk-sessions",
    "ring-groups",
)


async def _created(api: Api, path: str, body: dict[str, Any]) -> str:
    answer = await api.post("demo-operator", path, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def seed_peeters(api: Api) -> dict[str, str]:
    """One object of each resource in Bakkerij Peeters' tenancy (a customer of Brussels Voice Partners)."""
    account = api.party_id(PartyKind.CUSTOMER, "Bakkerij Peeters")
    ids = {"customers": account, "partners": api.party_id(PartyKind.PARTNER, "Brussels Voice Partners")}
    ids["users"] = await _created(
        api, "/users", {"account_id": account, "name": "Piet", "role": "administrator"}
    )
    ids["devices"] = await _created(
        api, "/devices", {"account_id": account, "kind": "door_phone", "label": "Door"}
    )
    ids["rooms"] = await _created(
        api, "/rooms", {"account_id": account, "name": "Bakery", "use": "non_users"}
    )
    ids["number-blocks"] = await _created(
        api, "/number-blocks", {"account_id": account, "first_e164": "+3293009000", "size": 10}
    )
    ids["numbers"] = await _created(api, "/numbers", {"account_id": account, "e164": "+3293009001"})
    fax_number = await _created(api, "/numbers", {"account_id": account, "e164": "+3293009002"})
    ids["virtual-faxes"] = await _created(
        api,
        "/virtual-faxes",
        {"account_id": account, "number_id": fax_number, "email": "fax@peeters.example"},
    )
    ids["conference-rooms"] = await _created(
        api, "/conference-rooms", {"account_id": account, "name": "Weekly"}
    )
    ids["web-channels"] = await _created(
        api, "/web-channels", {"account_id": account, "name": "Shop widget", "channels": 2}
    )
    ids["traffic-packs"] = await _created(
        api,
        "/traffic-packs",
        {"account_id": account, "name": "100 min", "valid_from": "2026-01-01", "minutes": 100},
    )
    ids["trunks"] = await _created(
        api, "/trunks", {"account_id": account, "name": "PBX", "auth": "ip", "allowed_ips": "192.0.2.10"}
    )
    sound = await api.post(
        "demo-operator",
        f"/sound-files?account_id={account}&name=Hold&copyright_acknowledged=true",
        content=tone_file(440, 1),
        headers={"content-type": "audio/wav"},
    )
    assert sound.status_code == 201, sound.text
    ids["sound-files"] = sound.json()["id"]
    ids["api-clients"] = await _created(api, "/api-clients", {"account_id": account, "name": "Peeters CRM"})
    orders = await api.get("demo-operator", f"/orders?customer_id={account}")
    ids["orders"] = orders.json()["items"][0]["id"]
    carriers = await api.get("demo-operator", "/carrier-trunks")
    ids["carrier-trunks"] = carriers.json()["items"][0]["id"]
    shared = await _created(
        api, "/devices", {"account_id": account, "kind": "desk_phone", "label": "Counter", "hot_desk": True}
    )
    login = await api.post(
        "demo-operator", "/hot-desk-sessions", json={"device_id": shared, "user_id": ids["users"]}
    )
    assert login.status_code == 201, login.text
    ids["hot-desk-sessions"] = login.json()["device_id"]  # a session is named by its shared phone
    ids["ring-groups"] = await _created(
        api, "/ring-groups", {"account_id": account, "name": "Shop", "members": [ids["users"]]}
    )
    return ids
