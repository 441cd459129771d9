"""The media port: what the SIP core asks of a media engine when it anchors a call's media.

Owns the ``MediaPort`` Protocol, its value types (sides, tones, events, quality figures, the result
of a recording) and its errors. The embedded engine (``nuage.media.engine``) and the rtpengine
adapter (``nuage.adapters.rtpengine``) implement it; the B2BUA calls only what is here.

A session is keyed by the call's Call-ID. The caller's leg is the offerer: ``offer`` rewrites the
caller's SDP offer into the one sent to the callee, ``answer`` rewrites the callee's answer into the
one sent back to the caller; from then on media flows caller ↔ engine ↔ callee.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from nuage.directory.recording import CallParties, RecordingRule


class MediaError(Exception):
    """A media operation failed; the message says why."""


class MalformedSdp(MediaError):
    """The SDP body could not be parsed (the SIP side answers 400)."""


class UnsupportedMedia(MediaError):
    """The offer carries no audio codec the engine relays (the SIP side answers 488)."""


class MediaUnavailable(MediaError):
    """The engine did not answer in time or ran out of ports (the SIP side answers 503)."""


class UnknownSession(MediaError):
    """No media session for this Call-ID (never allocated, or released)."""


class Side(enum.StrEnum):
    """One leg of an anchored call: the caller (who sent the offer) or the callee."""

    CALLER = "caller"
    CALLEE = "callee"

    @property
    def other(self) -> Side:
        """The leg at the other end."""
        return Side.CALLEE if self is Side.CALLER else Side.CALLER


@dataclass(frozen=True, slots=True)
class Tone:
    """A generated sine tone (ringback, beep): ``frequency_hz`` for ``duration_ms``."""

    frequency_hz: float
    duration_ms: int
    level_dbfs: float = -12.0


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A leg sent an RFC 4733 telephone-event: ``digit`` is one of 0-9 * # A-D."""

    call_id: str
    side: Side
    digit: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class StreamStarted:
    """The first RTP packet of a leg arrived (from ``source``, the address it was latched to)."""

    call_id: str
    side: Side
    source: tuple[str, int]


@dataclass(frozen=True, slots=True)
class MediaTimeout:
    """A leg's stream had sent media and then stopped for ``idle_s`` seconds."""

    call_id: str
    side: Side
    idle_s: float


@dataclass(frozen=True, slots=True)
class SpeechChanged:
    """While a call is recorded, a leg started (``speaking``) or stopped speaking: its audio rose above
    or fell below the speech level (the embedded engine only; rtpengine reports none)."""

    call_id: str
    side: Side
    speaking: bool


MediaEvent = DtmfReceived | StreamStarted | MediaTimeout | SpeechChanged
EventSink = Callable[[MediaEvent], None]


@dataclass(frozen=True, slots=True)
class StreamQuality:
    """What the engine received from one leg: packets, expected-but-lost, interarrival jitter."""

    packets: int
    lost: int
    jitter_ms: float

    @property
    def loss_fraction(self) -> float:
        """Lost over expected (0 when nothing was expected)."""
        expected = self.packets + self.lost
        return self.lost / expected if expected else 0.0


@dataclass(frozen=True, slots=True)
class CallQuality:
    """An anchored call's quality: both received streams and the E-model estimate of the worse one."""

    caller: StreamQuality
    callee: StreamQuality
    r_factor: float
    mos: float


@dataclass(frozen=True, slots=True)
class Recording:
    """A finished recording: the compressed file, its size in bytes (the volume CFG-9 bills), its length."""

    path: Path
    bytes_stored: int
    duration_s: float


class AudioStream(Protocol):
    """An application's own raw audio with one leg (a fax machine): 16-bit little-endian linear
    samples at 8 kHz, what G.711 decodes to, in 20 ms frames."""

    def heard(self, pcm: bytes) -> None:
        """One frame the leg sent (decoded), as it arrives."""
        ...

    def next_frame(self) -> bytes:
        """The next 20 ms (160 samples) to send to the leg; asked every 20 ms on the loop clock."""
        ...


@runtime_checkable
class AudioStreamPort(Protocol):
    """What a media port that carries an ``AudioStream`` has beyond ``MediaPort`` (the embedded
    engine does; the rtpengine adapter does not: fax needs the embedded engine)."""

    async def stream_audio(self, call_id: str, side: Side, stream: AudioStream) -> None:
        """Exchange raw audio with the leg ``side`` until ``stop_audio`` (replaces what it hears)."""
        ...

    async def stop_audio(self, call_id: str, side: Side) -> None:
        """End ``stream_audio`` (relayed media flows to the leg again)."""
        ...


class MediaPort(Protocol):
    """A media engine as the SIP core sees it (embedded or rtpengine)."""

    async def allocate(self, call_id: str) -> None:
        """Reserve a session for ``call_id``; ports are bound by ``offer`` and ``answer``."""
        ...

    async def offer(self, call_id: str, sdp: bytes) -> bytes:
        """Rewrite the caller's SDP offer so the callee sends its media to the engine.

        Raises MalformedSdp, UnsupportedMedia (no codec carried), MediaUnavailable.
        """
        ...

    async def answer(self, call_id: str, sdp: bytes) -> bytes:
        """Rewrite the callee's SDP answer so the caller sends its media to the engine."""
        ...

    async def play(self, call_id: str, to: Side, source: Path | Tone) -> None:
        """Start playing a WAV file or a tone to the leg ``to`` (returns once it has started)."""
        ...

    async def stop_playing(self, call_id: str, to: Side) -> None:
        """Stop what ``play`` sends to the leg ``to``: the other leg's media reaches it again."""
        ...

    async def send_dtmf(self, call_id: str, to: Side, digit: str, duration_ms: int = 160) -> None:
        """Send one RFC 4733 digit to the leg ``to``."""
        ...

    async def start_recording(self, call_id: str, path: Path) -> None:
        """Record both directions of the call into a compressed file at ``path``."""
        ...

    async def stop_recording(self, call_id: str) -> Recording:
        """Stop the recording and return the stored file and its size."""
        ...

    async def quality(self, call_id: str) -> CallQuality:
        """Loss, jitter and the R-factor/MOS estimate so far."""
        ...

    async def release(self, call_id: str) -> CallQuality:
        """Free the session's ports and return its final quality figures."""
        ...

    def subscribe(self, sink: EventSink) -> None:
        """Deliver the events of every session (DTMF, stream started, media timeout) to ``sink``."""
        ...


# -- what the media plane asks of the rest of the platform (CFG-9 recordings, CFG-12 music) -----
class CallRecordings(Protocol):
    """CFG-9: which calls are recorded (the account's choice), and where recordings are kept."""

    async def rule(self, account_id: str) -> RecordingRule:
        """The account's choice (not ``active``: it records none of its calls)."""
        ...

    async def target(self, account_id: str, call_id: str, parties: CallParties | None = None) -> Path | None:
        """Where to record this call of ``account_id`` (None: the account does not record it: off,
        or none of ``parties`` selected; ``parties`` None: a conference room's mix)."""
        ...

    async def stored(self, account_id: str, call_id: str, recording: Recording) -> None:
        """A finished recording: listed for the account, its bytes counted in its volume (CFG-9)."""
        ...


@dataclass(frozen=True, slots=True)
class HoldTrack:
    """Issue #15: a sound a held party hears, played again every ``seconds`` (its length)."""

    path: Path
    seconds: float


class HoldMusic(Protocol):
    """Issue #15: the music on hold an account chose among its sound files (CFG-12)."""

    async def track_of(self, account_id: str) -> HoldTrack | None:
        """The account's music on hold (None: it chose none, the default plays)."""
        ...
