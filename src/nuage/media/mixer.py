"""The conference mixer (CFG-8): N participants, each hears the sum of the others, 20 ms at a time.

Pure and synchronous (numpy, no sockets, no clock): the conference bridge feeds it the frames that
arrived and asks for one frame per participant every 20 ms. Each participant's audio goes through
its own playout buffer, placed by RTP timestamp (late, reordered and duplicated packets are
tolerated, a gap plays as silence, a backlog beyond ``max_backlog`` is skipped so latency never
grows). A tick sums every unmuted participant in 32 bits once, then gives each the total minus
its own contribution (so nobody hears themselves, even when others saturate) plus any tone
announced to it, clipped to 16 bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from nuage.media.g711 import Pcm
from nuage.media.player import FRAME, tone

Mix = npt.NDArray[np.int32]

JOIN_TONE = np.concatenate([tone(523.25, 90, -18.0), tone(783.99, 120, -18.0)])  # rising: someone joined
LEAVE_TONE = np.concatenate([tone(783.99, 90, -18.0), tone(523.25, 120, -18.0)])  # falling: someone left
_SILENCE = np.zeros(FRAME, dtype=np.int16)


class Playout:
    """One participant's incoming audio, placed by RTP timestamp and read out one frame per tick."""

    def __init__(
        self, depth: int = 3 * FRAME, max_backlog: int = 10 * FRAME, max_jump: int = 8000 * 10
    ) -> None:
        self.depth = depth  # buffered before playing starts (absorbs jitter)
        self.max_backlog = max_backlog
        self.max_jump = max_jump
        self.late = 0
        self.skipped = 0
        self._origin: int | None = None
        self._rebase = 0
        self._cursor = 0
        self._newest_end = 0
        self._playing = False
        self._frames: dict[int, Pcm] = {}

    def push(self, timestamp: int, pcm: Pcm) -> None:
        """Add a frame whose first sample has RTP ``timestamp``."""
        if self._origin is None:
            self._origin = timestamp
        delta = (timestamp - self._origin) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        offset = delta + self._rebase
        if abs(offset - self._newest_end) > self.max_jump:  # a new source: continue from here
            self._rebase += self._newest_end - offset
            offset = self._newest_end
        if offset + len(pcm) <= self._cursor:
            self.late += 1
            return
        self._frames[offset] = pcm
        self._newest_end = max(self._newest_end, offset + len(pcm))

    def read(self) -> Pcm | None:
        """The next frame, or None while the buffer fills (or after the sender fell silent)."""
        if not self._playing:
            if self._newest_end - self._cursor < self.depth:
                return None
            self._playing = True
        if self._newest_end - self._cursor > self.max_backlog:
            target = self._newest_end - self.depth
            self.skipped += target - self._cursor
            self._cursor = target
            for offset in [k for k in self._frames if k + len(self._frames[k]) <= target]:
                del self._frames[offset]
        start, end = self._cursor, self._cursor + FRAME
        self._cursor = end
        frame = self._frames.pop(start, None)
        if frame is not None and len(frame) == FRAME:
            out = frame  # the usual case: packets of 20 ms, in their place
        else:
            out = np.zeros(FRAME, dtype=np.int16)
            if frame is not None:
                self._frames[start] = frame
            for offset in sorted(k for k in self._frames if k < end):
                pcm = self._frames.pop(offset)
                a, b = max(offset, start), min(offset + len(pcm), end)
                if b > a:
                    out[a - start : b - start] = pcm[a - offset : b - offset]
                if offset + len(pcm) > end:
                    self._frames[end] = pcm[end - offset :]
        if len(self._frames) > 64:  # odd-sized or overlapping leftovers behind the cursor
            for offset in [k for k in self._frames if k < end]:
                del self._frames[offset]
        if end >= self._newest_end and not self._frames:
            self._playing = False  # drained: refill ``depth`` before playing again
        return out


@dataclass
class Member:
    """A participant of the mix."""

    playout: Playout
    muted: bool = False
    overlay: Pcm = field(default_factory=lambda: np.zeros(0, dtype=np.int16))


class Mixer:
    """The mix of one conference room."""

    def __init__(self, depth: int = 3 * FRAME, max_backlog: int = 10 * FRAME) -> None:
        self.depth = depth
        self.max_backlog = max_backlog
        self.members: dict[str, Member] = {}
        self.last_total: Mix = np.zeros(FRAME, dtype=np.int32)  # everyone unmuted, last tick

    def join(self, key: str, *, tone_to_others: bool = True) -> None:
        """Add a participant; the others hear the join tone."""
        if key in self.members:
            return
        if tone_to_others:
            self.announce(JOIN_TONE)
        self.members[key] = Member(Playout(self.depth, self.max_backlog))

    def leave(self, key: str, *, tone_to_others: bool = True) -> None:
        """Remove a participant; the others hear the leave tone."""
        if self.members.pop(key, None) is not None and tone_to_others:
            self.announce(LEAVE_TONE)

    def set_muted(self, key: str, muted: bool) -> None:
        """A muted participant still hears the others; nobody hears them."""
        self.members[key].muted = muted

    def push(self, key: str, timestamp: int, pcm: Pcm) -> None:
        """Audio that arrived from a participant (ignored once they left)."""
        member = self.members.get(key)
        if member is not None:
            member.playout.push(timestamp, pcm)

    def announce(self, pcm: Pcm, *, to: str | None = None) -> None:
        """Play ``pcm`` over the mix to every participant (or only ``to``), after what is queued."""
        for key, member in self.members.items():
            if to is None or key == to:
                member.overlay = np.concatenate([member.overlay, pcm]).astype(np.int16)

    def tick(self) -> dict[str, Pcm]:
        """One 20 ms frame for every participant: the others' sum, tones, saturated to 16 bits."""
        keys, out = self.tick_frames()
        return {key: out[row] for row, key in enumerate(keys)}

    def tick_frames(self) -> tuple[list[str], npt.NDArray[np.int16]]:
        """``tick`` as one matrix: row i is the frame of ``keys[i]`` (encoded in one go by the bridge)."""
        keys = list(self.members)
        if not keys:
            return keys, np.zeros((0, FRAME), dtype=np.int16)
        own: Mix = np.zeros((len(keys), FRAME), dtype=np.int32)
        for row, key in enumerate(keys):
            member = self.members[key]
            frame = member.playout.read()
            if frame is not None and not member.muted:
                own[row] = frame
        self.last_total = own.sum(axis=0, dtype=np.int32)
        heard: Mix = self.last_total[np.newaxis, :] - own
        for row, key in enumerate(keys):
            member = self.members[key]
            if len(member.overlay):
                chunk = member.overlay[:FRAME]
                heard[row, : len(chunk)] += chunk
                member.overlay = member.overlay[FRAME:]
        return keys, np.clip(heard, -32768, 32767).astype(np.int16)
