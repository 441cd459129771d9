"""A conference room's outgoing RTP (CFG-8): one packet per participant, rewritten in place each tick.

The room's packets are the rows of one buffer: a fixed 12-byte RTP header per participant (their
payload type, sequence, timestamp and SSRC) and 160 bytes of G.711. Each tick the mix is encoded
straight into the payloads (one saturating table look-up per law for the whole room), each row is
handed to its participant's endpoint, then every header moves on by one packet with one numpy
operation: sequence and timestamp are read together as one big-endian 64-bit word (with the top
of the SSRC below them), which is the first packet's word plus n × (2^48 + 160 × 2^16) after n
packets, computed in native integers and written in network order in the same pass. The
timestamp's wrap (every 6 days of audio) would carry into the sequence; a countdown to the first
wrap takes that carry back exactly then.
The first packet sent to a participant has the marker bit (RFC 3551 §4.1: start of a talkspurt).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from nuage.media import g711
from nuage.media.player import FRAME

HEADER = 12
SIZE = HEADER + FRAME  # bytes of one packet
_STRIDE = 176  # a row: the packet and 4 bytes of padding, a multiple of 8
_LEAD = 6  # the buffer's first row starts here, so that every row's sequence field is 8-aligned
_STEP = (1 << 48) + (FRAME << 16)  # one packet: sequence + 1, timestamp + 160
_CARRY = 1 << 48
_TS_MAX = 0xFFFFFFFF
_WORD = (1 << 64) - 1

Send = Callable[[memoryview], object]


class Outbox:
    """The packets of a room's participants, in the mixer's row order."""

    def __init__(self, streams: Sequence[tuple[int, int, int, int, bool]], sends: Sequence[Send]) -> None:
        """``streams``: per row (payload type, next sequence, next timestamp, SSRC, marker)."""
        n = len(streams)
        self._raw = np.zeros(_LEAD + _STRIDE * max(n, 1), dtype=np.uint8)
        rows = self._raw[_LEAD : _LEAD + _STRIDE * n].reshape(n, _STRIDE)
        self._rows = rows
        self.payloads = rows[:, HEADER:SIZE]
        self._words = rows[:, 2:10].view(">u8")[:, 0]  # sequence (16) | timestamp (32) | SSRC top (16)
        rows[:, 0] = 0x80  # version 2, no padding, extension or CSRC
        for row, (payload_type, sequence, timestamp, ssrc, marker) in enumerate(streams):
            rows[row, 1] = payload_type | (0x80 if marker else 0)
            rows[row, 2:12] = np.frombuffer(
                (sequence & 0xFFFF).to_bytes(2, "big")
                + (timestamp & _TS_MAX).to_bytes(4, "big")
                + (ssrc & _TS_MAX).to_bytes(4, "big"),
                dtype=np.uint8,
            )
        self._first = self._words.astype(np.uint64)  # native: the words of the first packets
        self._sent = 0
        self._marked = any(stream[4] for stream in streams)
        self._sends = [(send, memoryview(rows[row, :SIZE].data)) for row, send in enumerate(sends)]
        laws: dict[int, list[int]] = {}
        for row, stream in enumerate(streams):
            laws.setdefault(stream[0], []).append(row)
        self._laws = [(law, np.array(rows_of_law, dtype=np.intp)) for law, rows_of_law in laws.items()]
        self._single = self._laws[0][0] if len(self._laws) == 1 else None
        self._until_wrap = self._ticks_to_wrap()

    def state(self, row: int) -> tuple[int, int]:
        """The sequence and timestamp the next packet of ``row`` will carry."""
        word = int(self._words[row])
        return word >> 48, (word >> 16) & _TS_MAX

    def send(self, heard: npt.NDArray[np.intp]) -> None:
        """Encode ``heard`` (the mixer's rows, offset by 32768, saturated here) and send each row."""
        if self._single is not None:
            g711.ENCODE_BIASED[self._single].take(heard, out=self.payloads, mode="clip")
        else:
            for law, rows in self._laws:
                self.payloads[rows] = np.take(g711.ENCODE_BIASED[law], heard[rows], mode="clip")
        for send, packet in self._sends:
            send(packet)
        if self._marked:
            self._rows[:, 1] &= 0x7F
            self._marked = False
        self._advance()

    def _advance(self) -> None:
        self._sent = sent = self._sent + 1
        np.add(self._first, (sent * _STEP) & _WORD, out=self._words)
        if self._until_wrap:
            self._until_wrap -= 1
            return
        wrapped = (self._words >> 16) & _TS_MAX < FRAME  # a timestamp wrapped: its carry is taken back
        self._first[wrapped] -= np.uint64(_CARRY)
        np.add(self._first, (sent * _STEP) & _WORD, out=self._words)
        self._until_wrap = self._ticks_to_wrap()

    def _ticks_to_wrap(self) -> int:
        if not len(self._words):
            return 1 << 62
        timestamps = (self._words >> 16) & _TS_MAX
        return int(((_TS_MAX - timestamps) // FRAME).min())
