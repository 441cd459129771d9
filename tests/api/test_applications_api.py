"""Schedules, auto-attendant menus, numbers routed to them, conference PINs and live participants
through the API (API-1 shapes; another tenant's items are 404, TEN-4)."""

from __future__ import annotations

import pytest

from api.support import Api
from nuage.directory.conferences import JoinRole
from nuage.services.context import Context
from nuage.services.directory.conferences import participant_joined
from nuage.tenancy.model import PartyKind

ADMIN = "demo-dupont"
OTHER = "demo-peeters"


async def _user_id(api: Api) -> str:
    users = (await api.get(ADMIN, "/users", params={"limit": 50})).json()["items"]
    return str(next(u["id"] for u in users if u["extension"] == "211"))


@pytest.mark.rule("API-1")
async def test_schedule_and_menu_lifecycle(api: Api) -> None:
    user = await _user_id(api)
    menu = await api.post(
        ADMIN,
        "/ivr-menus",
        json={
            "name": "Main",
            "language": "nl",
            "options": {"1": f"user:{user}", "9": "dial_by_extension", "0": "hangup"},
            "timeout_destination": f"voicemail:{user}",
        },
    )
    assert menu.status_code == 201, menu.text
    body = menu.json()
    assert body["prompt"] == "default:welcome"
    assert body["options"] == {"0": "hangup", "1": f"user:{user}", "9": "dial_by_extension"}
    schedule = await api.post(
        ADMIN,
        "/schedules",
        json={
            "name": "Office",
            "open_destination": f"menu:{body['id']}",
            "closed_destination": f"voicemail:{user}",
            "hours": [{"weekday": d, "opens": "08:30", "closes": "18:00"} for d in range(5)],
            "exceptions": [
                {"on": "2026-12-24", "spans": [{"opens": "08:30", "closes": "12:00"}], "label": "Eve"}
            ],
        },
    )
    assert schedule.status_code == 201, schedule.text
    sid = schedule.json()["id"]
    assert schedule.json()["hours"][0] == {"weekday": 0, "opens": "08:30", "closes": "18:00"}
    now = await api.get(ADMIN, f"/schedules/{sid}/now", params={"at": "2026-07-21T10:00:00+02:00"})
    assert now.json() | {"at": None} == {
        "at": None,
        "state": "holiday",
        "reason": "National Day",
        "destination": f"voicemail:{user}",
    }
    opened = await api.get(ADMIN, f"/schedules/{sid}/now", params={"at": "2026-07-22T10:00:00+02:00"})
    assert opened.json()["destination"] == f"menu:{body['id']}"
    changed = await api.patch(ADMIN, f"/ivr-menus/{body['id']}", json={"options": {"1": "extension:212"}})
    assert changed.json()["options"] == {"1": "extension:212"}
    in_use = await api.delete(ADMIN, f"/ivr-menus/{body['id']}")
    assert in_use.status_code == 409
    assert (await api.get(OTHER, f"/schedules/{sid}")).status_code == 404  # TEN-4
    read = await api.get(ADMIN, f"/schedules/{sid}")
    assert read.json()["exceptions"] == [
        {"on": "2026-12-24", "spans": [{"opens": "08:30", "closes": "12:00"}], "label": "Eve"}
    ]
    assert (await api.get(ADMIN, f"/ivr-menus/{body['id']}")).json()["language"] == "nl"
    listed = await api.get(ADMIN, "/schedules", params={"order": "name"})
    assert [s["id"] for s in listed.json()["items"]] == [sid]
    assert (await api.delete(ADMIN, f"/schedules/{sid}")).status_code == 204
    assert (await api.delete(ADMIN, f"/ivr-menus/{body['id']}")).status_code == 204


@pytest.mark.rule("API-1")
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/ivr-menus", {"name": "M", "options": {"1": "menu:ivr_nope"}}, "options.1"),
        ("/ivr-menus", {"name": "M", "options": {"12": "hangup"}}, None),
        ("/ivr-menus", {"name": "M", "prompt": "sound:snd_nope"}, "prompt"),
        ("/ivr-menus", {"name": "M", "timeout_ms": 5}, None),
        ("/schedules", {"name": "S", "open_destination": "hangup"}, "closed_destination"),
        (
            "/schedules",
            {
                "name": "S",
                "open_destination": "hangup",
                "closed_destination": "hangup",
                "hours": [{"weekday": 0, "opens": "18:00", "closes": "08:00"}],
            },
            "hours",
        ),
    ],
)
async def test_bad_settings_are_refused_naming_the_field(
    api: Api, path: str, body: dict[str, object], field: str | None
) -> None:
    answer = await api.post(ADMIN, path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error_id"] in {"invalid-input", "validation-error", "invalid-request"}
    if field is not None:
        assert answer.json()["details"]["field"] == field


@pytest.mark.rule("CFG-8")
async def test_conference_pins_are_never_shown_and_participants_are_live(api: Api) -> None:
    created = await api.post(
        ADMIN,
        "/conference-rooms",
        json={"name": "Board", "pin": "2468", "moderator_pin": "1357", "extension": "801"},
    )
    assert created.status_code == 201, created.text
    room = created.json()
    assert "pin" not in room
    assert (room["has_pin"], room["has_moderator_pin"], room["extension"]) == (True, True, "801")
    platform = api.platform
    with platform.uow() as uow:
        stored = uow.conference_rooms.get(room["id"])
        ctx = Context.operator(api.party_id(PartyKind.OPERATOR), platform.clock)
        participant_joined(uow, stored, "a84c@10.0.0.1", "+3223000100", JoinRole.MODERATOR, ctx)
        participant_joined(uow, stored, "b77d@10.0.0.1", "212", JoinRole.PARTICIPANT, ctx)
        uow.commit()
    listed = await api.get(ADMIN, f"/conference-rooms/{room['id']}/participants")
    assert listed.status_code == 200
    assert listed.headers["etag"]
    assert [(p["label"], p["moderator"]) for p in listed.json()] == [("+3223000100", True), ("212", False)]
    muted = await api.patch(
        ADMIN, f"/conference-rooms/{room['id']}/participants/b77d@10.0.0.1", json={"muted": True}
    )
    assert muted.status_code == 200, muted.text
    assert muted.json()["muted"] is True
    kicked = await api.delete(ADMIN, f"/conference-rooms/{room['id']}/participants/a84c@10.0.0.1")
    assert kicked.status_code == 202
    assert kicked.json()["kicked"] is True
    assert (await api.get(OTHER, f"/conference-rooms/{room['id']}/participants")).status_code == 404
    missing = await api.patch(
        ADMIN, f"/conference-rooms/{room['id']}/participants/nobody", json={"muted": True}
    )
    assert missing.status_code == 404


@pytest.mark.rule("API-1")
async def test_a_number_routes_to_a_conference_room(api: Api) -> None:
    room = (await api.post(ADMIN, "/conference-rooms", json={"name": "Dial-in"})).json()
    number = (await api.post(ADMIN, "/numbers", json={"e164": "+3223000170"})).json()
    routed = await api.put(
        ADMIN, f"/numbers/{number['id']}/application", json={"destination": f"conference:{room['id']}"}
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["destination"] == f"conference:{room['id']}"
    taken = await api.put(ADMIN, f"/numbers/{number['id']}/assignment", json={"user_id": await _user_id(api)})
    assert taken.status_code == 409
    cleared = await api.put(ADMIN, f"/numbers/{number['id']}/application", json={"destination": None})
    assert cleared.json()["destination"] is None
