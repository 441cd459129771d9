"""A stray datagram that reaches an anchored leg before its party's first packet must not take the
leg (issue #15: "one-way/no audio" on a few calls of the anchored benchmark).

Symmetric RTP latches a leg to the source of its first valid packet. An RTCP receiver report parses
as RTP version 2: one that another relay sends to its own party's RTP port + 1 lands on an engine
RTP port whenever that party's port is the engine's less one, and it latched the leg, so the
party's whole stream was dropped as a stranger's and the other direction sent to the report's
source. The same holds for a late RTP packet of the port's previous call. Both ways, in a forwarder
and in process: an RTCP packet never latches, and the address the leg's SDP names latches it again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from media.peers import Peer, dominant_hz, media_port, rms, sdp
from netports import free_port, release
from nuage.media import g711, rtcp, rtp
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.player import FRAME, tone
from nuage.media.relay import Relay
from nuage.sip.media import Side, StreamStarted
from waiting import wait_for_condition


@pytest.fixture(params=[1, 0], ids=["forwarder", "in-process"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[EmbeddedMediaEngine]:
    low = free_port(span=40)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 39, timeout_s=30, forwarder_processes=request.param)
    await engine.start()
    yield engine
    await engine.close()
    release(low, 40)


class Call:
    """A call anchored on the engine between two test phones, and a stray sender."""

    def __init__(self, engine: EmbeddedMediaEngine, call_id: str) -> None:
        self.engine, self.call_id = engine, call_id

    async def open(self) -> Call:
        self.caller, self.callee, self.stray = await Peer.start(), await Peer.start(), await Peer.start()
        offer = await self.engine.offer(self.call_id, sdp(self.caller.port, "1"))
        self.to_callee_side = media_port(offer)
        answer = await self.engine.answer(self.call_id, sdp(self.callee.port, "2"))
        self.to_caller_side = media_port(answer)
        self.relay: Relay = self.engine._session(self.call_id)
        assert (self.relay.forwarder is not None) == (self.engine._pool is not None)
        return self

    async def caller_leg_saw(self, datagrams: int) -> bool:
        """Whether the engine's caller-side leg has taken ``datagrams`` datagrams in (as garbage or
        as RTP, latched or not: whichever way it judged them), as its forwarder counts them."""
        await self.engine.quality(self.call_id)  # a forwarded call's figures come back from it
        leg = self.relay.legs[Side.CALLER]
        return leg.garbage + leg.strangers + leg.stats.received >= datagrams

    def callee_heard(self, hz: float, since: int = 0) -> bool:
        """Whether the callee heard a clear tone at ``hz`` (after its first ``since`` packets)."""
        packets = [p for p in self.callee.received[since:] if p.payload_type == g711.PCMU]
        if len(packets) < 20:
            return False
        pcm = g711.ulaw_decode(b"".join(p.payload for p in packets[2:18]))
        return rms(pcm) > 1000 and abs(dominant_hz(pcm) - hz) < 15

    def caller_heard(self, hz: float) -> bool:
        packets = [p for p in self.caller.received if p.payload_type == g711.PCMU]
        if len(packets) < 20:
            return False
        pcm = g711.ulaw_decode(b"".join(p.payload for p in packets[2:18]))
        return rms(pcm) > 1000 and abs(dominant_hz(pcm) - hz) < 15

    async def talk(self) -> None:
        await asyncio.gather(
            self.caller.send_tone(self.to_caller_side, 440, 600),
            self.callee.send_tone(self.to_callee_side, 1000, 600),
        )

    def close(self) -> None:
        for peer in (self.caller, self.callee, self.stray):
            peer.close()


def receiver_report(reporter: int, blocks: int) -> bytes:
    """An RTCP RR as a relay sends it (``blocks``: 0, first byte 0x80 like RTP's; 1: 0x81)."""
    block = rtcp.ReportBlock(random.getrandbits(32), 0, 0, 1000, 3)
    return rtcp.build(rtcp.Report(rtcp.RR, reporter, (block,) * blocks))


async def test_a_receiver_report_sent_to_a_leg_before_its_party_speaks_does_not_latch_it(
    engine: EmbeddedMediaEngine,
) -> None:
    events: list[object] = []
    engine.subscribe(events.append)
    call = await Call(engine, "stray-rtcp").open()
    assert call.stray.rtcp is not None
    reporter = random.getrandbits(32)
    for blocks in (0, 1):  # both ways the forwarder reads a datagram: its fast path and rtp.parse
        call.stray.rtcp.sendto(receiver_report(reporter, blocks), ("127.0.0.1", call.to_caller_side))
    await wait_for_condition(lambda: call.caller_leg_saw(2), what="the engine read both reports")
    await call.talk()
    await wait_for_condition(lambda: call.callee_heard(440), what="the caller's tone at the callee")
    await wait_for_condition(lambda: call.caller_heard(1000), what="the callee's tone at the caller")
    await engine.quality(call.call_id)
    leg = call.relay.legs[Side.CALLER]
    assert leg.latched == ("127.0.0.1", call.caller.port)
    assert leg.garbage == 2, "both reports dropped as garbage"
    started = [e.source for e in events if isinstance(e, StreamStarted) and e.side is Side.CALLER]
    assert started == [("127.0.0.1", call.caller.port)], "the leg never latched to the reports' source"
    call.close()


async def test_a_late_packet_of_another_source_does_not_keep_the_leg_from_its_party(
    engine: EmbeddedMediaEngine,
) -> None:
    call = await Call(engine, "stray-rtp").open()
    pcm = tone(2000, 60)
    for n in range(3):  # a late packet of the port's previous call, say: valid RTP, another source
        payload = g711.encode(g711.PCMU, pcm[n * FRAME : (n + 1) * FRAME])
        call.stray.send_raw(rtp.build(g711.PCMU, n, n * FRAME, 0x5EED, payload), call.to_caller_side)
    await wait_for_condition(lambda: call.caller_leg_saw(3), what="the engine read the stray packets")
    await wait_for_condition(lambda: len(call.callee.received) >= 3, what="the stray packets relayed")
    await call.talk()
    await wait_for_condition(lambda: call.callee_heard(440, since=3), what="the caller's tone at the callee")
    await wait_for_condition(lambda: call.caller_heard(1000), what="the callee's tone at the caller")
    await engine.quality(call.call_id)
    leg = call.relay.legs[Side.CALLER]
    assert leg.latched == ("127.0.0.1", call.caller.port), "latched again to the SDP's address"
    call.stray.send_raw(rtp.build(g711.PCMU, 9, 9 * FRAME, 0x5EED, b"\xff" * 160), call.to_caller_side)

    async def stray_dropped() -> bool:
        await engine.quality(call.call_id)
        return call.relay.legs[Side.CALLER].strangers == 1

    await wait_for_condition(stray_dropped, what="the stray's next packet dropped as a stranger's")
    assert call.relay.legs[Side.CALLER].latched == ("127.0.0.1", call.caller.port)
    call.close()
