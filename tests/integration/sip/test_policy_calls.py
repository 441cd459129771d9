"""The terms-based call policy end to end: the wired SIP plane, the demo data, SIPp phones.

CAP-3 (capacity enforced live, emergency calls still accepted at full capacity), PAY-3 (a
suspended account reaches the emergency services and nothing else) and SIP-2 (no spoofed
caller ID), each refusal seen by the phone as a status with a Warning that cites the rule.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import TrafficPack
from nuage.services.context import Context
from nuage.services.tenancy import set_status
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.sip.b2bua.states import CallState
from nuage.tenancy.model import PartyKind, PartyStatus
from waiting import wait_for_condition

from .test_demo_calls import answering, cdr_rows, demo_sip, free_port, register, sipp

SCENARIOS = Path(__file__).resolve().parents[3] / "examples" / "sipp"
ALICE = ("-au", "alice", "-ap", "Alice-Demo-2026")

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]  # the fixture, shared with the demo calls


def _runtime(platform: Platform) -> SipRuntime:
    assert platform.sip is not None
    return platform.sip


def _account(platform: Platform, name: str) -> str:
    with platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
    assert party is not None
    return party.id


async def _call(sip_port: int, dialled: str, *, caller: str = "alice", talk_ms: int = 1000) -> str:
    return await sipp(
        str(SCENARIOS / "held_call.xml"),
        f"127.0.0.1:{sip_port}",
        *("-s", dialled, *ALICE, "-key", "caller", caller, "-d", str(talk_ms)),
        port=free_port(),
    )


async def _refused(
    sip_port: int, dialled: str, tmp_path: Path, *, caller: str = "alice", carrier_port: int | None = None
) -> tuple[int, str]:
    """Place a call expected to be refused (from alice, or from the carrier when its port is
    given): (status, Warning header) as the caller saw them."""
    trace = tmp_path / f"refused-{free_port()}.log"
    args: tuple[str, ...] = ()
    scenario = "carrier_refused.xml"
    if carrier_port is None:
        scenario, args = "refused_call.xml", (*ALICE, "-key", "caller", caller)
    await sipp(
        str(SCENARIOS / scenario),
        f"127.0.0.1:{sip_port}",
        *("-s", dialled, *args, "-trace_msg", "-message_file", str(trace)),
        port=carrier_port or free_port(),
    )
    text = trace.read_text(errors="replace")
    final = [line for line in text.splitlines() if line.startswith("SIP/2.0 4") and " 407 " not in line]
    warnings = [line for line in text.splitlines() if line.lower().startswith("warning:")]
    assert final, text[-2000:]
    assert warnings, text[-2000:]
    return int(final[-1].split()[1]), warnings[-1]


async def _until_connected(platform: Platform, count: int = 1) -> None:
    await wait_for_condition(
        lambda: sum(c.state is CallState.CONNECTED for c in _runtime(platform).server.calls()) >= count,
        timeout=30,
        interval=0.05,
        what=f"{count} connected call(s)",
    )


async def _cdrs(platform: Platform) -> list[dict[str, object]]:
    await _runtime(platform).server.cdr_writer.flush()
    return cdr_rows(platform)


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("EMG-4")
async def test_the_call_beyond_capacity_is_refused_then_112_goes_through(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _account(platform, "Atelier Dupont")
    with platform.uow() as uow:  # CAP-2: a pack fixing one channel
        today = business_date(platform.clock.now())
        uow.packs.add(
            TrafficPack(new_id("pack"), dupont, "One line", 1, platform.clock.now(), today, channel_limit=1)
        )
        uow.commit()
    runtime = _runtime(platform)
    await runtime.policy_state.reload()
    assert runtime.policy_state.snapshot.accounts[dupont].channels == 1
    bob_phone = free_port()
    await register(sip_port, "bob", "Bob-Demo-2026!", bob_phone)
    bob = await answering(bob_phone)
    held = asyncio.create_task(_call(sip_port, "212", talk_ms=6000))  # alice -> bob: the one channel
    await _until_connected(platform)
    status, warning = await _refused(sip_port, "0475123456", tmp_path)
    assert status == 486
    assert '"CAP-3 ' in warning
    carrier = await answering(carrier_port)
    await _call(sip_port, "112")  # EMG-4: at full capacity
    await carrier
    assert runtime.policy.channels.in_use(dupont) == 1  # the emergency call gave its channel back
    await held
    await bob
    assert runtime.policy.channels.in_use(dupont) == 0
    rows = await _cdrs(platform)
    summary = sorted((r["callee"], r["outcome"], r["refusal_rule"], r["emergency"]) for r in rows)
    assert summary == [
        ("+32475123456", "refused", "CAP-3", False),
        ("112", "answered", None, True),
        ("212", "answered", None, False),
    ]


@pytest.mark.rule("PAY-3")
@pytest.mark.rule("EMG-4")
async def test_a_suspended_account_reaches_112_and_nothing_else(
    demo_sip: tuple[Platform, int, int], tmp_path: Path
) -> None:
    platform, sip_port, carrier_port = demo_sip
    dupont = _account(platform, "Atelier Dupont")
    with platform.uow() as uow:  # PAY-1: the dunning job's suspension, through the service
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        assert operator is not None
        set_status(
            uow, Context.operator(operator.id, platform.clock), dupont, PartyStatus.SUSPENDED, "unpaid"
        )
        uow.commit()
    runtime = _runtime(platform)
    await runtime.policy_state.reload()
    for dialled in ("0475123456", "212"):
        status, warning = await _refused(sip_port, dialled, tmp_path)
        assert status == 403
        assert '"PAY-3 ' in warning
    carrier = await answering(carrier_port)
    await _call(sip_port, "112")
    await carrier
    status, warning = await _refused(sip_port, "+3223000101", tmp_path, carrier_port=carrier_port)  # to bob
    assert status == 403
    assert '"PAY-3 ' in warning
    rows = await _cdrs(platform)
    summary = sorted((r["direction"], r["callee"], r["outcome"], r["refusal_rule"]) for r in rows)
    assert summary == [
        ("inbound", "+3223000101", "refused", "PAY-3"),
        ("internal", "212", "refused", "PAY-3"),
        ("outbound", "+32475123456", "refused", "PAY-3"),
        ("outbound", "112", "answered", None),
    ]
    assert runtime.policy.channels.in_use(dupont) == 0


@pytest.mark.rule("SIP-2")
async def test_a_spoofed_caller_id_is_refused(demo_sip: tuple[Platform, int, int], tmp_path: Path) -> None:
    platform, sip_port, carrier_port = demo_sip
    status, warning = await _refused(sip_port, "0475123456", tmp_path, caller="+3293000200")  # Jan's
    assert status == 403
    assert '"SIP-2 ' in warning
    carrier = await answering(carrier_port)
    await _call(sip_port, "0475123456", caller="+3223000100")  # Dupont's own main number
    await carrier
    rows = await _cdrs(platform)
    assert [(r["caller"], r["outcome"], r["refusal_rule"]) for r in rows] == [
        ("+3293000200", "refused", "SIP-2"),
        ("+3223000100", "answered", None),
    ]
