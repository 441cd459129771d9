"""A jitter buffer that places audio by RTP timestamp, for the recorder.

Frames may arrive late, out of order or twice; each is written at its timestamp's offset on one
timeline, and audio leaves the buffer only once it is ``depth`` samples older than the newest frame,
with gaps filled by silence. A frame older than what already left is dropped (counted).
"""

from __future__ import annotations

import numpy as np

from nuage.media.g711 import Pcm


class JitterBuffer:
    """One direction's timeline of 16-bit samples, filled by timestamp, emptied in order."""

    def __init__(self, depth: int = 1600, max_jump: int = 8000 * 10) -> None:
        self.depth = depth
        self.max_jump = max_jump
        self.late = 0
        self._origin: int | None = None
        self._rebase = 0
        self._flushed = 0
        self._newest_end = 0
        self._frames: dict[int, Pcm] = {}

    def push(self, timestamp: int, pcm: Pcm) -> None:
        """Add the frame whose first sample has RTP ``timestamp``."""
        if self._origin is None:
            self._origin = timestamp
        delta = (timestamp - self._origin) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        offset = delta + self._rebase
        if abs(offset - self._newest_end) > self.max_jump:
            # the sender restarted its timestamps (new source): continue where the timeline is
            self._rebase += self._newest_end - offset
            offset = self._newest_end
        if offset < self._flushed:
            self.late += 1
            return
        self._frames[offset] = pcm
        self._newest_end = max(self._newest_end, offset + len(pcm))

    def pop(self, *, flush: bool = False) -> Pcm:
        """The samples that are ready (all of them with ``flush``), in timeline order."""
        target = self._newest_end if flush else self._newest_end - self.depth
        if target <= self._flushed:
            return np.zeros(0, dtype=np.int16)
        out = np.zeros(target - self._flushed, dtype=np.int16)
        for offset in sorted(self._frames):
            if offset >= target:
                break
            pcm = self._frames.pop(offset)
            end = offset + len(pcm)
            out[offset - self._flushed : min(end, target) - self._flushed] = pcm[: min(end, target) - offset]
            if end > target:
                self._frames[target] = pcm[target - offset :]
        self._flushed = target
        return out
