"""A conference room's live media (CFG-8): one RTP endpoint per participant and the 20 ms mix.

The bridge owns the room's participants as the media engine sees them: their endpoints (bound by
the engine in its port range, symmetric RTP with latching), the mixer, and the ticker that sends
each participant their mix every 20 ms, paced on the loop clock (tick n at start + n × 20 ms, so
scheduling delays never accumulate; a loop that fell far behind resynchronises instead of
bursting). G.711 in, G.711 out, in each participant's own payload type; telephone-events are not
mixed. Per packet the work is small: an endpoint hands each RTP packet straight to its
participant's playout buffer, which keeps the G.711 bytes; the tick mixes the whole room in a few
numpy passes (``Mixer.mix``) and the ``Outbox`` encodes every participant's frame into their
prebuilt RTP packet (rebuilt when someone joins or leaves; sequence and timestamp carry on). The
room's recording (CFG-9, when the account's setting allows it) is the whole mix, mono FLAC,
written off the loop.
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
from nuage.media.mixer import Member, Mixer
from nuage.media.outbox import Outbox
from nuage.media.player import PTIME, RATE
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
    sequence: int = field(default_factory=lambda: random.getrandbits(16))  # of the next packet sent
    timestamp: int = field(default_factory=lambda: random.getrandbits(32))
    started: bool = False  # a packet was sent (the first one has the marker bit)


def _nothing(*_args: object) -> None:
    return None


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
        self._outbox: Outbox | None = None
        self._outbox_keys: list[str] = []

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
        self._check(payload_type)
        endpoint = RtpEndpoint(_nothing)
        await self.bind(endpoint)
        endpoint.remote = remote
        self._enrol(key, label, endpoint, payload_type, moderator, owned=True)
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
        self._check(payload_type)
        self._restore[key] = (endpoint, endpoint.on_rtp)
        self._enrol(key, label, endpoint, payload_type, moderator, owned=False)
        self._start()

    def _check(self, payload_type: int) -> None:
        if len(self.participants) >= MAX_PARTICIPANTS:
            raise RoomFull(f"conference room {self.room_id} is full ({MAX_PARTICIPANTS})")
        if payload_type not in AUDIO_TYPES:
            raise MediaError("a conference mixes PCMU or PCMA only")

    def _enrol(
        self, key: str, label: str, endpoint: RtpEndpoint, payload_type: int, moderator: bool, *, owned: bool
    ) -> Member:
        """The participant joins the mix: the endpoint's packets go to their playout buffer (an
        owned endpoint's straight there; another's after what it did with them before)."""
        self._outbox_done()
        self.participants[key] = Participant(
            key, label, self.clock.now(), moderator, endpoint=endpoint, payload_type=payload_type
        )
        member = self.mixer.join(key, law=payload_type)
        push = member.playout.push_rtp
        if owned:
            endpoint.on_rtp = push
        else:
            before = endpoint.on_rtp

            def both(source: RtpEndpoint, packet: rtp.RtpPacket, data: bytes) -> None:
                before(source, packet, data)
                push(source, packet, data)

            endpoint.on_rtp = both
        return member

    def remove(self, key: str) -> bool:
        """The participant leaves (hung up, or kicked); the others hear the leave tone."""
        if key not in self.participants:
            return False
        self._outbox_done()
        participant = self.participants.pop(key)
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
        if self.mixer.keys:
            heard = self.mixer.mix()
            outbox = self._outbox if self._outbox is not None else self._outbox_new()
            outbox.send(heard)
            if self._recording is not None:
                self._recording[1].append(self.mixer.last_total)
        self.ticks += 1

    def _outbox_new(self) -> Outbox:
        """The packets of the participants as they are now (rebuilt when someone joins or leaves)."""
        present = [self.participants[key] for key in self.mixer.keys]
        outbox = Outbox(
            [(p.payload_type, p.sequence, p.timestamp, p.ssrc, not p.started) for p in present],
            [p.endpoint.send if p.endpoint is not None else _nothing for p in present],
        )
        for participant in present:
            participant.started = True
        self._outbox, self._outbox_keys = outbox, list(self.mixer.keys)
        return outbox

    def _outbox_done(self) -> None:
        """Someone joins or leaves: the participants keep their sequence and timestamp."""
        if self._outbox is None:
            return
        for row, key in enumerate(self._outbox_keys):
            participant = self.participants.get(key)
            if participant is not None:
                participant.sequence, participant.timestamp = self._outbox.state(row)
        self._outbox = None

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
