"""Forwarding, ring groups and call pickup (issue #15) end to end: the wired SIP plane over the demo
data (SQLite and PostgreSQL), SIPp playing the phones and the carrier.

Alice (extension 211, +3223000100) and Bob (212, +3223000101) are the demo's users at Atelier
Dupont; the tests add Dana (213). Settings are stored through the use cases, as the API stores them;
the SIP plane sees them once its directory is read again.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from nuage.bootstrap import Platform
from nuage.directory.model import DeviceKind
from nuage.directory.routing import HuntStrategy
from nuage.services.context import Context
from nuage.services.directory.devices import add_device
from nuage.services.directory.forwarding import ForwardingChanges, set_forwarding
from nuage.services.directory.ring_groups import add_ring_group
from nuage.services.directory.users import add_user
from nuage.sip.b2bua.states import CallState
from nuage.tenancy.model import PartyKind
from sip.harness import sipp_listening
from waiting import wait_for_condition

from .test_demo_calls import answering, cdr_rows, demo_sip, free_port, register, sipp

SCENARIOS = Path(__file__).resolve().parents[2] / "sip" / "scenarios"

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]

__all__ = ["demo_sip"]

ALICE = ("alice", "Alice-Demo-2026")
BOB = ("bob", "Bob-Demo-2026!")
DANA = ("dana", "Dana-Demo-2026!")


def _ctx(platform: Platform) -> Context:
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
    assert operator is not None
    return Context.operator(operator.id, platform.clock)


def _user_id(platform: Platform, email: str) -> tuple[str, str]:
    with platform.uow() as uow:
        user = uow.users.find_by(email=email)
    assert user is not None
    return user.account_id, user.id


async def _reload(platform: Platform) -> None:
    assert platform.sip is not None
    await platform.sip.directory.reload()


def _forward(platform: Platform, email: str, change: ForwardingChanges) -> None:
    _, user_id = _user_id(platform, email)
    with platform.uow() as uow:
        set_forwarding(uow, _ctx(platform), user_id, change)
        uow.commit()


async def _phone(sip_port: int, who: tuple[str, str], scenario: str | None = None) -> asyncio.Task[str]:
    """A registered phone running ``scenario`` of tests/sip/scenarios (default: it answers)."""
    port = free_port()
    await register(sip_port, *who, port)
    if scenario is None:
        return await answering(port)
    task = asyncio.create_task(sipp(str(SCENARIOS / scenario), None, port=port, timeout_s=30))
    await sipp_listening(task, port)
    return task


async def _cdrs(platform: Platform) -> list[dict[str, object]]:
    assert platform.sip is not None
    await platform.sip.server.cdr_writer.flush()
    return cdr_rows(platform)


async def test_a_call_nobody_answers_is_forwarded_after_the_users_seconds(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, sip_port, carrier_port = demo_sip
    _forward(platform, "alice@dupont.example", ForwardingChanges(no_answer="212", no_answer_s=5))
    await _reload(platform)
    alice = await _phone(sip_port, ALICE, "uas_ring.xml")  # rings until cancelled
    bob = await _phone(sip_port, BOB)
    await sipp(
        "carrier_call.xml", f"127.0.0.1:{sip_port}", "-s", "+3223000100", port=carrier_port, timeout_s=30
    )
    await alice
    await bob
    (cdr,) = await _cdrs(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["callee"]) == ("inbound", "answered", "+3223000100")


async def test_a_busy_user_forwards_on_busy(demo_sip: tuple[Platform, int, int]) -> None:
    platform, sip_port, carrier_port = demo_sip
    _forward(platform, "alice@dupont.example", ForwardingChanges(busy="212"))
    await _reload(platform)
    alice = await _phone(sip_port, ALICE, "uas_busy.xml")
    bob = await _phone(sip_port, BOB)
    await sipp("carrier_call.xml", f"127.0.0.1:{sip_port}", "-s", "+3223000100", port=carrier_port)
    await alice
    await bob
    (cdr,) = await _cdrs(platform)
    assert cdr["outcome"] == "answered"


async def test_a_sequential_group_rings_its_members_in_turn(demo_sip: tuple[Platform, int, int]) -> None:
    platform, sip_port, _ = demo_sip
    account, alice_id = _user_id(platform, "alice@dupont.example")
    ctx = _ctx(platform)
    with platform.uow() as uow:
        dana = add_user(uow, ctx, account, "Dana Peeters", extension="213")
        add_device(
            uow,
            ctx,
            account,
            DeviceKind.DESK_PHONE,
            "Dana desk",
            user_id=dana.id,
            sip_username=DANA[0],
            sip_password=DANA[1],
        )
        add_ring_group(
            uow,
            ctx,
            account,
            "Accueil",
            strategy=HuntStrategy.SEQUENTIAL,
            members=(alice_id, dana.id),
            extension="250",
            member_timeout_s=5,
        )
        uow.commit()
    await _reload(platform)
    alice = await _phone(sip_port, ALICE, "uas_ring.xml")  # rings 5 s, then cancelled
    dana_phone = await _phone(sip_port, DANA)
    await sipp(
        "call.xml",
        f"127.0.0.1:{sip_port}",
        "-s",
        "250",
        "-au",
        BOB[0],
        "-ap",
        BOB[1],
        port=free_port(),
        timeout_s=30,
    )
    await alice
    await dana_phone
    (cdr,) = await _cdrs(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["callee"]) == ("internal", "answered", "250")


@pytest.mark.parametrize("code", ["*8", "**212"])
async def test_a_ringing_call_is_picked_up_from_another_phone(
    demo_sip: tuple[Platform, int, int], code: str
) -> None:
    platform, sip_port, carrier_port = demo_sip
    bob = await _phone(sip_port, BOB, "uas_ring.xml")  # rings until the pickup cancels it
    caller = asyncio.create_task(
        sipp("carrier_call.xml", f"127.0.0.1:{sip_port}", "-s", "+3223000101", port=carrier_port)
    )
    assert platform.sip is not None
    server = platform.sip.server
    await wait_for_condition(
        lambda: any(call.state is CallState.ROUTING for call in server.calls()),
        timeout=30,
        what="a ringing call",
    )
    alice_port = free_port()
    await register(sip_port, *ALICE, alice_port)
    await sipp(
        "code.xml",
        f"127.0.0.1:{sip_port}",
        "-s",
        code,
        "-au",
        ALICE[0],
        "-ap",
        ALICE[1],
        port=alice_port,
    )
    await caller  # answered by Alice's phone, hung up by the caller after 2 s
    await bob
    (cdr,) = await _cdrs(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["callee"]) == ("inbound", "answered", "+3223000101")


async def test_the_readmes_forward_on_no_answer_is_set_from_the_phone(
    demo_sip: tuple[Platform, int, int],
) -> None:
    platform, sip_port, _ = demo_sip
    alice_port = free_port()
    await register(sip_port, *ALICE, alice_port)
    code = "*61*212*15%23"
    await sipp(
        "code.xml", f"127.0.0.1:{sip_port}", "-s", code, "-au", ALICE[0], "-ap", ALICE[1], port=alice_port
    )
    _, alice = _user_id(platform, "alice@dupont.example")
    with platform.uow() as uow:
        forwarding = uow.forwarding.get(alice)
    assert (forwarding.no_answer, forwarding.no_answer_s, forwarding.unconditional) == ("212", 15, None)
    (cdr,) = await _cdrs(platform)
    assert (cdr["callee"], cdr["outcome"]) == ("*61", "answered")  # the code, never the destination
