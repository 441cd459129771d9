"""Records both directions of a call to one compressed file (FLAC, stereo: caller left, callee right).

Each direction's G.711 payloads go through a jitter buffer placed by RTP timestamp; the start of
each direction is aligned on when its first packet arrived after the recording began. The frames
come from two places, in turn as the call moves: those the in-process relay hears (``feed``, kept in
memory with their arrival time) and those a media forwarder tees to the recording's spool
(``spool.py``) while it carries the call. When the recording stops, a worker thread reads the
spool, merges both by arrival, places, encodes and writes the file, so the loop never waits on the
disk nor decodes a forwarded packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import numpy as np
import soundfile

from nuage.media import g711, spool
from nuage.media.g711 import Pcm
from nuage.media.jitter import JitterBuffer
from nuage.media.player import RATE
from nuage.sip.media import Recording, Side

SIDES = tuple(Side)


class Recorder:
    """Collects the audio of both legs while a recording runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spool = spool.spool_path(path)
        self.started_at = time.monotonic()
        self._heard: list[tuple[float, int, int, Pcm]] = []  # in process: arrival, direction, timestamp

    def feed(self, side: Side, timestamp: int, pcm: Pcm) -> None:
        """Add one packet's audio received from ``side`` (G.711 decoded once by the relay)."""
        self._heard.append((time.monotonic(), SIDES.index(side), timestamp, pcm))

    def _channels(self) -> np.ndarray:
        """Both directions placed and side by side (blocking: reads the spool)."""
        frames = list(self._heard)
        for direction, payload_type, _, timestamp, at, payload in spool.read(self.spool):
            frames.append((at, direction, timestamp, g711.decode(payload_type, payload)))
        frames.sort(key=lambda frame: frame[0])  # stable: each source's own order stays
        buffers = [JitterBuffer(), JitterBuffer()]
        chunks: list[list[Pcm]] = [[], []]
        for at, direction, timestamp, pcm in frames:
            if not chunks[direction]:
                lead = max(0, int((at - self.started_at) * RATE))
                chunks[direction].append(np.zeros(lead, dtype=np.int16))
            buffer = buffers[direction]
            buffer.push(timestamp, pcm)
            ready = buffer.pop()
            if len(ready):
                chunks[direction].append(ready)
        tracks = []
        for buffer, chunk in zip(buffers, chunks, strict=True):
            chunk.append(buffer.pop(flush=True))
            tracks.append(np.concatenate(chunk))
        length = max(len(t) for t in tracks)
        out = np.zeros((length, 2), dtype=np.int16)
        for i, track in enumerate(tracks):
            out[: len(track), i] = track
        return out

    def _store(self) -> tuple[int, int]:
        frames = self._channels()
        _write(self.path, frames)
        with contextlib.suppress(FileNotFoundError):
            self.spool.unlink()
        return self.path.stat().st_size, len(frames)

    async def finish(self) -> Recording:
        """Write the FLAC file off the loop and report its size."""
        size, samples = await asyncio.to_thread(self._store)
        return Recording(self.path, size, samples / RATE)


def _write(path: Path, frames: np.ndarray) -> None:
    soundfile.write(str(path), frames, RATE, format="FLAC", subtype="PCM_16")
