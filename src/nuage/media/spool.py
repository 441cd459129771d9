"""A recorded call's spool: the raw G.711 frames a media forwarder tees off a call it relays (issue #15).

Owns the spool's format and both its ends. While a forwarded call is recorded, the forwarder appends
each audio packet's payload of both directions to a per-call file next to the recording (``Tee``:
in memory up to ``FLUSH_BYTES``, then one write; at most ``MAX_BYTES`` in all, what is past that is
counted and dropped), with what the recorder needs to place it: the direction, payload type, RTP
sequence number and timestamp, and the arrival time (``time.monotonic``, one clock for every process
of the machine). The engine's loop never touches these packets: when the recording stops, the
recorder reads the spool in a worker thread (``read``), decodes and places the frames by timestamp
as it does with those it heard in process, and deletes it. The tee also tells speech from silence
on both directions (``speech.SpeechDetector``), as the in-process relay does for a recorded call.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from nuage.media import g711, rtp
from nuage.media.speech import SpeechDetector

# direction (0 caller, 1 callee), payload type, payload length, sequence, timestamp, arrival time
HEADER = struct.Struct("<BBHHId")
FLUSH_BYTES = 64 * 1024
MAX_BYTES = 512 * 1024 * 1024  # about eight hours of a G.711 call, both ways
AUDIO_TYPES = (g711.PCMU, g711.PCMA)

Frame = tuple[
    int, int, int, int, float, bytes
]  # direction, payload type, sequence, timestamp, arrival, payload


def spool_path(recording: Path) -> Path:
    """Where the spool of the recording stored at ``recording`` is kept until it is stored."""
    return recording.with_name(f".{recording.name}.spool")


class Tee:
    """The forwarder's end of one recording: frames buffered, appended to the spool, bounded."""

    __slots__ = ("path", "fd", "buffer", "written", "dropped", "frames", "speech")

    def __init__(self, path: str, speaking: list[bool | None]) -> None:
        self.path = path
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.buffer = bytearray()
        self.written = os.fstat(self.fd).st_size
        self.dropped = 0
        self.frames = 0
        self.speech = [SpeechDetector(), SpeechDetector()]
        for detector, state in zip(self.speech, speaking, strict=False):
            detector.speaking = state

    def frame(
        self, direction: int, payload_type: int, sequence: int, timestamp: int, at: float, payload: bytes
    ) -> bool | None:
        """Append one packet's payload; the direction's new speech state when it changed."""
        if self.written + len(self.buffer) + HEADER.size + len(payload) > MAX_BYTES:
            self.dropped += 1
            return None
        self.buffer += HEADER.pack(direction, payload_type, len(payload), sequence, timestamp, at)
        self.buffer += payload
        self.frames += 1
        if len(self.buffer) >= FLUSH_BYTES:
            self.flush()
        return self.speech[direction].feed(g711.decode(payload_type, payload))

    def packet(
        self, direction: int, payload_type: int, sequence: int, timestamp: int, at: float, data: memoryview
    ) -> bool | None:
        """``frame`` with the payload of the RTP packet ``data`` (None: it has none)."""
        if data[0] == 0x80:  # no padding, extension nor CSRC: the payload follows the fixed header
            return self.frame(direction, payload_type, sequence, timestamp, at, bytes(data[12:]))
        try:
            payload = rtp.parse(bytes(data)).payload
        except rtp.RtpError:
            return None
        return self.frame(direction, payload_type, sequence, timestamp, at, payload)

    def flush(self) -> None:
        """Write what is buffered (a failed write loses it: the recording goes on without it)."""
        if self.buffer and self.fd is not None:
            try:
                os.write(self.fd, self.buffer)
                self.written += len(self.buffer)
            except OSError:
                self.dropped += 1
        self.buffer.clear()

    def close(self) -> dict[str, object]:
        """Flush and close; the spool's figures and the speech states (for whoever carries on)."""
        self.flush()
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        return {"frames": self.frames, "dropped": self.dropped, "speaking": [d.speaking for d in self.speech]}


def read(path: Path) -> Iterator[Frame]:
    """The frames of a spool, in the order they were written (a cut-off last frame is left out).
    Blocking: for a worker thread."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    offset, size = 0, HEADER.size
    while offset + size <= len(data):
        direction, payload_type, length, sequence, timestamp, at = HEADER.unpack_from(data, offset)
        offset += size
        if offset + length > len(data):
            return
        yield direction, payload_type, sequence, timestamp, at, data[offset : offset + length]
        offset += length
