"""SIP-1 end to end on the demo data: the README's SIPp scenarios against the wired platform.

The SIP data plane runs in-process over real storage (SQLite and PostgreSQL); the phones and the
carrier are SIPp processes on loopback, using the scenarios the README shows (examples/sipp).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from netports import free_port
from nuage.bootstrap import Platform, SipRuntime
from nuage.services.demo import load_demo
from nuage.shared.clock import SystemClock
from nuage.sip.transport import Address
from nuage.storage.sql import tables
from sip.harness import run_sipp, sipp_listening
from sip.unit.test_security import request as security_request

SCENARIOS = Path(__file__).resolve().parents[3] / "examples" / "sipp"

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]


async def sipp(scenario: str, target: str | None, *args: str, port: int, timeout_s: float = 20) -> str:
    """One SIPp scenario of ``examples/sipp``, one call (``-m 1``); fails the test with its output."""
    result = await run_sipp(
        SCENARIOS / scenario, target or "", port=port, args=("-m", "1", *args), timeout=timeout_s
    )
    assert result.returncode == 0, f"{scenario} failed ({result.returncode}):\n{result.output[-3000:]}"
    return result.output


async def answering(port: int, *args: str) -> asyncio.Task[str]:
    """A SIPp phone (answer.xml) waiting on ``port`` for its call(s); await the task for its result."""
    task = asyncio.create_task(sipp("answer.xml", None, *args, port=port))
    await sipp_listening(task, port)
    return task


@pytest.fixture
async def demo_sip(platform: Platform) -> AsyncIterator[tuple[Platform, int, int]]:
    """The demo loaded, its carrier moved to a free port of 127.0.0.1 (where the tests' SIPp runs),
    the SIP plane listening on another."""
    carrier_port = free_port()
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
    with platform.uow() as uow:
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host="127.0.0.1", port=carrier_port))
        uow.commit()
    platform.settings.sip.port = 0
    platform.clock = SystemClock()  # calls last real seconds here
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime.server.bound_address("UDP").port, carrier_port
    finally:
        if platform.sip is not None:  # the runtime running now (a test may have restarted it)
            await platform.sip.stop(grace_s=2)


def cdr_rows(platform: Platform) -> list[dict[str, object]]:
    with platform.engine.connect() as connection:
        return [
            dict(r)
            for r in connection.execute(select(tables.cdrs).order_by(tables.cdrs.c.started_at)).mappings()
        ]


async def register(sip_port: int, username: str, password: str, phone_port: int) -> None:
    await sipp(
        "register.xml",
        f"127.0.0.1:{sip_port}",
        "-s",
        username,
        "-au",
        username,
        "-ap",
        password,
        port=phone_port,
    )


@pytest.mark.rule("SIP-1")
async def test_a_demo_number_rings_the_demo_user_it_is_assigned_to(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, sip_port, carrier_port = demo_sip
    bob_phone = free_port()
    await register(sip_port, "bob", "Bob-Demo-2026!", bob_phone)
    phone = await answering(bob_phone)
    await sipp("carrier_call.xml", f"127.0.0.1:{sip_port}", "-s", "+3223000101", port=carrier_port)
    await phone
    assert platform.sip is not None
    await platform.sip.server.cdr_writer.flush()
    (cdr,) = cdr_rows(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["sip_status"], cdr["callee"]) == (
        "inbound",
        "answered",
        200,
        "+3223000101",
    )
    assert isinstance(cdr["billable_seconds"], int)
    assert cdr["billable_seconds"] >= 2


@pytest.mark.rule("SIP-1")
async def test_a_demo_user_calls_another_by_extension_and_an_external_number(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, sip_port, carrier_port = demo_sip
    bob_phone = free_port()
    await register(sip_port, "bob", "Bob-Demo-2026!", bob_phone)
    phone = await answering(bob_phone)
    await sipp(
        "call.xml",
        f"127.0.0.1:{sip_port}",
        "-s",
        "212",
        "-au",
        "alice",
        "-ap",
        "Alice-Demo-2026",
        port=free_port(),
    )
    await phone
    carrier = await answering(carrier_port)
    await sipp(
        "call.xml",
        f"127.0.0.1:{sip_port}",
        "-s",
        "0475123456",
        "-au",
        "alice",
        "-ap",
        "Alice-Demo-2026",
        port=free_port(),
    )
    await carrier
    assert platform.sip is not None
    await platform.sip.server.cdr_writer.flush()
    internal, outbound = cdr_rows(platform)
    assert (internal["direction"], internal["outcome"], internal["callee"]) == ("internal", "answered", "212")
    assert (outbound["direction"], outbound["outcome"]) == ("outbound", "answered")
    assert outbound["callee"] == "+32475123456"  # RAT-2 prices E.164 prefixes: never the national form
    with platform.uow() as uow:
        alice = uow.devices.find_by(sip_username="alice")
    assert alice is not None
    assert internal["device_id"] == outbound["device_id"] == alice.id
    assert internal["account_id"] == alice.account_id


@pytest.mark.rule("SIP-1")
async def test_registrations_survive_a_restart_of_the_sip_plane(demo_sip: tuple[Platform, int, int]) -> None:
    platform, sip_port, _ = demo_sip
    await register(sip_port, "jan", "Jan-Demo-2026!", free_port())
    assert platform.sip is not None
    assert [b.username for b in platform.sip.server.registrations()] == ["jan"]
    await platform.sip.stop(grace_s=1)
    restarted = SipRuntime(platform)
    await restarted.start()
    assert [b.username for b in restarted.server.registrations()] == ["jan"]


@pytest.mark.rule("SIP-5")
async def test_the_carrier_gateway_of_the_directory_is_never_rate_limited(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, _, carrier_port = demo_sip
    assert platform.sip is not None
    guard = platform.sip.server.security
    burst = guard.settings.burst
    # The carrier is at 127.0.0.1:carrier_port: far past the per-address burst, nothing is dropped.
    carrier = Address("UDP", "127.0.0.1", carrier_port)
    assert all(guard.admit(security_request(), carrier) for _ in range(3 * burst))
    # Trust is exact: a phone on the carrier's host, another port, is limited as usual ...
    phone = Address("UDP", "127.0.0.1", carrier_port + 1)
    assert not all(guard.admit(security_request(), phone) for _ in range(3 * burst))
    # ... and so is another address.
    assert not all(
        guard.admit(security_request(), Address("UDP", "127.0.0.9", 5060)) for _ in range(3 * burst)
    )
