"""Records both directions of a call to one compressed file (FLAC, stereo: caller left, callee right).

Each direction's G.711 payloads go through a jitter buffer placed by RTP timestamp; the start of
each direction is aligned on when its first packet arrived after the recording began. Encoding and
writing happen in a thread when the recording stops, so the loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import soundfile

from nuage.media.g711 import Pcm
from nuage.media.jitter import JitterBuffer
from nuage.media.player import RATE
from nuage.sip.media import Recording, Side


class Recorder:
    """Collects decoded audio of both legs while a recording runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started_at = time.monotonic()
        self._buffers = {side: JitterBuffer() for side in Side}
        self._lead: dict[Side, int] = {}
        self._chunks: dict[Side, list[Pcm]] = {side: [] for side in Side}

    def feed(self, side: Side, timestamp: int, pcm: Pcm) -> None:
        """Add one packet's audio received from ``side`` (G.711 decoded once by the relay)."""
        if side not in self._lead:
            self._lead[side] = int((time.monotonic() - self.started_at) * RATE)
            self._chunks[side].append(np.zeros(self._lead[side], dtype=np.int16))
        buffer = self._buffers[side]
        buffer.push(timestamp, pcm)
        ready = buffer.pop()
        if len(ready):
            self._chunks[side].append(ready)

    def _channels(self) -> np.ndarray:
        tracks = []
        for side in Side:
            self._chunks[side].append(self._buffers[side].pop(flush=True))
            tracks.append(np.concatenate(self._chunks[side]))
        length = max(len(t) for t in tracks)
        out = np.zeros((length, 2), dtype=np.int16)
        for i, track in enumerate(tracks):
            out[: len(track), i] = track
        return out

    async def finish(self) -> Recording:
        """Write the FLAC file off the loop and report its size."""
        frames = self._channels()
        await asyncio.to_thread(_write, self.path, frames)
        size = await asyncio.to_thread(lambda: self.path.stat().st_size)
        return Recording(self.path, size, len(frames) / RATE)


def _write(path: Path, frames: np.ndarray) -> None:
    soundfile.write(str(path), frames, RATE, format="FLAC", subtype="PCM_16")
