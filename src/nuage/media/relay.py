"""One anchored call's relay: two leg endpoints, forwarding, DTMF detection, timeouts, injection.

Packets from one leg go unchanged to the other, except while the engine plays or sends a digit to
that other leg (its own stream then replaces the relayed one). Telephone-events are reported as
digits; a leg that sent media and then stays silent for ``timeout_s`` is reported once per silence.
While a call is recorded, a leg that starts or stops speaking is reported (``SpeechChanged``).
A leg with a tap (``taps``: an application's raw audio stream, a fax) has its audio decoded and
handed to the tap instead of being recorded.

A relay whose session a media forwarder carries (``forwarder`` set) keeps its legs' sockets but
reads nothing: the forwarder forwards, counts and reports (``forwarded_event``); the relay's state
goes to it (``leg_states``) and comes back (``restore``) when the session returns in process. A
recording does not keep a session here (the forwarder tees its audio to the recording's spool);
a stream of the engine's own does, and when the last one ends the relay says so (``on_quiet``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from nuage.media import g711, rtcp
from nuage.media.dtmf import DtmfDetector
from nuage.media.endpoint import RtpEndpoint
from nuage.media.player import Source
from nuage.media.recorder import Recorder
from nuage.media.rtp import RtpPacket
from nuage.media.speech import SpeechDetector
from nuage.sip.media import (
    CallQuality,
    DtmfReceived,
    EventSink,
    MediaTimeout,
    Side,
    SpeechChanged,
    StreamQuality,
    StreamStarted,
)

if TYPE_CHECKING:
    from nuage.media.forwarding import Forwarder

AUDIO_TYPES = (0, 8)


class Relay:
    """The media of one call between the caller's and the callee's legs."""

    def __init__(self, call_id: str, emit: EventSink, timeout_s: float) -> None:
        self.call_id = call_id
        self.emit = emit
        self.timeout_s = timeout_s
        self.legs = {side: RtpEndpoint(self._on_rtp) for side in Side}
        self.payload_type = 0
        self.event_type: int | None = None
        self.recorder: Recorder | None = None
        self.taps: dict[Side, Callable[[bytes], None]] = {}  # raw audio heard from a leg (fax)
        self._route = {id(endpoint): (side, self.legs[side.other]) for side, endpoint in self.legs.items()}
        self._detectors = {side: DtmfDetector() for side in Side}
        self._speech = {side: SpeechDetector() for side in Side}
        self._injecting: dict[Side, asyncio.Task[None]] = {}
        self._timed_out: set[Side] = set()
        self._started: set[Side] = set()
        self._watch: asyncio.Task[None] | None = None
        self.sid = 0  # the session's number with its forwarder
        self.forwarder: Forwarder | None = None  # the process that carries it (None: this one)
        self.coming_back: asyncio.Future[None] | None = None  # being taken back from its forwarder
        self.on_quiet: Callable[[], None] | None = None  # the engine's streams here have all ended

    def start(self) -> None:
        """Start watching for stream timeouts and sending receiver reports."""
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watchdog())

    async def in_process(self) -> None:
        """Read the legs on this loop and watch them (the session is carried here)."""
        for leg in self.legs.values():
            await leg.receive()
        self.start()

    def quiet(self) -> bool:
        """Whether nothing here needs the call's audio (no tap or stream of the engine; a forwarder
        records a call as well as this process)."""
        return not self.taps and not self._injecting

    def speaking(self) -> list[bool | None]:
        """Each leg's speech state (caller's first), for whoever records the call on."""
        return [self._speech[side].speaking for side in Side]

    def set_speaking(self, states: list[bool | None]) -> None:
        """Carry on from the speech states a forwarder returned (caller's first)."""
        for side, state in zip(Side, states, strict=False):
            self._speech[side].speaking = state

    def out_of_process(self) -> None:
        """Stop reading and watching the legs here (a forwarder carries the session again)."""
        for leg in self.legs.values():
            leg.stop_receiving()
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()

    def leg_states(self) -> list[dict[str, Any]]:
        """Both legs' state, caller's first, for a forwarder that carries the session on."""
        return [
            leg.state(side in self._started, side in self._timed_out, self._detectors[side].recent())
            for side, leg in self.legs.items()
        ]

    def restore(self, states: dict[str, dict[str, Any]]) -> None:
        """Carry on from the legs' state a forwarder returned (by side)."""
        for side, leg in self.legs.items():
            state = states.get(side.value)
            if state is None:
                continue
            leg.restore(state)
            if state["started"]:
                self._started.add(side)
            if state["timed_out"]:
                self._timed_out.add(side)
            else:
                self._timed_out.discard(side)
            self._detectors[side] = DtmfDetector(state["digits"])

    def forwarded_event(self, event: dict[str, Any]) -> None:
        """What the session's forwarder saw: a stream started, a digit, a timeout."""
        side = Side(event["side"])
        kind = event["ev"]
        if kind == "started":
            source = (str(event["source"][0]), int(event["source"][1]))
            self.legs[side].latched = source
            if side not in self._started:
                self._started.add(side)
                self.emit(StreamStarted(self.call_id, side, source))
        elif kind == "dtmf":
            self.emit(DtmfReceived(self.call_id, side, str(event["digit"]), int(event["duration_ms"])))
        elif kind == "speech":
            self._speech[side].speaking = bool(event["speaking"])
            self.emit(SpeechChanged(self.call_id, side, bool(event["speaking"])))
        elif kind == "timeout":
            self._timed_out.add(side)
            self.emit(MediaTimeout(self.call_id, side, float(event["idle_s"])))

    def _on_rtp(self, endpoint: RtpEndpoint, packet: RtpPacket, data: bytes) -> None:
        # every relayed packet passes here: the common case (both streams flowing, nothing recorded,
        # tapped or injected) costs a dict look-up by int and a few tests, no Side hashing
        side, other = self._route[id(endpoint)]
        if len(self._started) < 2 and side not in self._started and endpoint.latched is not None:
            self._started.add(side)
            self.emit(StreamStarted(self.call_id, side, endpoint.latched))
        if self._timed_out:
            self._timed_out.discard(side)
        payload_type = packet.payload_type
        if payload_type == self.event_type:
            with contextlib.suppress(ValueError):
                found = self._detectors[side].feed(packet.timestamp, packet.payload)
                if found is not None:
                    self.emit(DtmfReceived(self.call_id, side, found[0], found[1]))
        elif (self.taps or self.recorder is not None) and payload_type in AUDIO_TYPES:
            self._audio(side, packet)
        if not self._injecting or side.other not in self._injecting:
            other.send(data)

    def _audio(self, side: Side, packet: RtpPacket) -> None:
        """Audio heard from ``side`` while a tap or a recording wants it."""
        if side in self.taps:
            self.taps[side](g711.decode(packet.payload_type, packet.payload).astype("<i2").tobytes())
        elif self.recorder is not None:
            pcm = g711.decode(packet.payload_type, packet.payload)
            self.recorder.feed(side, packet.timestamp, pcm)
            speaking = self._speech[side].feed(pcm)
            if speaking is not None:
                self.emit(SpeechChanged(self.call_id, side, speaking))

    def inject(self, to: Side, work: Coroutine[Any, Any, None]) -> None:
        """Run the engine's own stream ``work`` towards ``to``, replacing relayed media until it ends."""
        previous = self._injecting.pop(to, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(work)
        self._injecting[to] = task
        task.add_done_callback(lambda t: self._ended(to, t))

    def _ended(self, to: Side, task: asyncio.Task[None]) -> None:
        """A stream of the engine's ended by itself (one replaced or stopped is not this one's)."""
        if self._injecting.get(to) is task:
            del self._injecting[to]
            if self.on_quiet is not None and self.quiet():
                self.on_quiet()

    def stop(self, to: Side) -> None:
        """End the engine's own stream towards ``to`` (relayed media flows to it again)."""
        task = self._injecting.pop(to, None)
        if task is not None:
            task.cancel()

    def source(self, to: Side) -> Source:
        """A new engine stream towards the leg ``to``."""
        return Source(self.legs[to].send, self.payload_type, self.event_type)

    async def _watchdog(self) -> None:
        interval = min(1.0, self.timeout_s / 4)
        next_report = time.monotonic() + 5.0
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for side, leg in self.legs.items():
                idle = now - leg.last_packet_at if leg.last_packet_at is not None else 0.0
                if idle >= self.timeout_s and side not in self._timed_out:
                    self._timed_out.add(side)
                    self.emit(MediaTimeout(self.call_id, side, round(idle, 3)))
            if now >= next_report:
                next_report = now + 5.0
                self._send_reports()

    def _send_reports(self) -> None:
        for leg in self.legs.values():
            if leg.ssrc is not None:
                block = leg.stats.report_block(leg.ssrc)
                leg.send_rtcp(rtcp.build(rtcp.Report(rtcp.RR, id(self) & 0xFFFFFFFF, (block,))))

    def quality(self) -> CallQuality:
        """Both received streams and the E-model estimate of the worse one."""
        streams = {
            side: StreamQuality(leg.stats.received, leg.stats.lost, round(leg.stats.jitter_ms, 3))
            for side, leg in self.legs.items()
        }
        loss = max(s.loss_fraction for s in streams.values())
        jitter = max(s.jitter_ms for s in streams.values())
        r, mos = rtcp.e_model(loss, jitter)
        return CallQuality(streams[Side.CALLER], streams[Side.CALLEE], round(r, 1), round(mos, 2))

    async def close(self) -> None:
        """Stop every task and close both legs."""
        tasks = [t for t in (self._watch, *self._injecting.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for leg in self.legs.values():
            leg.close()
        await asyncio.sleep(0)  # the transports close their sockets on the next loop turn
