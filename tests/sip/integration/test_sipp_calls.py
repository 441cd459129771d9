"""Real SIP over loopback: SIPp phones register with and call through Nuage."""

from __future__ import annotations

import asyncio

import pytest

from nuage.sip.ports import NOT_ACKNOWLEDGED, CallOutcome, Direction
from sip.harness import Lab, free_port, needs_sipp, register_with_sipp, run_sipp, sipp_listening
from waiting import wait_for_condition

pytestmark = [pytest.mark.sipp, needs_sipp]


@pytest.mark.rule("SIP-1")
async def test_phone_registers_with_digest_and_the_binding_is_stored(lab: Lab) -> None:
    result = await register_with_sipp(lab, "bob", "bob-secret", port=free_port())
    assert result.returncode == 0, result.output
    (binding,) = lab.server.registrations()
    assert binding.username == "bob"
    assert binding.device_id == "dev-bob"
    assert list(lab.bindings.bindings) == [("dev-bob", binding.contact)]


@pytest.mark.rule("SIP-1")
async def test_call_between_two_users_is_set_up_torn_down_and_recorded(lab: Lab) -> None:
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    caller = await run_sipp(
        "uac_call.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", "bob", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-d", "500"],
    )
    callee_result = await callee
    assert caller.returncode == 0, caller.output
    assert callee_result.returncode == 0, callee_result.output
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.direction is Direction.INTERNAL
    assert cdr.device_id == "dev-alice"
    assert cdr.answered_at is not None
    assert cdr.billable_seconds >= 1
    assert lab.server.calls() == []


async def _call(
    lab: Lab, callee_scenario: str, caller_scenario: str, dialled: str = "bob", **kw: str
) -> None:
    """Register bob from a SIPp UAS port, run the callee scenario there and the caller against Nuage."""
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp(callee_scenario, "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    caller = await run_sipp(
        caller_scenario,
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", dialled, "-au", "alice", "-ap", "alice-secret", "-m", "1"],
    )
    callee_result = await callee
    assert caller.returncode == 0, caller.output
    assert callee_result.returncode == 0, callee_result.output
    await wait_for_condition(lambda: lab.server.calls() == [], timeout=30, what="the call to end")
    await lab.flush_cdrs()


async def test_busy_callee_486_is_passed_back_to_the_caller(lab: Lab) -> None:
    await _call(lab, "uas_busy.xml", "uac_busy.xml")
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.BUSY
    assert cdr.sip_status == 486
    assert cdr.billable_seconds == 0


async def test_unanswered_call_is_cancelled_and_the_caller_gets_480(lab: Lab) -> None:
    await _call(lab, "uas_ring.xml", "uac_unanswered.xml")
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.NO_ANSWER
    assert cdr.sip_status == 480


async def test_caller_cancel_is_relayed_to_the_ringing_callee(lab: Lab) -> None:
    await _call(lab, "uas_ring.xml", "uac_cancel.xml")
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.CANCELLED
    assert cdr.answered_at is None


async def test_reinvite_is_passed_through_to_the_other_leg(lab: Lab) -> None:
    await _call(lab, "uas_reinvite.xml", "uac_reinvite.xml")
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED


@pytest.mark.rule("CFG-1")
async def test_all_devices_of_the_user_ring_and_the_first_answer_wins(lab: Lab) -> None:
    mobile, desk = free_port(), free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=mobile)).returncode == 0
    assert (await register_with_sipp(lab, "bobdesk", "desk-secret", port=desk)).returncode == 0
    answering = asyncio.create_task(run_sipp("uas_answer.xml", "", port=mobile, args=["-m", "1"]))
    ringing = asyncio.create_task(run_sipp("uas_ring.xml", "", port=desk, args=["-m", "1"]))
    await sipp_listening(answering, mobile)
    await sipp_listening(ringing, desk)
    caller = await run_sipp(
        "uac_call.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", "200", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-d", "300"],
    )
    assert caller.returncode == 0, caller.output
    assert (await answering).returncode == 0
    desk_result = await ringing
    assert desk_result.returncode == 0, desk_result.output  # it got CANCEL and answered 487
    await lab.flush_cdrs()
    assert [cdr.outcome for cdr in lab.cdrs.records] == [CallOutcome.ANSWERED]


@pytest.mark.rule("SIP-1")
async def test_outbound_call_to_an_external_number_goes_through_the_carrier(lab: Lab) -> None:
    carrier = asyncio.create_task(
        run_sipp("uas_answer.xml", "", port=lab.carrier_port, ip="127.0.0.2", args=["-m", "1"])
    )
    await sipp_listening(carrier, lab.carrier_port)
    caller = await run_sipp(
        "uac_call.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", "+3225551234", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-d", "300"],
    )
    assert caller.returncode == 0, caller.output
    carrier_result = await carrier
    assert carrier_result.returncode == 0, carrier_result.output
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.direction is Direction.OUTBOUND
    assert cdr.trunk_id == "trunk-carrier"
    assert cdr.callee == "+3225551234"
    assert cdr.outcome is CallOutcome.ANSWERED


@pytest.mark.rule("SIP-1")
async def test_inbound_call_from_the_carrier_reaches_the_user_of_the_number(lab: Lab) -> None:
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    carrier = await run_sipp(
        "uac_trunk.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        ip="127.0.0.2",
        args=["-s", "+3223333333", "-m", "1"],
    )
    assert carrier.returncode == 0, carrier.output
    assert (await callee).returncode == 0
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.direction is Direction.INBOUND
    assert cdr.account_id == "acc-1"
    assert cdr.device_id is None
    assert cdr.outcome is CallOutcome.ANSWERED


async def test_phone_registers_over_tcp_and_the_flow_is_remembered(lab: Lab) -> None:
    registered = await run_sipp(
        "register.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-t", "t1", "-s", "bob", "-au", "bob", "-ap", "bob-secret", "-m", "1"],
    )
    assert registered.returncode == 0, registered.output
    (binding,) = lab.server.registrations()
    assert binding.source_transport == "TCP"
    assert binding.contact.endswith("transport=TCP")


async def test_caller_on_tcp_reaches_a_callee_on_udp(lab: Lab) -> None:
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    caller = await run_sipp(
        "uac_call.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-t", "t1", "-s", "bob", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-d", "200"],
    )
    assert caller.returncode == 0, caller.output
    assert (await callee).returncode == 0
    await lab.flush_cdrs()
    assert [cdr.outcome for cdr in lab.cdrs.records] == [CallOutcome.ANSWERED]


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_a_2xx_the_caller_never_acks_ends_the_call_at_64_t1_billed_nothing(
    lab: Lab, transport: str
) -> None:
    """Issue #20 item 8 (RFC 3261 §13.3.1.4): both legs get a BYE; the CDR says why, bills nothing."""
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    caller = await run_sipp(
        "uac_no_ack.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", "bob", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-t", transport],
    )
    callee_result = await callee
    assert caller.returncode == 0, caller.output  # the caller got its BYE
    assert callee_result.returncode == 0, callee_result.output  # and so did the callee
    await wait_for_condition(lambda: lab.server.calls() == [], timeout=30, what="the call to end")
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert (cdr.outcome, cdr.billable_seconds, cdr.disposition) == (CallOutcome.NO_ACK, 0, NOT_ACKNOWLEDGED)
    assert cdr.answered_at is not None
    assert (cdr.ended_at - cdr.answered_at).total_seconds() >= 64 * lab.server.settings.t1_s


@pytest.mark.rule("TEN-4")
async def test_a_phone_referring_its_caller_outside_its_account_is_refused_and_the_call_goes_on(
    lab: Lab,
) -> None:
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    callee = asyncio.create_task(run_sipp("uas_refer_refused.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(callee, bob_port)
    caller = await run_sipp(
        "uac_call.xml",
        f"127.0.0.1:{lab.port}",
        port=free_port(),
        args=["-s", "bob", "-au", "alice", "-ap", "alice-secret", "-m", "1", "-d", "2000"],
    )
    callee_result = await callee
    assert callee_result.returncode == 0, callee_result.output  # 403 then 400, then the caller's BYE
    assert caller.returncode == 0, caller.output
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records  # refused before any leg was placed: the call's own record only
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.disposition is None
