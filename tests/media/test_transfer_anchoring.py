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
from nuage.sip.b2bua.bridge import TRANSFERRED
from nuage.sip.b2bua.media import AnchorSettings
from nuage.sip.b2bua.transfer_leg import TRANSFER_LEG
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
        await wait_for_condition(lambda: spoke(bob, 700), timeout=30, what="alice at bob")

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
        await wait_for_condition(lambda: spoke(door, tone), timeout=30, what="the transferee at door")
        await wait_for_condition(lambda: spoke(transferee, 1200), timeout=30, what="door at the transferee")


async def test_a_call_transferred_twice_joins_the_caller_to_the_last_target_through_the_engine(
    pbx: Pbx,
) -> None:
    """alice calls bob; bob transfers alice to door; door transfers her on to bob's desk phone: each
    new leg is rung with no offer, alice hears each target and each target hears her; the three
    CDRs say who placed which leg."""
    users = (
        ("alice", "alice-secret"),
        ("bob", "bob-secret"),
        ("door", "door-secret"),
        ("bobdesk", "desk-secret"),
    )
    async with wires(pbx.port, *users) as (alice, bob, door, desk):
        calling = asyncio.ensure_future(call_out(pbx.port, alice, "bob", "alice-secret", "xfer-2"))
        invite = await bob.request("INVITE")
        fork = await desk.request("INVITE")  # bob's desk phone rings too
        desk.answer(fork, 180, tag="forktag")
        bob.answer(invite, tag="bobtag", body=sdp(bob.rtp.port, "3"))
        ok, _ = await calling
        await bob.request("ACK")
        desk.answer(await desk.request("CANCEL"))  # bob answered: his desk phone stops ringing
        desk.answer(fork, 487, tag="forktag")
        await desk.request("ACK")
        local, remote = f"{invite.headers.get('to')};tag=bobtag", invite.headers.get("from") or ""
        refer_to = f"Refer-To: <sip:door@127.0.0.1:{pbx.port}>"
        bob.sip.send(
            in_dialog(bob, contact_of(invite), local, remote, invite.call_id, 5, "REFER", [refer_to]),
            pbx.port,
        )
        await bob.response("REFER", 202)
        ringing = await door.request("INVITE")
        assert ringing.body == b""
        door.answer(ringing, tag="doortag", body=sdp(door.rtp.port, "9"))
        reinvite = await alice.request("INVITE")
        alice.answer(reinvite, body=sdp(alice.rtp.port, "5"))
        await door.request("ACK")
        await bob.request("BYE")

        # door, now talking with alice, transfers her on to bob's desk phone
        local = f"{ringing.headers.get('to')};tag=doortag"
        refer_to = f"Refer-To: <sip:bobdesk@127.0.0.1:{pbx.port}>"
        request = in_dialog(
            door,
            contact_of(ringing),
            local,
            ringing.headers.get("from") or "",
            ringing.call_id,
            1,
            "REFER",
            [refer_to],
        )
        door.sip.send(request, pbx.port)
        await door.response("REFER", 202)
        again = await desk.request("INVITE")
        while again.call_id == fork.call_id:  # the first call's retransmissions to bob's other phone
            again = await desk.request("INVITE")
        assert again.body == b""  # a delayed offer again: the desk's offer goes to alice
        desk.answer(again, tag="desktag", body=sdp(desk.rtp.port, "11"))
        second = await alice.request("INVITE")
        assert second.call_id == "xfer-2"
        alice.answer(second, body=sdp(alice.rtp.port, "5"))
        ack = await desk.request("ACK")
        assert ack.body  # alice's answer, through the engine
        await door.request("BYE")  # door's leg released

        alice.rtp.received.clear()
        await asyncio.gather(
            alice.rtp.send_tone(media_port(second.body), 700, 1200),
            desk.rtp.send_tone(media_port(ack.body), 1500, 1200),
            door.rtp.send_tone(media_port(reinvite.body), 300, 600),  # door left: never heard
        )
        await wait_for_condition(lambda: spoke(desk, 700), timeout=30, what="alice at the desk phone")
        await wait_for_condition(lambda: spoke(alice, 1500), timeout=30, what="the desk phone at alice")
        assert not spoke(alice, 300)

        bye = alice.sip.request(
            "BYE", f"sip:bob@127.0.0.1:{pbx.port}", call_id="xfer-2", cseq=3, to_tag=ok.to_addr.tag
        )
        alice.sip.send(bye, pbx.port)
        desk.answer(await desk.request("BYE"))
        await wait_for_condition(lambda: len(pbx.cdrs.records) == 3, timeout=30, what="three CDRs")
    by_callee = {record.callee: record for record in pbx.cdrs.records}
    assert by_callee["bob"].disposition == TRANSFERRED
    assert (by_callee["door"].caller, by_callee["door"].disposition) == ("bob", TRANSFER_LEG)
    assert (by_callee["bobdesk"].caller, by_callee["bobdesk"].disposition) == ("door", TRANSFER_LEG)
