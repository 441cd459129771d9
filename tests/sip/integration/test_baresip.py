"""A real softphone: baresip registers as alice through Nuage and calls bob (a SIPp phone)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nuage.sip.ports import CallOutcome, Direction
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import (
    Lab,
    free_port,
    needs_baresip,
    needs_sipp,
    register_with_sipp,
    run_sipp,
    sipp_listening,
)
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.sipp, pytest.mark.slow, needs_baresip, needs_sipp]


@pytest.fixture
async def alice_softphone(lab: Lab, tmp_path: Path) -> AsyncIterator[Baresip]:
    account = (
        f"<sip:alice@127.0.0.1:{lab.port}>;auth_pass=alice-secret;regint=300;"
        "answermode=manual;audio_codecs=PCMU"
    )
    async with running_baresip(tmp_path / "alice", account=account) as phone:
        yield phone


@pytest.mark.rule("SIP-1")
async def test_baresip_registers_calls_bob_and_the_call_is_recorded(
    lab: Lab, alice_softphone: Baresip
) -> None:
    await wait_for_condition(
        lambda: any(b.username == "alice" for b in lab.server.registrations()), 30, 0.05, "baresip registered"
    )
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    bob = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(bob, bob_port)
    await alice_softphone.command("dial", f"sip:bob@127.0.0.1:{lab.port}")
    await alice_softphone.wait_event("CALL_ESTABLISHED")
    assert [call.state.value for call in lab.server.calls()] == ["connected"]
    await asyncio.sleep(1.2)  # how long the call lasts (alice sends audio meanwhile): no wait on anyone
    await alice_softphone.command("hangup")
    bob_result = await bob
    assert bob_result.returncode == 0, bob_result.output
    await wait_for_condition(lambda: lab.server.calls() == [], 30, what="the call to end")
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.direction is Direction.INTERNAL
    assert cdr.device_id == "dev-alice"
    assert cdr.callee == "bob"
    assert cdr.billable_seconds >= 1
