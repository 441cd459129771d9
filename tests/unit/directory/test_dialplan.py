"""The dial plan, the caller-ID chain (SIP-2) and the emergency caller ID (EMG-2, EMG-3), no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.dialplan import (
    DialPlan,
    NumberIndex,
    NumberRoute,
    ToCarrier,
    ToDevice,
    ToEmergency,
    ToNumber,
    ToUser,
)
from nuage.directory.model import Device, DeviceKind, NumberScope, PhoneNumber, Role, Trunk, TrunkAuth, User

T0 = datetime(2026, 1, 1, tzinfo=UTC)

ANN = User("ann", "acc", "Ann", T0, extension="201")
BOB = User("bob", "acc", "Bob", T0, extension="202", emergency_number_id="n-site")
NO_SERVICE = User("ned", "acc", "Ned", T0, role=Role.ADMINISTRATOR, no_service=True, extension="209")
OTHER = User("oli", "other", "Oli", T0, extension="201")

DESK = Device("desk", "acc", DeviceKind.DESK_PHONE, "Desk", T0, user_id="ann", sip_username="desk-ann")
SOFT = Device("soft", "acc", DeviceKind.SOFTPHONE_PC, "Soft", T0, user_id="bob", sip_username="soft-bob")
SHARED = Device("hd", "acc", DeviceKind.DESK_PHONE, "Shared", T0, hot_desk=True, sip_username="shared-1")
DOOR = Device("door", "acc", DeviceKind.DOOR_PHONE, "Door", T0, sip_username="door-1")
PBX = Trunk("trk", "acc", "PBX", TrunkAuth.IP, T0, allowed_ips="192.0.2.10")


def _number(nid: str, e164: str, **assigned: str | bool) -> PhoneNumber:
    return PhoneNumber(nid, "acc", e164, NumberScope.NATIONAL, T0, **assigned)  # type: ignore[arg-type]


MAIN = _number("n-main", "+3222000100", main=True)
ANN_NUMBER = _number("n-ann", "+3222000101", user_id="ann")
DESK_NUMBER = _number("n-desk", "+3222000102", device_id="desk")
SITE = _number("n-site", "+3222000103")
PBX_NUMBER = _number("n-trk", "+3222000104", trunk_id="trk")
UNASSIGNED = _number("n-free", "+3222000105")

NUMBERS = NumberIndex.build([MAIN, ANN_NUMBER, DESK_NUMBER, SITE, PBX_NUMBER, UNASSIGNED])
PLAN = DialPlan.build(
    [ANN, BOB, NO_SERVICE, OTHER], [DESK, SOFT, SHARED, DOOR], NUMBERS, ["1733"], region="BE"
)


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("dialled", ["112", "100", "101", " 112 ", "1733"])
def test_emergency_numbers_go_out_as_dialled_before_anything_of_the_account(dialled: str) -> None:
    assert PLAN.route("acc", dialled) == ToEmergency(dialled.strip())


@pytest.mark.rule("EMG-4")
def test_an_extension_never_shadows_an_emergency_number() -> None:
    shadow = User("eve", "acc", "Eve", T0, extension="112")
    plan = DialPlan.build([shadow], [], NUMBERS, [], region="BE")
    assert plan.route("acc", "112") == ToEmergency("112")


def test_extensions_and_sip_usernames_are_those_of_the_callers_account() -> None:
    assert PLAN.route("acc", "201") == ToUser("ann")
    assert PLAN.route("other", "201") == ToUser("oli")
    assert PLAN.route("acc", "door-1") == ToDevice("door", "acc")
    assert PLAN.route("other", "door-1") is None  # another account's device is not dialled by name


@pytest.mark.rule("CFG-2")
def test_a_no_service_user_has_no_extension_to_dial() -> None:
    assert PLAN.route("acc", "209") != ToUser("ned")


@pytest.mark.rule("CFG-6")
@pytest.mark.parametrize("dialled", ["+3222000101", "0032 2 200 01 01", "02 200 01 01"])
def test_a_platform_number_in_any_written_form_leads_where_it_is_assigned(dialled: str) -> None:
    assert PLAN.route("other", dialled) == ToNumber(NumberRoute("acc", "ann", None, None))


def test_an_unassigned_platform_number_stays_on_the_platform_and_others_go_to_the_carrier() -> None:
    assert PLAN.route("acc", "+3222000105") == ToNumber(NumberRoute("acc", None, None, None))
    assert PLAN.route("acc", "0033 1 42 68 53 00") == ToCarrier("+33142685300")
    assert PLAN.route("acc", "not a number") is None


def test_inbound_numbers_are_looked_up_in_e164() -> None:
    assert PLAN.inbound("+3222000104") == NumberRoute("acc", None, None, "trk")
    assert PLAN.inbound("0032 2 200 01 02") == NumberRoute("acc", None, "desk", None)
    assert PLAN.inbound("+33142685300") is None
    assert PLAN.inbound("abc") is None


@pytest.mark.rule("SIP-2")
def test_caller_id_chain_own_number_then_the_users_then_the_accounts_main_number() -> None:
    assert NUMBERS.device_caller_id(DESK) == DESK_NUMBER.e164  # its own
    desk_without_number = Device("d2", "acc", DeviceKind.DESK_PHONE, "D2", T0, user_id="ann")
    assert NUMBERS.device_caller_id(desk_without_number) == ANN_NUMBER.e164  # its user's
    assert NUMBERS.device_caller_id(DOOR) == MAIN.e164  # the account's main number
    assert NUMBERS.user_caller_id(ANN) == ANN_NUMBER.e164
    assert NUMBERS.user_caller_id(BOB) == MAIN.e164
    assert NUMBERS.trunk_caller_id(PBX) == PBX_NUMBER.e164
    assert NumberIndex.build([]).device_caller_id(DOOR) is None


@pytest.mark.rule("SIP-2")
def test_the_first_number_assigned_to_a_line_is_the_one_it_presents() -> None:
    second = _number("n-ann2", "+3222000109", user_id="ann")
    assert NumberIndex.build([ANN_NUMBER, second]).user_caller_id(ANN) == ANN_NUMBER.e164
    assert NumberIndex.build([second, ANN_NUMBER]).user_caller_id(ANN) == second.e164


@pytest.mark.rule("EMG-2")
def test_emergency_caller_id_is_the_phones_setting_then_its_number_then_its_users() -> None:
    at_site = Device("d3", "acc", DeviceKind.DESK_PHONE, "D3", T0, user_id="ann", emergency_number_id=SITE.id)
    assert NUMBERS.device_emergency_caller_id(at_site, ANN) == SITE.e164
    assert NUMBERS.device_emergency_caller_id(DESK, ANN) == DESK_NUMBER.e164
    assert NUMBERS.device_emergency_caller_id(SOFT, BOB) == SITE.e164  # the user's emergency number
    assert NUMBERS.device_emergency_caller_id(DOOR, None) == MAIN.e164  # nothing located: its caller ID


@pytest.mark.rule("EMG-3")
def test_a_shared_phone_never_presents_a_users_emergency_number() -> None:
    shared_with_owner_setting = Device("hd2", "acc", DeviceKind.DESK_PHONE, "HD2", T0, hot_desk=True)
    assert NUMBERS.device_emergency_caller_id(shared_with_owner_setting, BOB) == MAIN.e164


@pytest.mark.rule("EMG-2")
def test_a_trunks_emergency_caller_id_is_its_setting_else_its_caller_id() -> None:
    assert NUMBERS.trunk_emergency_caller_id(PBX) == PBX_NUMBER.e164
    located = Trunk("trk2", "acc", "PBX 2", TrunkAuth.IP, T0, emergency_number_id="n-site")
    assert NUMBERS.trunk_emergency_caller_id(located) == SITE.e164
