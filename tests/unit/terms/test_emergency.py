"""EMG-1..3: addresses on blocks, located emergency caller IDs, devices that cannot be located."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.model import (
    Device,
    DeviceKind,
    NumberBlock,
    NumberScope,
    PhoneNumber,
    Role,
    Trunk,
    TrunkAuth,
    User,
)
from nuage.terms.emergency import (
    FindingKind,
    NumberLookup,
    check_emergency_readiness,
    emergency_number_for_device,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BLOCK = NumberBlock("blk", "acc", "+3223000100", 100, T0, "Rue Haute 120", "1000", "Bruxelles", "BE")
BARE_BLOCK = NumberBlock("bare", "acc", "+3293000200", 10, T0)


def _number(nid: str, e164: str, block: str | None = "blk", **kw: str) -> PhoneNumber:
    return PhoneNumber(nid, "acc", e164, NumberScope.NATIONAL, T0, block_id=block, **kw)  # type: ignore[arg-type]


ALICE = User("alice", "acc", "Alice", T0)
ALICE_NUMBER = _number("n1", "+3223000100", user_id="alice")


def _kinds(readiness: object) -> list[tuple[FindingKind, str]]:
    return [(f.kind, f.item_id) for f in readiness.findings]  # type: ignore[attr-defined]


@pytest.mark.rule("EMG-1")
def test_a_block_without_postal_address_is_flagged() -> None:
    readiness = check_emergency_readiness([BLOCK, BARE_BLOCK], [], [], [], [])
    assert _kinds(readiness) == [(FindingKind.BLOCK_WITHOUT_ADDRESS, "bare")]
    assert readiness.findings[0].rule_id == "EMG-1"
    assert not readiness.ready


@pytest.mark.rule("EMG-2")
def test_a_user_and_a_desk_phone_with_a_located_number_are_ready() -> None:
    desk = Device("desk", "acc", DeviceKind.DESK_PHONE, "Desk", T0, user_id="alice")
    readiness = check_emergency_readiness([BLOCK], [ALICE_NUMBER], [ALICE], [desk], [])
    assert readiness.findings == ()
    assert readiness.ready


@pytest.mark.rule("EMG-2")
def test_a_device_with_no_emergency_caller_id_is_flagged() -> None:
    door = Device("door", "acc", DeviceKind.DOOR_PHONE, "Front door", T0)
    readiness = check_emergency_readiness([BLOCK], [], [], [door], [])
    assert _kinds(readiness) == [(FindingKind.NO_EMERGENCY_CALLER_ID, "door")]
    assert readiness.findings[0].rule_id == "EMG-2"


@pytest.mark.rule("EMG-2")
def test_a_caller_id_whose_block_has_no_address_is_flagged() -> None:
    els = User("els", "acc", "Els", T0)
    number = _number("n2", "+3293000201", block="bare", user_id="els")
    readiness = check_emergency_readiness([BARE_BLOCK], [number], [els], [], [])
    assert (FindingKind.CALLER_ID_WITHOUT_ADDRESS, "els") in _kinds(readiness)


@pytest.mark.rule("EMG-2")
def test_a_caller_id_outside_any_block_is_flagged() -> None:
    loose = _number("n3", "+3223000999", block=None, user_id="alice")
    readiness = check_emergency_readiness([], [loose], [ALICE], [], [])
    assert _kinds(readiness) == [(FindingKind.CALLER_ID_WITHOUT_ADDRESS, "alice")]


@pytest.mark.rule("EMG-2")
def test_a_trunk_uses_its_configured_emergency_number() -> None:
    trunk_number = _number("n4", "+3223000150", trunk_id="pbx")
    trunk = Trunk("pbx", "acc", "PBX", TrunkAuth.IP, T0, allowed_ips="127.0.0.1/32")
    assert check_emergency_readiness([BLOCK], [trunk_number], [], [], [trunk]).findings == ()
    lonely = Trunk("pbx2", "acc", "PBX 2", TrunkAuth.IP, T0, allowed_ips="127.0.0.1/32")
    assert _kinds(check_emergency_readiness([BLOCK], [], [], [], [lonely])) == [
        (FindingKind.NO_EMERGENCY_CALLER_ID, "pbx2")
    ]


@pytest.mark.rule("EMG-2")
def test_no_service_users_need_no_emergency_caller_id() -> None:
    chloe = User("chloe", "acc", "Chloé", T0, role=Role.SUPERVISOR, no_service=True)
    assert check_emergency_readiness([BLOCK], [], [chloe], [], []).findings == ()


@pytest.mark.rule("EMG-3")
@pytest.mark.parametrize("kind", [DeviceKind.SOFTPHONE_PC, DeviceKind.SOFTPHONE_MOBILE])
def test_softphones_are_flagged_as_nomadic(kind: DeviceKind) -> None:
    soft = Device("soft", "acc", kind, "Softphone", T0, user_id="alice")
    readiness = check_emergency_readiness([BLOCK], [ALICE_NUMBER], [ALICE], [soft], [])
    assert _kinds(readiness) == [(FindingKind.NOMADIC_DEVICE, "soft")]
    assert readiness.findings[0].rule_id == "EMG-3"
    assert readiness.ready  # EMG-3 findings are shown, not blocking


@pytest.mark.rule("EMG-3")
def test_a_hot_desk_phone_is_flagged_and_keeps_its_own_location() -> None:
    phone_number = _number("n5", "+3223000160", device_id="hd")
    hot = Device("hd", "acc", DeviceKind.DESK_PHONE, "Hot desk", T0, hot_desk=True)
    readiness = check_emergency_readiness([BLOCK], [phone_number], [], [hot], [])
    assert _kinds(readiness) == [(FindingKind.HOT_DESK_PHONE, "hd")]
    assert (
        emergency_number_for_device(hot, ALICE, NumberLookup.of([ALICE_NUMBER, phone_number])) == phone_number
    )


@pytest.mark.rule("EMG-2")
def test_a_device_setting_wins_over_its_owner_number() -> None:
    site_number = _number("n6", "+3223000170")
    desk = Device("desk", "acc", DeviceKind.DESK_PHONE, "Desk", T0, user_id="alice", emergency_number_id="n6")
    assert (
        emergency_number_for_device(desk, ALICE, NumberLookup.of([ALICE_NUMBER, site_number])) == site_number
    )
