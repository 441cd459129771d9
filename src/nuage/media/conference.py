"""A conference room's live media (CFG-8): one RTP endpoint per participant and the 20 ms mix.

The bridge owns the room's participants as the media engine sees them: their endpoints (bound by
the engine in its port range, symmetric RTP with latching), the mixer, and the ticker that sends
each participant their mix every 20 ms, paced on the loop clock (tick n at start + n × 20 ms, so
scheduling delays never accumulate; a loop that fell far behind resynchronises instead of
bursting). G.711 in, G.711 out, in each participant's own payload type; telephone-events are not
mixed. The room's recording (CFG-9, when the account's setting allows it) is the whole mix, mono
FLAC, written off the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile

from nuage.media import g711, rtp
from nuage.media.endpoint import Address, RtpEndpoint
from nuage.media.g711 import Pcm
from nuage.media.mixer import Mixer
from nuage.media.player import FRAME, PTIME, RATE
from nuage.shared.clock import Clock
from nuage.sip.media import MediaError, Recording

AUDIO_TYPES = (g711.PCMU, g711.PCMA)
OnRtp = Callable[[RtpEndpoint, rtp.RtpPacket, bytes], None]
MAX_PARTICIPANTS = 200
RESYNC_TICKS = 10  # a loop this many ticks late starts counting again from now


class RoomFull(MediaError):
    """The room has ``MAX_PARTICIPANTS`` already."""


@dataclass
class Participant:
    """One participant as the live list shows them."""

    key: str
    label: str
    joined_at: datetime
    moderator: bool = False
    muted: bool = False
    endpoint: RtpEndpoint | None = field(default=None, repr=False)
    payload_type: int = g711.PCMU
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    sequence: int = field(default_factory=lambda: random.getrandbits(16))
    timestamp: int = field(default_factory=lambda: random.getrandbits(32))

    def send(self, pcm: Pcm, marker: bool) -> None:
        """One 20 ms frame to the participant."""
        self.send_payload(g711.encode(self.payload_type, pcm), marker)

    def send_payload(self, payload: bytes, marker: bool) -> None:
        """One 20 ms frame, already encoded in the participant's law."""
        if self.endpoint is None:
            return
        self.endpoint.send(
            rtp.build(self.payload_type, self.sequence, self.timestamp, self.ssrc, payload, marker)
        )
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + FRAME) & 0xFFFFFFFF


class ConferenceBridge:
    """The live media of one conference room."""

    def __init__(self, room_id: str, bind: Callable[[RtpEndpoint], Awaitable[None]], clock: Clock) -> None:
        self.room_id = room_id
        self.bind = bind
        self.clock = clock
        self.mixer = Mixer()
        self.participants: dict[str, Participant] = {}
        self.ticks = 0
        self._ticker: asyncio.Task[None] | None = None
        self._recording: tuple[Path, list[Pcm]] | None = None
        self._restore: dict[str, tuple[RtpEndpoint, OnRtp]] = {}  # attached endpoints' own handlers

    async def add(
        self,
        key: str,
        label: str,
        *,
        payload_type: int = g711.PCMU,
        remote: Address | None = None,
        moderator: bool = False,
    ) -> int:
        """Add a participant (their endpoint bound now) and return the engine's RTP port for them."""
        if key in self.participants:
            endpoint = self.participants[key].endpoint
            return endpoint.port if endpoint is not None else 0
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise RoomFull(f"conference room {self.room_id} is full ({MAX_PARTICIPANTS})")
        if payload_type not in AUDIO_TYPES:
            raise MediaError("a conference mixes PCMU or PCMA only")
        endpoint = RtpEndpoint(lambda _e, packet, _d: self._on_rtp(key, packet))
        await self.bind(endpoint)
        endpoint.remote = remote
        self.participants[key] = Participant(
            key, label, self.clock.now(), moderator, endpoint=endpoint, payload_type=payload_type
        )
        self.mixer.join(key)
        self._start()
        return endpoint.port

    def attach(
        self, key: str, label: str, endpoint: RtpEndpoint, *, payload_type: int, moderator: bool = False
    ) -> None:
        """Add a participant on an endpoint the engine already has (an answered call's leg): its
        audio is mixed too (what the endpoint did with it before still happens), the mix is sent
        to it. The endpoint stays its owner's: ``remove`` gives it back as it was."""
        if key in self.participants:
            return
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise RoomFull(f"conference room {self.room_id} is full ({MAX_PARTICIPANTS})")
        if payload_type not in AUDIO_TYPES:
            raise MediaError("a conference mixes PCMU or PCMA only")
        before = endpoint.on_rtp

        def both(source: RtpEndpoint, packet: rtp.RtpPacket, data: bytes) -> None:
            before(source, packet, data)
            self._on_rtp(key, packet)

        endpoint.on_rtp = both
        self._restore[key] = (endpoint, before)
        self.participants[key] = Participant(
            key, label, self.clock.now(), moderator, endpoint=endpoint, payload_type=payload_type
        )
        self.mixer.join(key)
        self._start()

    def _on_rtp(self, key: str, packet: rtp.RtpPacket) -> None:
        participant = self.participants.get(key)
        if participant is None or packet.payload_type not in AUDIO_TYPES or not packet.payload:
            return
        self.mixer.push(key, packet.timestamp, g711.decode(packet.payload_type, packet.payload))

    def remove(self, key: str) -> bool:
        """The participant leaves (hung up, or kicked); the others hear the leave tone."""
        participant = self.participants.pop(key, None)
        if participant is None:
            return False
        self.mixer.leave(key)
        restore = self._restore.pop(key, None)
        if restore is not None:
            endpoint, before = restore
            endpoint.on_rtp = before
        elif participant.endpoint is not None:
            participant.endpoint.close()
        return True

    def set_muted(self, key: str, muted: bool) -> Participant:
        """Mute or unmute; KeyError when the participant is not in the room."""
        participant = self.participants[key]
        participant.muted = muted
        self.mixer.set_muted(key, muted)
        return participant

    def start_recording(self, path: Path) -> None:
        """Record the room's whole mix from now on (CFG-9: only when the account's setting allows)."""
        self._recording = (path, [])

    @property
    def recording(self) -> bool:
        """Whether the room is being recorded."""
        return self._recording is not None

    async def stop_recording(self) -> Recording:
        """Stop and write the recording (mono FLAC) off the loop."""
        if self._recording is None:
            raise MediaError(f"conference room {self.room_id} is not being recorded")
        (path, chunks), self._recording = self._recording, None
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        await asyncio.to_thread(soundfile.write, str(path), pcm, RATE, format="FLAC", subtype="PCM_16")
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        return Recording(path, size, len(pcm) / RATE)

    def tick(self) -> None:
        """Mix one frame and send each participant theirs."""
        keys, frames = self.mixer.tick_frames()
        if keys:
            laws = {p.payload_type for p in self.participants.values()}
            encoded = {law: g711.encode_frames(law, frames) for law in laws}  # one look-up per law
            marker = self.ticks == 0
            for row, key in enumerate(keys):
                participant = self.participants.get(key)
                if participant is not None:
                    participant.send_payload(encoded[participant.payload_type][row].tobytes(), marker)
        if self._recording is not None and keys:
            self._recording[1].append(np.clip(self.mixer.last_total, -32768, 32767).astype(np.int16))
        self.ticks += 1

    def _start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while self.participants:
            self.tick()
            n += 1
            delay = start + n * PTIME - loop.time()
            if delay < -RESYNC_TICKS * PTIME:
                start, n = loop.time(), 0
            elif delay > 0:
                await asyncio.sleep(delay)
        self._ticker = None

    async def close(self) -> None:
        """Everybody leaves; the ticker stops (an unfinished recording is written first)."""
        if self._recording is not None:
            await self.stop_recording()
        for key in list(self.participants):
            self.remove(key)
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
