"""The conference mixer (CFG-8): N participants, each hears the sum of the others, 20 ms at a time.

Pure and synchronous (numpy, no sockets, no clock): the conference bridge feeds it the packets
that arrived and asks for the room's mix every 20 ms. Each participant's audio goes through its
own playout buffer, placed by RTP timestamp (late, reordered and duplicated packets are tolerated,
a gap plays as silence, a backlog beyond ``max_backlog`` is skipped so latency never grows). A
packet in the participant's own law, 20 ms long and in sequence (the usual case) is kept as its
G.711 bytes: the tick decodes every participant's frame with one table look-up for the whole
room, sums in one pass (an extra row holds the encoder's offset of 32768), and takes each
participant's own row out of the total, so nobody hears themselves, even when others saturate.
A participant who sent nothing, or is muted, is a row of silence there (in a large room where
most are silent, only the speakers are summed and the listeners share the total). The result
stays wide (``mix``: offset by ``BIAS``, not clipped): the outbox's encoding look-up
(``g711.ENCODE_BIASED``, ``take(mode="clip")``) saturates it to 16 bits, ``Mixer.tick`` gives it
as 16-bit frames. Tones announced to a participant are added to their row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from nuage.media import g711, rtp
from nuage.media.g711 import Pcm
from nuage.media.player import FRAME, tone

Wide = npt.NDArray[np.intp]
Frame = Pcm | bytes  # 16-bit samples, or G.711 bytes in the participant's law

BIAS = g711.BIAS
JOIN_TONE = np.concatenate([tone(523.25, 90, -18.0), tone(783.99, 120, -18.0)])  # rising: someone joined
LEAVE_TONE = np.concatenate([tone(783.99, 90, -18.0), tone(523.25, 120, -18.0)])  # falling: someone left
_NO_TONE = np.zeros(0, dtype=np.int16)
_AUDIO = (g711.PCMU, g711.PCMA)
_sum, _subtract = np.add.reduce, np.subtract  # called every tick
_SMALL = 8  # a room this small mixes every row even when most are silent (fewer numpy calls)
_SILENCE = {g711.PCMU: b"\xff" * FRAME, g711.PCMA: b"\xd5" * FRAME}  # 0 in mu-law; +8 in A-law


class Playout:
    """One participant's incoming audio, placed by RTP timestamp and read out one frame per tick."""

    def __init__(
        self,
        depth: int = 3 * FRAME,
        max_backlog: int = 10 * FRAME,
        max_jump: int = 8000 * 10,
        law: int = g711.PCMU,
    ) -> None:
        self.depth = depth  # buffered before playing starts (absorbs jitter)
        self.max_backlog = max_backlog
        self.max_jump = max_jump
        self.law = law  # G.711 bytes in this law are kept as they came, decoded at the tick
        self.late = 0
        self.skipped = 0
        self._origin: int | None = None
        self._rebase = 0
        self._cursor = 0
        self._newest_end = 0
        self._expect = -1  # the RTP timestamp that continues the newest frame
        self._playing = False
        self._frames: dict[int, Frame] = {}

    def push_rtp(self, _source: object, packet: rtp.RtpPacket, _data: bytes = b"") -> None:
        """An RTP packet from the participant (the endpoint's callback): audio is placed, any
        other payload (telephone-events) ignored."""
        payload_type, timestamp, payload = packet[0], packet[2], packet[4]
        if payload_type == self.law and timestamp == self._expect and len(payload) == FRAME:
            end = self._newest_end  # the usual packet: the 20 ms after the newest, kept as bytes
            if end + FRAME > self._cursor:
                self._frames[end] = payload
                self._newest_end = end + FRAME
                self._expect = (timestamp + FRAME) & 0xFFFFFFFF
                return
        if payload and payload_type in _AUDIO:
            self.push(timestamp, payload if payload_type == self.law else g711.decode(payload_type, payload))

    def push(self, timestamp: int, frame: Frame) -> None:
        """Add a frame (samples, or bytes in ``law``) whose first sample has RTP ``timestamp``."""
        if self._origin is None:
            self._origin = timestamp
        delta = (timestamp - self._origin) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 1 << 32
        offset = delta + self._rebase
        if abs(offset - self._newest_end) > self.max_jump:  # a new source: continue from here
            self._rebase += self._newest_end - offset
            offset = self._newest_end
        if offset + len(frame) <= self._cursor:
            self.late += 1
            return
        self._frames[offset] = frame
        self._newest_end = max(self._newest_end, offset + len(frame))
        self._expect = (self._origin + self._newest_end - self._rebase) & 0xFFFFFFFF

    def read(self) -> Frame | None:
        """The next frame, or None while the buffer fills (or after the sender fell silent)."""
        cursor, newest = self._cursor, self._newest_end
        if not self._playing:
            if newest - cursor < self.depth:
                return None
            self._playing = True
        if newest - cursor > self.max_backlog:
            target = newest - self.depth
            self.skipped += target - cursor
            cursor = target
            for offset in [k for k in self._frames if k + len(self._frames[k]) <= target]:
                del self._frames[offset]
        end = self._cursor = cursor + FRAME
        frames = self._frames
        frame = frames.pop(cursor, None)
        if frame is None or len(frame) != FRAME or len(frames) > 64:
            frame = self._assemble(cursor, end, frame)
        if end >= newest and not frames:
            self._playing = False  # drained: refill ``depth`` before playing again
        return frame

    def _assemble(self, start: int, end: int, first: Frame | None) -> Frame:
        """The frame [start, end) from pieces of other sizes (or a gap: silence); leftovers
        behind the cursor are dropped."""
        frames = self._frames
        if first is not None and len(first) == FRAME:
            for offset in [k for k in frames if k < end]:
                del frames[offset]
            return first
        out = np.zeros(FRAME, dtype=np.int16)
        if first is not None:
            frames[start] = first
        for offset in sorted(k for k in frames if k < end):
            piece = frames.pop(offset)
            pcm = g711.decode(self.law, piece) if isinstance(piece, bytes) else piece
            a, b = max(offset, start), min(offset + len(pcm), end)
            if b > a:
                out[a - start : b - start] = pcm[a - offset : b - offset]
            if offset + len(pcm) > end:
                frames[end] = pcm[end - offset :]
        if len(frames) > 64:  # odd-sized or overlapping leftovers behind the cursor
            for offset in [k for k in frames if k < end]:
                del frames[offset]
        return out


@dataclass(slots=True, eq=False)
class Member:
    """A participant of the mix."""

    playout: Playout
    law: int = g711.PCMU
    muted: bool = False
    row: int = 0
    overlay: Pcm = field(default_factory=lambda: _NO_TONE)


class Mixer:
    """The mix of one conference room."""

    def __init__(self, depth: int = 3 * FRAME, max_backlog: int = 10 * FRAME) -> None:
        self.depth = depth
        self.max_backlog = max_backlog
        self.members: dict[str, Member] = {}
        self.keys: list[str] = []  # the rows of ``mix``, in order of arrival
        self.law: int | None = None  # the law of every member, None when the room mixes both
        self._order: list[Member] = []
        self._reads: list[Callable[[], Frame | None]] = []
        self._muted = 0
        self._toned: list[Member] = []  # members with a tone still to hear
        self._own: Wide = np.full((1, FRAME), BIAS, dtype=np.intp)  # row 0: BIAS; then speakers
        self._own_rows: Wide = self._own[1:]
        self._own_flat: Wide = self._own_rows.reshape(-1)
        self._size = 0
        self._codes = np.zeros(0, dtype=np.uint8)  # the G.711 bytes of a tick
        self._heard: Wide = np.zeros((0, FRAME), dtype=np.intp)
        self._codes_view = memoryview(self._codes.data)
        self._total: Wide = self._own[0].copy()

    def join(self, key: str, *, law: int = g711.PCMU, tone_to_others: bool = True) -> Member:
        """Add a participant whose audio is in ``law``; the others hear the join tone."""
        member = self.members.get(key)
        if member is not None:
            return member
        if tone_to_others:
            self.announce(JOIN_TONE)
        member = self.members[key] = Member(Playout(self.depth, self.max_backlog, law=law), law)
        self._rows()
        return member

    def leave(self, key: str, *, tone_to_others: bool = True) -> None:
        """Remove a participant; the others hear the leave tone."""
        member = self.members.pop(key, None)
        if member is None:
            return
        self._toned = [m for m in self._toned if m is not member]
        self._muted -= member.muted
        self._rows()
        if tone_to_others:
            self.announce(LEAVE_TONE)

    def _rows(self) -> None:
        self.keys = list(self.members)
        self._order = list(self.members.values())
        self._reads = [member.playout.read for member in self._order]
        for row, member in enumerate(self._order):
            member.row = row
        laws = {member.law for member in self._order}
        self.law = laws.pop() if len(laws) == 1 else None
        self._own = np.full((len(self._order) + 1, FRAME), BIAS, dtype=np.intp)
        self._own_rows = self._own[1:]
        self._own_flat = self._own_rows.reshape(-1)
        self._size = self._own_flat.size
        self._codes = np.zeros(self._size, dtype=np.uint8)  # the G.711 bytes of a tick
        self._heard = np.zeros((len(self._order), FRAME), dtype=np.intp)
        self._codes_view = memoryview(self._codes.data)

    def set_muted(self, key: str, muted: bool) -> None:
        """A muted participant still hears the others; nobody hears them."""
        member = self.members[key]
        self._muted += muted - member.muted
        member.muted = muted

    def push(self, key: str, timestamp: int, frame: Frame) -> None:
        """Audio that arrived from a participant (ignored once they left)."""
        member = self.members.get(key)
        if member is not None:
            member.playout.push(timestamp, frame)

    def announce(self, pcm: Pcm, *, to: str | None = None) -> None:
        """Play ``pcm`` over the mix to every participant (or only ``to``), after what is queued."""
        for key, member in self.members.items():
            if to is None or key == to:
                if member not in self._toned:
                    self._toned.append(member)
                member.overlay = np.concatenate([member.overlay, pcm]).astype(np.int16)

    @property
    def last_total(self) -> Pcm:
        """Everyone unmuted at the last tick, saturated to 16 bits (what a recording keeps)."""
        return np.clip(self._total - BIAS, -32768, 32767).astype(np.int16)

    def mix(self) -> Wide:
        """One 20 ms frame for every participant, row ``i`` for ``keys[i]``: the others' sum plus
        tones, offset by ``BIAS`` and not yet saturated. Valid until the next call."""
        frames = [read() for read in self._reads]
        law = self.law
        heard: Wide | None = None
        if law is not None:
            if self._muted:
                frames = [
                    None if member.muted else frame for member, frame in zip(self._order, frames, strict=True)
                ]
            quiet: list[int] = []
            try:  # G.711 frames join into n × 160 bytes (16-bit frames are twice longer)
                joined = b"".join(frames)  # type: ignore[arg-type]
            except TypeError:  # some sent nothing (or are muted): their rows are silence
                quiet = [row for row, frame in enumerate(frames) if frame is None]
                joined = b""
                if len(quiet) * 4 < len(frames) * 3 or len(frames) <= _SMALL:  # else: sum the few
                    silence = _SILENCE[law]
                    filled: list[Frame] = [silence if frame is None else frame for frame in frames]
                    joined = b"".join(filled)  # type: ignore[arg-type]  # arrays are buffers too
            if len(joined) == self._size:
                heard = self._mix_all(law, joined, quiet)
        if heard is None:
            heard = self._mix_some(frames)
        for member in self._toned:
            chunk = member.overlay[:FRAME]
            heard[member.row, : len(chunk)] += chunk
            member.overlay = member.overlay[FRAME:]
        if self._toned:
            self._toned = [member for member in self._toned if len(member.overlay)]
        return heard

    def _mix_all(self, law: int, joined: bytes, quiet: list[int]) -> Wide:
        """``mix`` when every frame is G.711 in the room's law (or silence for the ``quiet`` rows):
        one look-up, one sum, one subtraction for the whole room."""
        own = self._own
        self._codes_view[:] = joined
        g711.DECODE_WIDE[law].take(self._codes, None, self._own_flat, "clip")  # axis, out, mode
        if quiet and law != g711.PCMU:  # A-law has no code for 0 (mu-law's 0xFF is exactly 0)
            own[[row + 1 for row in quiet]] = 0
        self._total = total = _sum(own, 0)
        heard = self._own_rows
        _subtract(total, heard, heard)
        return heard

    def _mix_some(self, frames: list[Frame | None]) -> Wide:
        """``mix`` when some are silent or muted, frames came as samples, or laws differ: the
        speakers' rows are summed, listeners all get the total, speakers the total less their own."""
        speaking = [
            (member, frame)
            for member, frame in zip(self._order, frames, strict=True)
            if frame is not None and not member.muted
        ]
        k = len(speaking)
        own = self._own[: k + 1]
        coded = [frame for _, frame in speaking if isinstance(frame, bytes)]
        if self.law is not None and len(coded) == k:  # one law, all as bytes: one look-up
            self._codes_view[: k * FRAME] = b"".join(coded)
            g711.DECODE_WIDE[self.law].take(
                self._codes[: k * FRAME], out=self._own_flat[: k * FRAME], mode="clip"
            )
        else:
            for law in _AUDIO:
                chosen = [
                    (i, f) for i, (m, f) in enumerate(speaking, 1) if isinstance(f, bytes) and m.law == law
                ]
                if chosen:
                    codes = np.frombuffer(b"".join([f for _, f in chosen]), dtype=np.uint8)
                    own[[i for i, _ in chosen]] = g711.DECODE_WIDE[law][codes].reshape(len(chosen), FRAME)
            for i, (_, frame) in enumerate(speaking, 1):
                if not isinstance(frame, bytes):
                    own[i] = frame
        self._total = total = np.add.reduce(own, axis=0)
        heard = self._heard
        heard[...] = total
        if k:
            heard[[member.row for member, _ in speaking]] = total - own[1:]
        return heard

    def tick(self) -> dict[str, Pcm]:
        """``mix`` as 16-bit frames by participant: the others' sum and tones, saturated."""
        heard = self.mix()
        pcm = np.clip(heard - BIAS, -32768, 32767).astype(np.int16)
        return {key: pcm[row] for row, key in enumerate(self.keys)}
