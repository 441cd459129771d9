"""The embedded media engine: ``MediaPort`` on asyncio, sessions keyed by Call-ID.

Owns port allocation (even RTP ports with RTCP on the next one, in a configurable range), the SDP
rewriting that anchors a call (the engine's address and ports, only the codecs it carries: PCMU,
PCMA and telephone-event), and the sessions' relays, players, recorders and events, and
the raw audio streams of applications (``AudioStreamPort``: a fax machine on the caller's leg).
"""

from __future__ import annotations

from pathlib import Path

from nuage.media import player
from nuage.media.conference import ConferenceBridge
from nuage.media.endpoint import RtpEndpoint
from nuage.media.recorder import Recorder
from nuage.media.relay import Relay
from nuage.media.sdp import audio_stream
from nuage.media.udptl import UdptlEndpoint
from nuage.shared.clock import Clock, SystemClock
from nuage.sip.media import (
    AudioStream,
    CallQuality,
    EventSink,
    MediaError,
    MediaEvent,
    MediaUnavailable,
    Recording,
    Side,
    Tone,
    UnknownSession,
    UnsupportedMedia,
)


class EmbeddedMediaEngine:
    """The default ``MediaPort``: relays, plays and records in this process."""

    def __init__(
        self,
        address: str = "127.0.0.1",
        port_min: int = 30000,
        port_max: int = 39999,
        timeout_s: float = 30.0,
    ) -> None:
        if port_min % 2:
            port_min += 1
        if port_max - port_min < 3:
            raise ValueError("the media port range needs at least two RTP/RTCP pairs")
        self.address = address
        self.port_min = port_min
        self.port_max = port_max
        self.timeout_s = timeout_s
        self._cursor = port_min
        self._sessions: dict[str, Relay] = {}
        self.conferences: dict[str, ConferenceBridge] = {}  # CFG-8: the live rooms, by room id
        self.clock: Clock = SystemClock()
        self._sinks: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every session's events to ``sink``."""
        self._sinks.append(sink)

    def _emit(self, event: MediaEvent) -> None:
        for sink in self._sinks:
            sink(event)

    def _session(self, call_id: str) -> Relay:
        try:
            return self._sessions[call_id]
        except KeyError:
            raise UnknownSession(f"no media session for call {call_id!r}") from None

    async def allocate(self, call_id: str) -> None:
        """Create the session and bind its two legs' ports."""
        if call_id in self._sessions:
            return
        relay = Relay(call_id, self._emit, self.timeout_s)
        try:
            for leg in relay.legs.values():
                await self._bind(leg.bind)
        except MediaError:
            await relay.close()
            raise
        self._sessions[call_id] = relay
        relay.start()

    async def bind_endpoint(self, endpoint: RtpEndpoint | UdptlEndpoint) -> None:
        """Bind an endpoint of the engine's own (a conference participant's, a fax's UDPTL port) in
        the port range."""
        await self._bind(endpoint.bind)

    async def _bind(self, bind: object) -> None:
        span = (self.port_max - self.port_min + 1) // 2
        for _ in range(span):
            port = self._cursor
            self._cursor = self._cursor + 2 if self._cursor + 3 <= self.port_max else self.port_min
            try:
                await bind(self.address, port)  # type: ignore[operator]
                return
            except OSError:
                continue
        raise MediaUnavailable("no free media port in the configured range")

    async def offer(self, call_id: str, sdp: bytes) -> bytes:
        """Anchor the caller's offer: the callee will send to the engine's callee-side port."""
        await self.allocate(call_id)
        relay = self._session(call_id)
        stream = audio_stream(sdp)
        relay.legs[Side.CALLER].repoint(stream.remote)
        relay.payload_type, relay.event_type = stream.payload_type, stream.event_type
        return stream.anchored(self.address, relay.legs[Side.CALLEE].port)

    async def answer(self, call_id: str, sdp: bytes) -> bytes:
        """Anchor the callee's answer: the caller will send to the engine's caller-side port."""
        relay = self._session(call_id)
        stream = audio_stream(sdp)
        relay.legs[Side.CALLEE].repoint(stream.remote)
        relay.payload_type, relay.event_type = stream.payload_type, stream.event_type
        return stream.anchored(self.address, relay.legs[Side.CALLER].port)

    async def play(self, call_id: str, to: Side, source: Path | Tone) -> None:
        """Play a sound file (read off the loop) or a tone to ``to``."""
        relay = self._session(call_id)
        if isinstance(source, Tone):
            pcm = player.tone(source.frequency_hz, source.duration_ms, source.level_dbfs)
        else:
            try:
                pcm = await player.load(source)
            except (OSError, RuntimeError) as exc:
                raise MediaError(f"cannot read {source.name}: {exc}") from exc
        relay.inject(to, relay.source(to).play(pcm))

    async def stop_playing(self, call_id: str, to: Side) -> None:
        """Stop the engine's stream to ``to``; relayed media flows to it again."""
        self._session(call_id).stop(to)

    async def send_dtmf(self, call_id: str, to: Side, digit: str, duration_ms: int = 160) -> None:
        """Send an RFC 4733 digit to ``to``."""
        relay = self._session(call_id)
        if relay.event_type is None:
            raise UnsupportedMedia("the call did not negotiate telephone-event")
        relay.inject(to, relay.source(to).digit(digit, duration_ms))

    async def stream_audio(self, call_id: str, side: Side, stream: AudioStream) -> None:
        """Exchange raw audio with the leg ``side`` (``AudioStreamPort``): what it sends is decoded
        and handed to ``stream.heard``; ``stream.next_frame()`` is sent to it every 20 ms."""
        relay = self._session(call_id)
        relay.taps[side] = stream.heard
        relay.inject(side, relay.source(side).stream(stream.next_frame))

    async def stop_audio(self, call_id: str, side: Side) -> None:
        """End ``stream_audio`` on ``side``."""
        relay = self._session(call_id)
        relay.taps.pop(side, None)
        relay.stop(side)

    async def start_recording(self, call_id: str, path: Path) -> None:
        """Record both directions from now on."""
        self._session(call_id).recorder = Recorder(path)

    async def stop_recording(self, call_id: str) -> Recording:
        """Stop and store the recording (FLAC, written off the loop)."""
        relay = self._session(call_id)
        recorder, relay.recorder = relay.recorder, None
        if recorder is None:
            raise MediaError(f"call {call_id!r} is not being recorded")
        return await recorder.finish()

    async def quality(self, call_id: str) -> CallQuality:
        """Loss, jitter, R and MOS so far."""
        return self._session(call_id).quality()

    async def release(self, call_id: str) -> CallQuality:
        """Close the session (an unfinished recording is stored first) and return its quality."""
        relay = self._session(call_id)
        if relay.recorder is not None:
            await self.stop_recording(call_id)
        for room_id, bridge in list(self.conferences.items()):
            if call_id in bridge.participants:
                await self.leave_conference(call_id, room_id)
        del self._sessions[call_id]
        figures = relay.quality()
        await relay.close()
        return figures

    async def join_conference(
        self, call_id: str, room_id: str, label: str, *, moderator: bool = False
    ) -> int:
        """CFG-8: the caller of ``call_id`` (a call the engine answers) joins room ``room_id``'s mix;
        how many are in the room now."""
        relay = self._session(call_id)
        bridge = self.conferences.get(room_id)
        if bridge is None:
            bridge = self.conferences[room_id] = ConferenceBridge(room_id, self.bind_endpoint, self.clock)
        bridge.attach(
            call_id, label, relay.legs[Side.CALLER], payload_type=relay.payload_type, moderator=moderator
        )
        return len(bridge.participants)

    async def leave_conference(self, call_id: str, room_id: str) -> Recording | None:
        """The caller leaves the room (hung up or kicked); the last one out closes the room, and its
        recording, if it was recorded, is returned then."""
        bridge = self.conferences.get(room_id)
        if bridge is None:
            return None
        bridge.remove(call_id)
        if bridge.participants:
            return None
        del self.conferences[room_id]
        recording = await bridge.stop_recording() if bridge.recording else None
        await bridge.close()
        return recording

    async def record_conference(self, room_id: str, path: Path) -> None:
        """CFG-9: record the room's whole mix from now on (its last participant out ends it)."""
        bridge = self.conferences.get(room_id)
        if bridge is not None:
            bridge.start_recording(path)

    async def mute_in_conference(self, call_id: str, room_id: str, muted: bool) -> None:
        """Mute or unmute a participant (they still hear the room)."""
        bridge = self.conferences.get(room_id)
        if bridge is not None and call_id in bridge.participants:
            bridge.set_muted(call_id, muted)

    async def close(self) -> None:
        """Release every session."""
        for bridge in list(self.conferences.values()):
            await bridge.close()
        self.conferences.clear()
        for call_id in list(self._sessions):
            await self.release(call_id)
