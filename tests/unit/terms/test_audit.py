"""CNT-4: the users the configuration requires against the users declared."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.directory.model import CommunalRoom, Device, DeviceKind, Role, RoomUse, User
from nuage.terms.audit import ShortfallKind, audit_declaration, regularisation

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _user(uid: str, *, no_service: bool = False) -> User:
    return User(
        uid, "acc", uid.title(), T0, role=Role.SUPERVISOR if no_service else Role.USER, no_service=no_service
    )


def _device(
    did: str, kind: DeviceKind, *, user_id: str | None = None, room_id: str | None = None, **kw: object
) -> Device:
    return Device(did, "acc", kind, did, T0, user_id=user_id, room_id=room_id, sip_username=did, **kw)  # type: ignore[arg-type]


WORKSHOP = CommunalRoom("workshop", "acc", "Workshop", RoomUse.NON_USERS, T0)
MEETING = CommunalRoom("meeting", "acc", "Meeting room", RoomUse.USERS, T0)


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-1")
def test_a_user_with_a_desk_phone_and_two_softphones_counts_once() -> None:
    devices = [
        _device("desk", DeviceKind.DESK_PHONE, user_id="alice"),
        _device("pc", DeviceKind.SOFTPHONE_PC, user_id="alice"),
        _device("mobile", DeviceKind.SOFTPHONE_MOBILE, user_id="alice"),
    ]
    audit = audit_declaration([_user("alice")], devices, [])
    assert (audit.declared_users, audit.required_users, audit.shortfalls) == (1, 1, ())
    assert not audit.under_declared


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-4")
def test_each_phone_of_a_room_used_by_non_users_requires_a_user() -> None:
    devices = [
        _device("stock1", DeviceKind.DESK_PHONE, room_id="workshop"),
        _device("stock2", DeviceKind.DESK_PHONE, room_id="workshop"),
    ]
    audit = audit_declaration([_user("alice")], devices, [WORKSHOP])
    assert audit.required_users == 3
    assert audit.missing_users == 2
    assert [s.kind for s in audit.shortfalls] == [ShortfallKind.COMMUNAL_PHONE] * 2
    assert {s.rule_id for s in audit.shortfalls} == {"CFG-4"}
    assert audit.shortfalls[0].device_id == "stock1"


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-4")
def test_a_phone_of_a_room_used_by_users_counts_zero() -> None:
    audit = audit_declaration(
        [_user("alice")], [_device("meet", DeviceKind.DESK_PHONE, room_id="meeting")], [MEETING]
    )
    assert (audit.required_users, audit.shortfalls) == (1, ())


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-4")
def test_a_communal_phone_linked_to_a_declared_room_user_is_covered() -> None:
    stock_user = User("stock1", "acc", "Stock 1", T0, communal_room_id="workshop")
    audit = audit_declaration(
        [stock_user], [_device("s1", DeviceKind.DESK_PHONE, user_id="stock1", room_id="workshop")], [WORKSHOP]
    )
    assert (audit.declared_users, audit.required_users) == (1, 1)


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-3")
def test_a_phone_for_people_linked_to_nobody_requires_a_user() -> None:
    audit = audit_declaration([], [_device("orphan", DeviceKind.SOFTPHONE_PC)], [])
    assert audit.missing_users == 1
    (shortfall,) = audit.shortfalls
    assert (shortfall.kind, shortfall.rule_id, shortfall.device_id) == (
        ShortfallKind.UNLINKED_DEVICE,
        "CFG-3",
        "orphan",
    )
    assert "linked to no user" in shortfall.reason


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-3")
@pytest.mark.parametrize(
    "kind",
    [
        DeviceKind.DOOR_PHONE,
        DeviceKind.FAX,
        DeviceKind.EMERGENCY_PHONE,
        DeviceKind.PAGER,
        DeviceKind.BUZZER,
        DeviceKind.FLASHER,
    ],
)
def test_user_free_devices_require_no_user(kind: DeviceKind) -> None:
    audit = audit_declaration([], [_device("thing", kind)], [])
    assert (audit.required_users, audit.shortfalls) == (0, ())


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-13")
def test_a_hot_desk_phone_requires_no_user_of_its_own() -> None:
    audit = audit_declaration([_user("alice")], [_device("hd", DeviceKind.DESK_PHONE, hot_desk=True)], [])
    assert audit.shortfalls == ()


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-2")
def test_a_no_service_user_holding_a_device_is_flagged_but_not_counted() -> None:
    chloe = _user("chloe", no_service=True)
    audit = audit_declaration([chloe], [_device("desk", DeviceKind.DESK_PHONE, user_id="chloe")], [])
    (shortfall,) = audit.shortfalls
    assert (shortfall.kind, shortfall.rule_id) == (ShortfallKind.NO_SERVICE_WITH_DEVICE, "CFG-2")
    assert (audit.declared_users, audit.required_users) == (0, 0)


@pytest.mark.rule("CNT-4")
def test_a_phone_registering_on_sip_but_not_declared_requires_a_user() -> None:
    audit = audit_declaration(
        [_user("alice")],
        [_device("alice-desk", DeviceKind.DESK_PHONE, user_id="alice")],
        [],
        {"alice-desk", "ghost"},
    )
    (shortfall,) = audit.shortfalls
    assert shortfall.kind is ShortfallKind.REGISTERED_UNDECLARED
    assert "ghost" in shortfall.reason
    assert audit.missing_users == 1


@pytest.mark.rule("CNT-4")
@pytest.mark.rule("CFG-1")
def test_one_user_holding_five_desk_phones_requires_three_more_users() -> None:
    devices = [_device(f"desk{n}", DeviceKind.DESK_PHONE, user_id="alice") for n in range(1, 6)]
    devices.append(_device("pc", DeviceKind.SOFTPHONE_PC, user_id="alice"))  # softphones never count
    audit = audit_declaration([_user("alice")], devices, [])
    assert (audit.declared_users, audit.required_users) == (1, 4)
    assert [(s.kind, s.device_id) for s in audit.shortfalls] == [
        (ShortfallKind.EXCESS_DESK_PHONES, "desk3"),
        (ShortfallKind.EXCESS_DESK_PHONES, "desk4"),
        (ShortfallKind.EXCESS_DESK_PHONES, "desk5"),
    ]
    assert "one person uses at most 2" in audit.shortfalls[0].reason
    own = [
        _device("d1", DeviceKind.DESK_PHONE, user_id="bob"),
        _device("d2", DeviceKind.DESK_PHONE, user_id="bob"),
    ]
    assert audit_declaration([_user("bob")], own, [], max_desk_phones_per_user=1).missing_users == 1


@pytest.mark.rule("CNT-4")
def test_regularisation_invoices_missing_users_back_to_the_contract_start() -> None:
    result = regularisation(3, 7, Decimal("12.50"))
    assert result.amount == Decimal("262.50")
    with pytest.raises(ValueError, match="negative"):
        regularisation(-1, 7, Decimal("12.50"))
