"""Call transfer with a real softphone (issue #15): the third party hears the caller.

Blind: a phone calls baresip (bob, auto-answering, sending a 440 Hz tone from a file), which
transfers it with its ``transfer`` command (a REFER); Nuage rings the target (a test phone
registered as ``door``), re-INVITEs the caller with the anchored media and hangs baresip up. The
target then hears the caller's 700 Hz tone, never baresip's, and the caller hears the target.

Attended (RFC 3891): baresip 1.0 cannot make a Replaces itself, so it is the transferee here:
baresip (alice) calls a test phone (bob), bob consults the target with a second call, then
refers alice to the target with ``Replaces`` naming that call; baresip takes Nuage's re-INVITE
and the target hears baresip's tone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile

from media.peers import media_port, sdp
from media.test_anchoring import Pbx, _pbx, heard
from media.test_transfer_anchoring import contact_of, in_dialog
from media.wire import call_out, spoke, wires
from netports import free_port, release
from nuage.media.engine import EmbeddedMediaEngine
from nuage.sip.b2bua.bridge import TRANSFERRED
from nuage.sip.b2bua.media import AnchorSettings
from nuage.sip.b2bua.transfer_leg import TRANSFER_LEG
from sip.baresip_phone import running_baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]


@pytest.fixture
async def anchored() -> AsyncIterator[Pbx]:
    low = free_port(span=200)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 199, timeout_s=30)
    pbx = await _pbx(engine, AnchorSettings(always=True))
    yield pbx
    await pbx.server.stop(grace_s=0.5)
    await engine.close()
    release(low, 200)


async def test_baresip_transfers_a_caller_blind_and_the_target_hears_the_caller(
    anchored: Pbx, tmp_path: Path
) -> None:
    pbx = anchored
    account = (
        f"<sip:bob@127.0.0.1:{pbx.port}>;auth_pass=bob-secret;regint=300;answermode=auto;audio_codecs=PCMU"
    )
    async with (
        running_baresip(tmp_path / "bob", account=account) as bob,
        wires(pbx.port, ("alice", "alice-secret"), ("door", "door-secret")) as (alice, door),
    ):
        await wait_for_condition(
            lambda: any(b.username == "bob" for b in pbx.server.registrations()),
            30,
            0.05,
            "baresip registered",
        )
        ok, _ = await call_out(pbx.port, alice, "bob", "alice-secret", "blind-1")
        await bob.wait_event("CALL_ESTABLISHED")
        to_bob = media_port(ok.body)
        await alice.rtp.send_tone(to_bob, 700, 600)
        await wait_for_condition(lambda: spoke(alice, 440), timeout=30, what="baresip's tone at alice")

        await bob.command("transfer", f"sip:door@127.0.0.1:{pbx.port}")
        invite = await door.request("INVITE")
        assert invite.body == b""  # delayed offer: door's offer goes to alice
        door.answer(invite, 180, tag="doortag")
        door.answer(invite, 200, tag="doortag", body=sdp(door.rtp.port, "9"))
        reinvite = await alice.request("INVITE")
        assert reinvite.call_id == "blind-1"
        alice.answer(reinvite, body=sdp(alice.rtp.port, "7"))
        ack = await door.request("ACK")
        await bob.wait_event("CALL_CLOSED")  # Nuage released the transferor's leg

        alice.rtp.received.clear()
        await asyncio.gather(
            alice.rtp.send_tone(media_port(reinvite.body), 700, 1500),
            door.rtp.send_tone(media_port(ack.body), 1200, 1500),
        )
        await wait_for_condition(lambda: spoke(door, 700), timeout=30, what="the caller's tone at the target")
        await wait_for_condition(
            lambda: spoke(alice, 1200), timeout=30, what="the target's tone at the caller"
        )

        # the caller hangs up: the target is hung up, both CDRs written
        bye = alice.sip.request(
            "BYE", f"sip:bob@127.0.0.1:{pbx.port}", call_id="blind-1", cseq=3, to_tag=ok.to_addr.tag
        )
        alice.sip.send(bye, pbx.port)
        door.answer(await door.request("BYE"))
        await wait_for_condition(lambda: len(pbx.cdrs.records) == 2, timeout=30, what="two CDRs")
        by_call = {record.call_id: record for record in pbx.cdrs.records}
        assert by_call["blind-1"].disposition == TRANSFERRED
        (leg,) = [r for r in pbx.cdrs.records if r.call_id != "blind-1"]
        assert (leg.account_id, leg.callee, leg.disposition) == ("acc-1", "door", TRANSFER_LEG)


async def test_an_attended_transfer_joins_baresip_to_the_consulted_party(
    anchored: Pbx, tmp_path: Path
) -> None:
    pbx = anchored
    account = f"<sip:alice@127.0.0.1:{pbx.port}>;auth_pass=alice-secret;regint=0;audio_codecs=PCMU"
    async with (
        running_baresip(tmp_path / "alice", account=account) as alice,
        wires(pbx.port, ("bob", "bob-secret"), ("door", "door-secret")) as (bob, door),
    ):
        await alice.command("dial", f"sip:bob@127.0.0.1:{pbx.port}")
        first = await bob.request("INVITE")
        bob.answer(first, tag="bobtag", body=sdp(bob.rtp.port, "3"))
        await alice.wait_event("CALL_ESTABLISHED")
        await bob.request("ACK")

        # bob consults door with a second call
        consult = asyncio.ensure_future(call_out(pbx.port, bob, "door", "bob-secret", "consult-1"))
        incoming = await door.request("INVITE")
        door.answer(incoming, tag="doortag", body=sdp(door.rtp.port, "9"))
        ok, _ = await consult
        await door.request("ACK")

        # bob refers alice to door, replacing his consultation call
        replaces = f"consult-1%3Bto-tag%3D{ok.to_addr.tag}%3Bfrom-tag%3Draw{bob.sip.port}"
        contact = first.headers.get("contact") or ""
        target = contact[contact.index("<") + 1 : contact.index(">")]
        refer = "\r\n".join(
            [
                f"REFER {target} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{bob.sip.port};branch=z9hG4bKrefer1;rport",
                "Max-Forwards: 70",
                f"From: {first.headers.get('to')};tag=bobtag",
                f"To: {first.headers.get('from')}",
                f"Call-ID: {first.call_id}",
                "CSeq: 5 REFER",
                f"Contact: <sip:bob@127.0.0.1:{bob.sip.port}>",
                f"Refer-To: <sip:door@127.0.0.1:{pbx.port}?Replaces={replaces}>",
                "Content-Length: 0",
                "",
                "",
            ]
        )
        bob.sip.send(refer, pbx.port)
        await bob.response("REFER", 202)
        reinvite = await door.request("INVITE")
        assert reinvite.call_id == incoming.call_id
        assert reinvite.body == b""  # door makes the offer that goes to baresip
        door.answer(reinvite, tag="doortag", body=sdp(door.rtp.port, "9"))
        ack = await door.request("ACK")
        assert ack.body  # baresip's answer, through Nuage's media ports
        for _ in range(2):
            bob.answer(await bob.request("BYE"))  # both of bob's legs released

        door.rtp.received.clear()
        await door.rtp.send_tone(media_port(ack.body), 1200, 1500)
        await wait_for_condition(lambda: spoke(door, 440), timeout=30, what="baresip's tone at door")
        await alice.command("hangup")
        door.answer(await door.request("BYE"))
        await wait_for_condition(lambda: len(pbx.cdrs.records) == 2, timeout=30, what="two CDRs")
        assert {r.disposition for r in pbx.cdrs.records} == {TRANSFERRED}


async def test_a_blind_transfer_to_baresip_rings_it_without_an_offer_and_both_hear_each_other(
    anchored: Pbx, tmp_path: Path
) -> None:
    """The target is baresip: Nuage's INVITE carries no offer, baresip offers in its 200, Nuage
    re-INVITEs the transferee with it (through the engine) and answers baresip in the ACK."""
    pbx = anchored
    folder = tmp_path / "door"
    (folder / "rec").mkdir(parents=True)  # sndfile writes what door sends and hears here
    account = (
        f"<sip:door@127.0.0.1:{pbx.port}>;auth_pass=door-secret;regint=300;answermode=auto;audio_codecs=PCMU"
    )
    async with (
        running_baresip(
            folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
        ) as door,
        wires(pbx.port, ("alice", "alice-secret"), ("bob", "bob-secret")) as (alice, bob),
    ):
        await wait_for_condition(
            lambda: any(b.username == "door" for b in pbx.server.registrations()),
            30,
            0.05,
            "baresip registered",
        )
        calling = asyncio.ensure_future(call_out(pbx.port, alice, "bob", "alice-secret", "blind-2"))
        invite = await bob.request("INVITE")
        bob.answer(invite, tag="bobtag", body=sdp(bob.rtp.port, "3"))
        await calling
        await bob.request("ACK")
        local, remote = f"{invite.headers.get('to')};tag=bobtag", invite.headers.get("from") or ""
        refer_to = f"Refer-To: <sip:door@127.0.0.1:{pbx.port}>"
        bob.sip.send(
            in_dialog(bob, contact_of(invite), local, remote, invite.call_id, 5, "REFER", [refer_to]),
            pbx.port,
        )
        await bob.response("REFER", 202)
        reinvite = await alice.request("INVITE")  # baresip's offer, through the engine
        assert reinvite.call_id == "blind-2"
        assert reinvite.body
        alice.answer(reinvite, body=sdp(alice.rtp.port, "7"))
        await door.wait_event("CALL_ESTABLISHED")
        await bob.request("BYE")  # the transferor's leg released

        alice.rtp.received.clear()
        await alice.rtp.send_tone(media_port(reinvite.body), 700, 2000)
        await wait_for_condition(lambda: spoke(alice, 440), timeout=30, what="baresip's tone at the caller")
        await door.command("hangup")
        alice.answer(await alice.request("BYE"))
        await door.wait_event("CALL_CLOSED")
        await wait_for_condition(lambda: len(pbx.cdrs.records) == 2, timeout=30, what="two CDRs")
    (leg,) = [r for r in pbx.cdrs.records if r.call_id != "blind-2"]
    assert (leg.callee, leg.disposition, leg.outcome.value) == ("door", TRANSFER_LEG, "answered")

    def door_heard_the_caller() -> bool:
        for path in (folder / "rec").glob("*.wav"):
            with contextlib.suppress(RuntimeError):
                audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
                windows = range(0, len(audio) - 8000, 4000)  # the tone starts once the call is set up
                if any(heard(audio[start : start + 8000, 0], 700) for start in windows):
                    return True
        return False

    await wait_for_condition(
        door_heard_the_caller, timeout=30, what="the caller's tone in baresip's recording"
    )
