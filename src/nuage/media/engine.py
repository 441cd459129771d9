"""The embedded media engine: ``MediaPort`` on asyncio, sessions keyed by Call-ID.

Owns port allocation (even RTP ports with RTCP on the next one, in a configurable range), the SDP
rewriting that anchors a call (the engine's address and ports, only the codecs it carries: PCMU,
PCMA and telephone-event), and the sessions' relays, players, recorders and events, and
the raw audio streams of applications (``AudioStreamPort``: a fax machine on the caller's leg).

With ``forwarder_processes`` > 0 a session's packets are relayed by a forwarder process
(``forwarding.py``) from its allocation on, off this loop; the engine keeps its sockets and its
control. A session comes back in process as soon as a feature needs its audio here (playing, DTMF
sent, recording, an application's stream, a conference), or when its forwarder is lost, and goes
to a forwarder again when what it played or streamed ends or is stopped; with no forwarder running,
sessions are carried in process as without forwarders. A recorded session stays with its forwarder,
which tees its audio to the recording's spool (``spool.py``); the recorder reads it at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from nuage.media import player
from nuage.media.conference import ConferenceBridge
from nuage.media.endpoint import RtpEndpoint
from nuage.media.forwarding import Forwarder, ForwarderPool
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

log = logging.getLogger(__name__)


class EmbeddedMediaEngine:
    """The default ``MediaPort``: plays and records in this process, relays here or in forwarders."""

    def __init__(
        self,
        address: str = "127.0.0.1",
        port_min: int = 30000,
        port_max: int = 39999,
        timeout_s: float = 30.0,
        forwarder_processes: int = 0,
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
        self._pool = (
            ForwarderPool(forwarder_processes, self._forwarded_event, self._forwarder_lost)
            if forwarder_processes > 0
            else None
        )
        self._sids = itertools.count(1)
        self._forwarded: dict[int, Relay] = {}  # by session number, the sessions forwarders carry
        self._returns: set[asyncio.Task[None]] = set()

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

    async def start(self) -> None:
        """Start the forwarder processes (if any; ``allocate`` starts them too if need be)."""
        if self._pool is not None:
            await self._pool.start()

    async def allocate(self, call_id: str) -> None:
        """Create the session and bind its two legs' ports; a forwarder carries it if one runs."""
        if call_id in self._sessions:
            return
        if self._pool is not None:
            await self._pool.start()
        forwarder = self._pool.pick() if self._pool is not None else None
        relay = Relay(call_id, self._emit, self.timeout_s)
        try:
            for leg in relay.legs.values():
                await self._bind(lambda a, p, leg=leg: leg.bind(a, p, receive=forwarder is None))
        except MediaError:
            await relay.close()
            raise
        self._sessions[call_id] = relay
        relay.on_quiet = lambda: self._forward_again(relay)
        if forwarder is None or not self._hand_over(relay, forwarder):
            await relay.in_process()

    def _hand_over(self, relay: Relay, forwarder: Forwarder) -> bool:
        """Give ``relay``'s packets to ``forwarder`` (False: it is gone meanwhile)."""
        relay.sid = next(self._sids)
        legs = relay.legs.values()
        try:
            forwarder.send(
                {
                    "op": "add", "sid": relay.sid, "sides": [side.value for side in relay.legs],
                    "timeout_s": self.timeout_s, "reporter": id(relay) & 0xFFFFFFFF,
                    "event_type": relay.event_type, "state": relay.leg_states(),
                    "spool": None if relay.recorder is None else str(relay.recorder.spool.absolute()),
                    "speaking": relay.speaking(),
                },
                [fd for leg in legs for fd in leg.fds()],
            )  # fmt: skip
        except MediaError:
            return False
        if not forwarder.alive:  # lost while sending: the session stays here
            return False
        relay.forwarder = forwarder
        forwarder.sessions.add(relay.sid)
        self._forwarded[relay.sid] = relay
        return True

    def _forward_again(self, relay: Relay) -> None:
        """Hand a session that came back in process to a forwarder again once it is ``quiet``
        (music on hold over, an application's stream ended), unless it is in a conference."""
        if self._pool is None or relay.forwarder is not None or relay.coming_back is not None:
            return
        if self._sessions.get(relay.call_id) is not relay:  # released meanwhile
            return
        if not relay.quiet() or any(relay.call_id in room.participants for room in self.conferences.values()):
            return
        forwarder = self._pool.pick()
        if forwarder is None:
            return
        relay.out_of_process()
        if not self._hand_over(relay, forwarder):
            self._returns_add(relay.in_process())

    def _returns_add(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)

    def _tell(self, relay: Relay, message: dict[str, Any]) -> None:
        """Tell a forwarded session's forwarder what changed (a leg's address, the event type)."""
        if relay.forwarder is not None:
            with contextlib.suppress(MediaError):  # lost: the session comes back with what we know
                relay.forwarder.send({**message, "sid": relay.sid})

    async def _in_process(self, relay: Relay) -> None:
        """Bring ``relay`` back from its forwarder (a feature needs its audio here)."""
        if relay.coming_back is not None:
            await relay.coming_back
        forwarder = relay.forwarder
        if forwarder is None:
            return
        relay.forwarder = None
        relay.coming_back = asyncio.get_running_loop().create_future()
        try:
            try:
                reply = await forwarder.request({"op": "take", "sid": relay.sid})
                relay.restore(reply["state"])
                if reply.get("spool") is not None:
                    relay.set_speaking(reply["spool"]["speaking"])
            except MediaError as exc:
                log.warning("call %s: its media comes back without its counters: %s", relay.call_id, exc)
            forwarder.sessions.discard(relay.sid)
            self._forwarded.pop(relay.sid, None)
            await relay.in_process()
        finally:
            relay.coming_back.set_result(None)
            relay.coming_back = None

    async def _forwarder_state(self, relay: Relay, op: str) -> None:
        """The forwarder's figures of ``relay`` (``stats``), or its end there (``drop``)."""
        if relay.coming_back is not None:
            await relay.coming_back
        forwarder = relay.forwarder
        if forwarder is None:
            return
        if op == "drop":
            relay.forwarder = None
            forwarder.sessions.discard(relay.sid)
            self._forwarded.pop(relay.sid, None)
        try:
            reply = await forwarder.request({"op": op, "sid": relay.sid})
            relay.restore(reply["state"])
        except MediaError as exc:
            log.warning("call %s: no figures from its forwarder: %s", relay.call_id, exc)

    def _forwarded_event(self, sid: int, event: dict[str, Any]) -> None:
        relay = self._forwarded.get(sid)
        if relay is not None:
            relay.forwarded_event(event)

    def _forwarder_lost(self, sids: set[int]) -> None:
        """A forwarder exited: its sessions come back in process (the engine holds their sockets)."""
        for sid in sids:
            relay = self._forwarded.get(sid)
            if relay is not None:
                self._returns_add(self._in_process(relay))

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
        self._tell(relay, {"op": "remote", "side": Side.CALLER.value, "remote": stream.remote})
        self._tell(relay, {"op": "event_type", "event_type": stream.event_type})
        return stream.anchored(self.address, relay.legs[Side.CALLEE].port)

    async def answer(self, call_id: str, sdp: bytes) -> bytes:
        """Anchor the callee's answer: the caller will send to the engine's caller-side port."""
        relay = self._session(call_id)
        stream = audio_stream(sdp)
        relay.legs[Side.CALLEE].repoint(stream.remote)
        relay.payload_type, relay.event_type = stream.payload_type, stream.event_type
        self._tell(relay, {"op": "remote", "side": Side.CALLEE.value, "remote": stream.remote})
        self._tell(relay, {"op": "event_type", "event_type": stream.event_type})
        return stream.anchored(self.address, relay.legs[Side.CALLER].port)

    async def play(self, call_id: str, to: Side, source: Path | Tone) -> None:
        """Play a sound file (read off the loop) or a tone to ``to``."""
        relay = self._session(call_id)
        await self._in_process(relay)
        if isinstance(source, Tone):
            pcm = player.tone(source.frequency_hz, source.duration_ms, source.level_dbfs)
        else:
            try:
                pcm = await player.load(source)
            except (OSError, RuntimeError) as exc:
                raise MediaError(f"cannot read {source.name}: {exc}") from exc
        relay.inject(to, relay.source(to).play(pcm))

    async def stop_playing(self, call_id: str, to: Side) -> None:
        """Stop the engine's stream to ``to``; relayed media flows to it again (by a forwarder
        again, when nothing else needs the call's audio here)."""
        relay = self._session(call_id)
        relay.stop(to)
        self._forward_again(relay)

    async def send_dtmf(self, call_id: str, to: Side, digit: str, duration_ms: int = 160) -> None:
        """Send an RFC 4733 digit to ``to``."""
        relay = self._session(call_id)
        if relay.event_type is None:
            raise UnsupportedMedia("the call did not negotiate telephone-event")
        await self._in_process(relay)
        relay.inject(to, relay.source(to).digit(digit, duration_ms))

    async def stream_audio(self, call_id: str, side: Side, stream: AudioStream) -> None:
        """Exchange raw audio with the leg ``side`` (``AudioStreamPort``): what it sends is decoded
        and handed to ``stream.heard``; ``stream.next_frame()`` is sent to it every 20 ms."""
        relay = self._session(call_id)
        await self._in_process(relay)
        relay.taps[side] = stream.heard
        relay.inject(side, relay.source(side).stream(stream.next_frame))

    async def stop_audio(self, call_id: str, side: Side) -> None:
        """End ``stream_audio`` on ``side``."""
        relay = self._session(call_id)
        relay.taps.pop(side, None)
        relay.stop(side)
        self._forward_again(relay)

    async def start_recording(self, call_id: str, path: Path) -> None:
        """Record both directions from now on (a forwarded call stays with its forwarder, which
        tees its audio to the recording's spool)."""
        relay = self._session(call_id)
        if relay.coming_back is not None:
            await relay.coming_back
        recorder = relay.recorder = Recorder(path)
        await self._tee(
            relay, {"op": "record", "spool": str(recorder.spool.absolute()), "speaking": relay.speaking()}
        )

    async def _tee(self, relay: Relay, message: dict[str, Any]) -> None:
        """Start or stop a forwarded session's tee (a lost forwarder: the session comes back)."""
        forwarder = relay.forwarder
        if forwarder is None:
            return
        try:
            reply = await forwarder.request({**message, "sid": relay.sid})
        except MediaError as exc:
            log.warning("call %s: recorded in process: %s", relay.call_id, exc)
            await self._in_process(relay)
            return
        if reply.get("spool") is not None:
            relay.set_speaking(reply["spool"]["speaking"])

    async def stop_recording(self, call_id: str) -> Recording:
        """Stop and store the recording (FLAC, the spool read and the file written off the loop)."""
        relay = self._session(call_id)
        if relay.coming_back is not None:
            await relay.coming_back
        recorder, relay.recorder = relay.recorder, None
        if recorder is None:
            raise MediaError(f"call {call_id!r} is not being recorded")
        await self._tee(relay, {"op": "unrecord"})
        return await recorder.finish()

    async def quality(self, call_id: str) -> CallQuality:
        """Loss, jitter, R and MOS so far."""
        relay = self._session(call_id)
        await self._forwarder_state(relay, "stats")
        return relay.quality()

    async def release(self, call_id: str) -> CallQuality:
        """Close the session (an unfinished recording is stored first) and return its quality."""
        relay = self._session(call_id)
        if relay.recorder is not None:
            await self.stop_recording(call_id)
        for room_id, bridge in list(self.conferences.items()):
            if call_id in bridge.participants:
                await self.leave_conference(call_id, room_id)
        del self._sessions[call_id]
        await self._forwarder_state(relay, "drop")
        figures = relay.quality()
        await relay.close()
        return figures

    async def join_conference(
        self, call_id: str, room_id: str, label: str, *, moderator: bool = False
    ) -> int:
        """CFG-8: the caller of ``call_id`` (a call the engine answers) joins room ``room_id``'s mix;
        how many are in the room now."""
        relay = self._session(call_id)
        await self._in_process(relay)
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
        for task in list(self._returns):
            await task
        if self._pool is not None:
            await self._pool.close()
