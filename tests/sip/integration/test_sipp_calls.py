"""Real SIP over loopback: SIPp phones register with and call through Nuage."""

from __future__ import annotations

import asyncio

import pytest

from nuage.sip.ports import CallOutcome, Direction
from sip.harness import Lab, free_port, needs_sipp, register_with_sipp, run_sipp

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
    await asyncio.sleep(0.3)
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
