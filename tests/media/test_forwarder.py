"""The embedded engine's media forwarder processes (issue #15): calls relayed off the engine's loop,
recorded there (their audio teed to a spool), taken back in process when a feature needs their
audio, handed back when it is done, and kept alive when a forwarder dies."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from media.peers import Peer, dominant_hz, media_port, rms, sdp
from netports import free_port, release
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.g711 import ulaw_decode
from nuage.media.rtp import RtpPacket
from nuage.media.spool import spool_path
from nuage.sip.media import Side, SpeechChanged, StreamStarted, Tone
from waiting import wait_for_condition


@pytest.fixture
async def engine() -> AsyncIterator[EmbeddedMediaEngine]:
    low = free_port(span=40)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 39, timeout_s=30, forwarder_processes=1)
    await engine.start()
    yield engine
    await engine.close()
    release(low, 40)


class Call:
    def __init__(self, engine: EmbeddedMediaEngine, call_id: str) -> None:
        self.engine, self.call_id = engine, call_id

    async def open(self) -> Call:
        self.caller, self.callee = await Peer.start(), await Peer.start()
        offer = await self.engine.offer(self.call_id, sdp(self.caller.port, "1"))
        self.to_callee_side = media_port(offer)
        answer = await self.engine.answer(self.call_id, sdp(self.callee.port, "2"))
        self.to_caller_side = media_port(answer)
        return self

    async def talk(self, caller_hz: float, callee_hz: float, duration_ms: int = 600) -> None:
        await asyncio.gather(
            self.caller.send_tone(self.to_caller_side, caller_hz, duration_ms),
            self.callee.send_tone(self.to_callee_side, callee_hz, duration_ms),
        )

    def heard_both(self, since_callee: int, since_caller: int, caller_hz: float, callee_hz: float) -> bool:
        """The callee heard the caller's tone and the caller the callee's, after the given packets."""
        got_callee = [p for p in self.callee.received[since_callee:] if p.payload_type == 0]
        got_caller = [p for p in self.caller.received[since_caller:] if p.payload_type == 0]
        if len(got_callee) < 20 or len(got_caller) < 20:
            return False
        return tone_of(got_callee, caller_hz) and tone_of(got_caller, callee_hz)

    def close(self) -> None:
        self.caller.close()
        self.callee.close()


def tone_of(packets: list[RtpPacket], hz: float) -> bool:
    """Whether the G.711 packets (past their first two) carry a clear tone at ``hz``."""
    pcm = ulaw_decode(b"".join(p.payload for p in packets[2:18]))
    return rms(pcm) > 1000 and abs(dominant_hz(pcm) - hz) < 15


async def test_a_call_is_relayed_by_the_forwarder_and_its_figures_come_from_it(
    engine: EmbeddedMediaEngine,
) -> None:
    events: list[object] = []
    engine.subscribe(events.append)
    call = await Call(engine, "fw-1").open()
    relay = engine._session("fw-1")
    assert relay.forwarder is not None
    assert relay.forwarder.pid != os.getpid()
    await call.talk(440, 1000)
    await wait_for_condition(lambda: call.heard_both(0, 0, 440, 1000), what="the tones both ways")
    assert relay.forwarder is not None, "the call stayed with its forwarder"
    assert relay.legs[Side.CALLER]._rtp is None, "the engine's loop read none of its packets"
    await wait_for_condition(lambda: len([e for e in events if isinstance(e, StreamStarted)]) == 2)
    latched = {e.side: e.source for e in events if isinstance(e, StreamStarted)}  # type: ignore[attr-defined]
    assert latched == {
        Side.CALLER: ("127.0.0.1", call.caller.port),
        Side.CALLEE: ("127.0.0.1", call.callee.port),
    }
    await wait_for_condition(lambda: len(call.callee.received) == len(call.caller.received) == 30)
    figures = await engine.quality("fw-1")
    assert figures.caller.packets == figures.callee.packets == 30
    assert figures.caller.lost == figures.callee.lost == 0
    call.close()


async def test_a_new_party_on_a_leg_is_latched_and_the_old_one_is_a_stranger(
    engine: EmbeddedMediaEngine,
) -> None:
    """A re-INVITE gives the callee's leg another party: the forwarder latches the leg to the first
    packet of the new one (its link to the old party gone, its queue emptied), the old party's
    packets are strangers from then on, and the call is relayed both ways again, nothing lost."""
    call = await Call(engine, "fw-new").open()
    await call.talk(440, 1000, 300)
    await wait_for_condition(lambda: len(call.callee.received) >= 15 and len(call.caller.received) >= 15)
    newcomer = await Peer.start()
    await engine.answer("fw-new", sdp(newcomer.port, "3"))
    await engine.quality("fw-new")  # a round trip: the forwarder has the callee leg's new address
    caller_at = len(call.caller.received)
    await asyncio.gather(
        call.callee.send_tone(call.to_callee_side, 1000, 200),  # the old party, too late
        newcomer.send_tone(call.to_callee_side, 700, 600),
        call.caller.send_tone(call.to_caller_side, 440, 600),
    )
    await wait_for_condition(lambda: len(newcomer.received) == 30, what="the caller's tone at the newcomer")
    await wait_for_condition(lambda: len(call.caller.received) - caller_at == 30, what="the newcomer's tone")
    assert tone_of(newcomer.received, 440)
    heard = call.caller.received[caller_at:]
    assert {p.ssrc for p in heard} == {newcomer.ssrc}, "nothing of the old party reached the caller"
    assert tone_of(heard, 700)
    figures = await engine.quality("fw-new")
    assert figures.callee.packets == 30  # the newcomer's stream, counted from its first packet
    assert figures.callee.lost == figures.caller.lost == 0
    leg = engine._session("fw-new").legs[Side.CALLEE]
    assert leg.latched == ("127.0.0.1", newcomer.port)
    assert leg.strangers == 10
    await engine.play("fw-new", Side.CALLER, Tone(800, 100))  # taken back: its links emptied first
    assert engine._session("fw-new").legs[Side.CALLER].stats.received == 45
    newcomer.close()
    call.close()


def heard_in(track: np.ndarray, hz: float) -> bool:
    """Whether a clear tone at ``hz`` fills some 200 ms of a recording's channel."""
    return any(
        rms(track[i : i + 1600]) > 1000 and abs(dominant_hz(track[i : i + 1600]) - hz) < 15
        for i in range(0, len(track) - 1599, 400)
    )


@pytest.mark.rule("CFG-9")
async def test_a_recorded_call_stays_with_its_forwarder_and_its_recording_holds_both_voices(
    engine: EmbeddedMediaEngine, tmp_path: Path
) -> None:
    events: list[object] = []
    engine.subscribe(events.append)
    call = await Call(engine, "fw-7").open()
    relay = engine._session("fw-7")
    forwarder = relay.forwarder
    assert forwarder is not None
    await engine.start_recording("fw-7", tmp_path / "call.flac")
    await call.talk(440, 1000, 1500)
    await wait_for_condition(lambda: len(call.callee.received) == len(call.caller.received) == 75)
    assert relay.forwarder is forwarder, "the recorded call stayed with its forwarder"
    assert relay.legs[Side.CALLER]._rtp is None, "the engine's loop read none of its packets"
    assert relay.legs[Side.CALLEE]._rtp is None
    assert spool_path(tmp_path / "call.flac").exists(), "the forwarder spools the call's audio"
    speech = [(e.side, e.speaking) for e in events if isinstance(e, SpeechChanged)]
    assert (Side.CALLER, True) in speech, "speech told by the forwarder"
    assert (Side.CALLEE, True) in speech
    recording = await engine.stop_recording("fw-7")
    assert relay.forwarder is forwarder
    assert recording.bytes_stored == recording.path.stat().st_size > 0
    assert 1.4 <= recording.duration_s <= 2.5
    audio, rate = soundfile.read(str(recording.path), dtype="int16", always_2d=True)
    assert rate == 8000
    assert heard_in(audio[:, 0], 440), "both voices, each on its side"
    assert heard_in(audio[:, 1], 1000)
    assert not heard_in(audio[:, 0], 1000)
    assert not heard_in(audio[:, 1], 440)
    assert not spool_path(tmp_path / "call.flac").exists(), "the spool is gone once stored"
    figures = await engine.quality("fw-7")
    assert figures.caller.packets == figures.callee.packets == 75
    call.close()


@pytest.mark.rule("CFG-9")
async def test_a_recording_goes_on_while_a_tone_takes_the_call_back_and_after_it_returns(
    engine: EmbeddedMediaEngine, tmp_path: Path
) -> None:
    call = await Call(engine, "fw-8").open()
    relay = engine._session("fw-8")
    await engine.start_recording("fw-8", tmp_path / "call.flac")
    await call.talk(440, 1000, 1000)
    await engine.play("fw-8", Side.CALLEE, Tone(800, 400))
    assert relay.forwarder is None, "the call came back in process to play"
    await call.caller.send_tone(call.to_caller_side, 600, 600)  # recorded in process
    await wait_for_condition(lambda: relay.forwarder is not None, what="the call with a forwarder again")
    await call.talk(300, 1500, 1000)
    await wait_for_condition(lambda: len(call.caller.received) >= 100, what="the last tones relayed")
    recording = await engine.stop_recording("fw-8")
    audio, _ = soundfile.read(str(recording.path), dtype="int16", always_2d=True)
    for hz in (440, 600, 300):
        assert heard_in(audio[:, 0], hz), hz
    for hz in (1000, 1500):
        assert heard_in(audio[:, 1], hz), hz
    call.close()


async def test_a_tone_that_ends_by_itself_hands_the_call_to_a_forwarder_again(
    engine: EmbeddedMediaEngine,
) -> None:
    call = await Call(engine, "fw-9").open()
    relay = engine._session("fw-9")
    await call.talk(440, 1000, 300)
    await wait_for_condition(lambda: len(call.callee.received) >= 15 and len(call.caller.received) >= 15)
    await engine.play("fw-9", Side.CALLER, Tone(800, 300))  # an announcement, played to its end
    assert relay.forwarder is None
    await wait_for_condition(lambda: relay.forwarder is not None, what="the call with a forwarder again")
    assert relay.legs[Side.CALLER]._rtp is None, "the engine's loop reads the call no more"
    callee_at, caller_at = len(call.callee.received), len(call.caller.received)
    await call.talk(500, 1200)
    await wait_for_condition(lambda: call.heard_both(callee_at, caller_at, 500, 1200), what="relayed again")
    await wait_for_condition(lambda: len(call.callee.received) == 45, what="every packet relayed")
    figures = await engine.quality("fw-9")
    assert figures.caller.packets == 15 + 30, "the counters went along"
    call.close()


async def test_a_tone_played_takes_the_call_back_and_the_relay_goes_on(engine: EmbeddedMediaEngine) -> None:
    call = await Call(engine, "fw-2").open()
    await call.talk(440, 1000, 300)
    await wait_for_condition(lambda: len(call.callee.received) >= 15 and len(call.caller.received) >= 15)
    caller_at = len(call.caller.received)
    await engine.play("fw-2", Side.CALLER, Tone(800, 400))
    relay = engine._session("fw-2")
    assert relay.forwarder is None, "the call came back in process to play"
    assert relay.legs[Side.CALLER].stats.received == 15, "its counters came back with it"
    await wait_for_condition(lambda: len(call.caller.received) - caller_at >= 20, what="the tone")
    assert tone_of(call.caller.received[caller_at:], 800)
    await wait_for_condition(lambda: relay._injecting == {}, what="the tone's end")
    callee_at, caller_at = len(call.callee.received), len(call.caller.received)
    await call.talk(500, 1200)
    await wait_for_condition(lambda: call.heard_both(callee_at, caller_at, 500, 1200), what="relayed again")
    call.close()


async def test_music_stopped_hands_the_call_to_a_forwarder_again(engine: EmbeddedMediaEngine) -> None:
    call = await Call(engine, "fw-6").open()
    await call.talk(440, 1000, 300)
    await wait_for_condition(lambda: len(call.callee.received) >= 15 and len(call.caller.received) >= 15)
    caller_at = len(call.caller.received)
    await engine.play("fw-6", Side.CALLER, Tone(800, 5000))  # music on hold, stopped early
    relay = engine._session("fw-6")
    await wait_for_condition(lambda: len(call.caller.received) - caller_at >= 20, what="the music")
    assert tone_of(call.caller.received[caller_at:], 800)
    await engine.stop_playing("fw-6", Side.CALLER)
    assert relay.forwarder is not None, "the call went back to a forwarder"
    callee_at, caller_at = len(call.callee.received), len(call.caller.received)
    await call.talk(500, 1200)
    await wait_for_condition(lambda: call.heard_both(callee_at, caller_at, 500, 1200), what="relayed again")
    assert not tone_of(call.caller.received[-16:], 800), "the music stopped"
    await wait_for_condition(lambda: len(call.callee.received) == 45, what="every packet relayed")
    figures = await engine.quality("fw-6")
    assert figures.caller.packets == 15 + 30, "the counters went along, both ways"
    assert figures.caller.lost == 0
    call.close()


async def test_a_lost_forwarder_is_restarted_and_its_calls_keep_their_media(
    engine: EmbeddedMediaEngine,
) -> None:
    call = await Call(engine, "fw-3").open()
    await call.talk(440, 1000, 300)
    await wait_for_condition(lambda: call.heard_both(0, 0, 440, 1000) or len(call.caller.received) >= 15)
    relay = engine._session("fw-3")
    assert relay.forwarder is not None
    lost = relay.forwarder
    assert lost.pid is not None
    os.kill(lost.pid, signal.SIGKILL)
    await wait_for_condition(
        lambda: relay.forwarder is None and relay.coming_back is None, what="the call back"
    )
    callee_at, caller_at = len(call.callee.received), len(call.caller.received)
    await call.talk(500, 1200)
    await wait_for_condition(
        lambda: call.heard_both(callee_at, caller_at, 500, 1200), what="the call's media"
    )
    assert engine._pool is not None
    await wait_for_condition(lambda: engine._pool.pick() is not None, what="a new forwarder")  # type: ignore[union-attr]
    restarted = engine._pool.pick()
    assert restarted is not None
    assert restarted.pid != lost.pid
    second = await Call(engine, "fw-4").open()
    assert engine._session("fw-4").forwarder is restarted
    await second.talk(700, 900)
    await wait_for_condition(lambda: second.heard_both(0, 0, 700, 900), what="the new call's media")
    call.close()
    second.close()


async def test_closing_the_engine_stops_its_forwarder() -> None:
    low = free_port(span=8)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 7, forwarder_processes=2)
    await engine.start()
    assert engine._pool is not None
    pids = [f.pid for f in engine._pool.forwarders]
    assert len(pids) == 2
    assert all(pids)
    await engine.allocate("fw-5")
    await engine.close()
    for forwarder in engine._pool.forwarders:
        assert forwarder._process is not None
        assert forwarder._process.returncode is not None
    release(low, 8)
