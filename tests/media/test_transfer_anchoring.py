"""A blind transfer over Nuage's anchored media, on both engines, by either party (issue #15).

alice calls bob; after they heard each other, one of them refers the other to ``door``. Nuage
rings door with no offer, re-INVITEs the transferee with door's media through the engine (door
takes the transferor's side of the session: the engine latches to door, never again to the
transferor), and door and the transferee hear each other's tones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from media.conftest import Events
from media.peers import media_port, sdp
from media.test_anchoring import Pbx, _pbx
from media.wire import Wire, call_out, spoke, wires
from nuage.sip.b2bua.media import AnchorSettings
from nuage.sip.media import MediaPort
from nuage.sip.message import SipRequest, SipResponse
from waiting import wait_for_condition


@pytest.fixture
async def pbx(engine: tuple[MediaPort, Events]) -> AsyncIterator[Pbx]:
    pbx = await _pbx(engine[0], AnchorSettings(always=True))
    yield pbx
    await pbx.server.stop(grace_s=0.5)


def in_dialog(
    phone: Wire, target: str, local: str, remote: str, call_id: str, cseq: int, method: str, extra: list[str]
) -> str:
    """A request ``phone`` sends in its dialog (``local``/``remote``: its From and To header values)."""
    lines = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{phone.sip.port};branch=z9hG4bK{method.lower()}{cseq}x;rport",
        "Max-Forwards: 70",
        f"From: {local}",
        f"To: {remote}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{phone.user}@127.0.0.1:{phone.sip.port}>",
        *extra,
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines)


def contact_of(message: SipRequest | SipResponse) -> str:
    contact = message.headers.get("contact") or ""
    return contact[contact.index("<") + 1 : contact.index(">")]


@pytest.mark.parametrize("transferor", ["callee", "caller"])
async def test_a_blind_transfer_reconnects_the_transferee_to_the_target_through_the_engine(
    pbx: Pbx, transferor: str
) -> None:
    async with wires(pbx.port, ("alice", "alice-secret"), ("bob", "bob-secret"), ("door", "door-secret")) as (
        alice,
        bob,
        door,
    ):
        calling = asyncio.ensure_future(call_out(pbx.port, alice, "bob", "alice-secret", "xfer-1"))
        invite = await bob.request("INVITE")
        bob.answer(invite, tag="bobtag", body=sdp(bob.rtp.port, "3"))
        ok, _ = await calling
        await bob.request("ACK")
        await asyncio.gather(
            alice.rtp.send_tone(media_port(ok.body), 700, 1000),
            bob.rtp.send_tone(media_port(invite.body), 440, 1000),
        )
        await wait_for_condition(lambda: spoke(bob, 700), timeout=5, what="alice at bob")

        refer_to = f"Refer-To: <sip:door@127.0.0.1:{pbx.port}>"
        if transferor == "callee":
            who, transferee = bob, alice
            local, remote = f"{invite.headers.get('to')};tag=bobtag", invite.headers.get("from") or ""
            request = in_dialog(
                bob, contact_of(invite), local, remote, invite.call_id, 5, "REFER", [refer_to]
            )
        else:
            who, transferee = alice, bob
            local, remote = ok.headers.get("from") or "", ok.headers.get("to") or ""
            request = in_dialog(alice, contact_of(ok), local, remote, "xfer-1", 5, "REFER", [refer_to])
        who.sip.send(request, pbx.port)
        await who.response("REFER", 202)
        ringing = await door.request("INVITE")
        assert ringing.body == b""
        door.answer(ringing, tag="doortag", body=sdp(door.rtp.port, "9"))
        reinvite = await transferee.request("INVITE")
        transferee.answer(reinvite, body=sdp(transferee.rtp.port, "5"))
        ack = await door.request("ACK")
        assert (await who.request("BYE")).call_id == (invite.call_id if who is bob else "xfer-1")

        transferee.rtp.received.clear()
        tone = 700 if transferee is alice else 440
        await asyncio.gather(
            transferee.rtp.send_tone(media_port(reinvite.body), tone, 1200),
            door.rtp.send_tone(media_port(ack.body), 1200, 1200),
            who.rtp.send_tone(media_port(ok.body if who is alice else invite.body), 300, 600),  # too late
        )
        await wait_for_condition(lambda: spoke(door, tone), timeout=10, what="the transferee at door")
        await wait_for_condition(lambda: spoke(transferee, 1200), timeout=10, what="door at the transferee")
