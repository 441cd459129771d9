"""A conference room's outgoing RTP (CFG-8): each participant's packets, prebuilt, refilled each tick.

The room's packets are rows of one buffer: a 12-byte RTP header per participant (their payload
type, sequence, timestamp and SSRC) and 160 bytes of G.711. The buffer holds ``SLOTS`` ticks of
packets whose headers are written in advance, all at once (sequence n + k, timestamp + 160 × k,
computed in native integers and stored in network order), so the tick itself touches no header:
it encodes the mix straight into its slot's payloads (one saturating table look-up per law for
the whole room) and hands each row to its participant's endpoint. The first packet sent to a
participant has the marker bit (RFC 3551 §4.1: start of a talkspurt).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from nuage.media import g711
from nuage.media.player import FRAME

HEADER = 12
SIZE = HEADER + FRAME  # bytes of one packet
SLOTS = 16  # ticks of packets whose headers are written in one go
_STRIDE = 176  # a row: the packet and 4 bytes of padding (every row's fields stay aligned)

Send = Callable[[memoryview], object]


class Outbox:
    """The packets of a room's participants, in the mixer's row order."""

    def __init__(self, streams: Sequence[tuple[int, int, int, int, bool]], sends: Sequence[Send]) -> None:
        """``streams``: per row (payload type, next sequence, next timestamp, SSRC, marker)."""
        n = len(streams)
        raw = np.zeros(SLOTS * n * _STRIDE, dtype=np.uint8)
        rows = raw.reshape(SLOTS, n, _STRIDE)
        self._rows = rows
        self._payloads = [rows[slot, :, HEADER:SIZE] for slot in range(SLOTS)]
        self._sequences = rows[:, :, 2:4].view(">u2")[..., 0]  # (slot, row)
        self._timestamps = rows[:, :, 4:8].view(">u4")[..., 0]
        rows[:, :, 0] = 0x80  # version 2, no padding, extension or CSRC
        rows[:, :, 1] = [stream[0] for stream in streams]
        rows[:, :, 8:12].view(">u4")[..., 0] = [stream[3] & 0xFFFFFFFF for stream in streams]
        self._first_sequences = np.array([stream[1] & 0xFFFF for stream in streams], dtype=np.int64)
        self._first_timestamps = np.array([stream[2] & 0xFFFFFFFF for stream in streams], dtype=np.int64)
        whole = memoryview(raw.data)
        self._sends = [
            [(send, whole[(slot * n + row) * _STRIDE :][:SIZE]) for row, send in enumerate(sends)]
            for slot in range(SLOTS)
        ]
        marked = [row for row, stream in enumerate(streams) if stream[4]]
        rows[0, marked, 1] |= 0x80
        self._marked = bool(marked)
        laws: dict[int, list[int]] = {}
        for row, stream in enumerate(streams):
            laws.setdefault(stream[0], []).append(row)
        self._laws = [(law, np.array(rows_of_law, dtype=np.intp)) for law, rows_of_law in laws.items()]
        self._single = self._laws[0][0] if len(self._laws) == 1 else None
        self._sent = 0
        self._slot = 0
        self._fill()

    def state(self, row: int) -> tuple[int, int]:
        """The sequence and timestamp the next packet of ``row`` will carry."""
        sent = self._sent
        sequence = int(self._first_sequences[row]) + sent
        return sequence & 0xFFFF, (int(self._first_timestamps[row]) + sent * FRAME) & 0xFFFFFFFF

    def send(self, heard: npt.NDArray[np.intp]) -> None:
        """Encode ``heard`` (the mixer's rows, offset by 32768, saturated here) and send each row."""
        slot = self._slot
        payloads = self._payloads[slot]
        if self._single is not None:
            g711.ENCODE_BIASED[self._single].take(heard, None, payloads, "clip")  # axis, out, mode
        else:
            for law, rows in self._laws:
                payloads[rows] = g711.ENCODE_BIASED[law].take(heard[rows], mode="clip")
        for send, packet in self._sends[slot]:
            send(packet)
        if self._marked:
            self._rows[slot, :, 1] &= 0x7F
            self._marked = False
        self._sent += 1
        self._slot = slot = slot + 1
        if slot == SLOTS:
            self._slot = 0
            self._fill()

    def _fill(self) -> None:
        """The headers of the next ``SLOTS`` packets of every row."""
        ahead = self._sent + np.arange(SLOTS, dtype=np.int64)[:, np.newaxis]
        self._sequences[...] = (self._first_sequences + ahead) & 0xFFFF
        self._timestamps[...] = (self._first_timestamps + ahead * FRAME) & 0xFFFFFFFF
