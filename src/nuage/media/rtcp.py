"""RTCP sender/receiver reports (RFC 3550 §6.4), receive statistics and the E-model estimate.

``ReceiveStats`` keeps, per received stream, the counters of RFC 3550 A.1/A.3 (extended highest
sequence, cumulative loss) and the interarrival jitter of A.8. ``e_model`` turns loss, jitter and
delay into an R-factor and MOS with a simplified ITU-T G.107 for G.711.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SR = 200
RR = 201
_HEADER = struct.Struct("!BBHI")
_SENDER_INFO = struct.Struct("!IIIII")
_BLOCK = struct.Struct("!IIIIII")


class RtcpError(ValueError):
    """A datagram that is not a well-formed SR or RR."""


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block about the stream ``ssrc``."""

    ssrc: int
    fraction_lost: int  # out of 256
    cumulative_lost: int
    highest_sequence: int
    jitter: int  # in RTP timestamp units
    last_sr: int = 0
    delay_since_last_sr: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """A parsed SR or RR: the reporter, its sender info (SR only) and its blocks."""

    kind: int
    ssrc: int
    blocks: tuple[ReportBlock, ...]
    ntp: int = 0
    rtp_timestamp: int = 0
    packets_sent: int = 0
    octets_sent: int = 0


def build(report: Report) -> bytes:
    """Encode an SR (with sender info) or an RR."""
    if len(report.blocks) > 31:
        raise RtcpError("at most 31 report blocks")
    body = b""
    if report.kind == SR:
        body += _SENDER_INFO.pack(
            report.ntp >> 32,
            report.ntp & 0xFFFFFFFF,
            report.rtp_timestamp,
            report.packets_sent,
            report.octets_sent,
        )
    for b in report.blocks:
        lost = b.cumulative_lost & 0xFFFFFF if b.cumulative_lost >= 0 else (b.cumulative_lost + (1 << 24))
        body += _BLOCK.pack(
            b.ssrc,
            (b.fraction_lost << 24) | lost,
            b.highest_sequence,
            b.jitter,
            b.last_sr,
            b.delay_since_last_sr,
        )
    words = (4 + 4 + len(body)) // 4 - 1
    return _HEADER.pack(0x80 | len(report.blocks), report.kind, words, report.ssrc) + body


def parse(data: bytes) -> Report:
    """Decode the first packet of a compound RTCP datagram, which must be an SR or an RR."""
    if len(data) < _HEADER.size:
        raise RtcpError("RTCP too short")
    first, kind, words, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2 or kind not in (SR, RR):
        raise RtcpError("not an RTCP SR/RR")
    length = 4 * (words + 1)
    count = first & 0x1F
    offset = _HEADER.size
    info = (0, 0, 0, 0, 0)
    if kind == SR:
        offset += _SENDER_INFO.size
    if length > len(data) or offset + count * _BLOCK.size > length:
        raise RtcpError("truncated RTCP report")
    if kind == SR:
        info = _SENDER_INFO.unpack_from(data, _HEADER.size)
    blocks = []
    for i in range(count):
        source, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset + i * _BLOCK.size)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        blocks.append(ReportBlock(source, lost_word >> 24, lost, highest, jitter, lsr, dlsr))
    return Report(kind, ssrc, tuple(blocks), (info[0] << 32) | info[1], info[2], info[3], info[4])


class ReceiveStats:
    """Counters of one received RTP stream (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.received = 0
        self._base: int | None = None
        self._max_seq = 0
        self._cycles = 0
        self._transit: float | None = None
        self.jitter = 0.0  # in timestamp units
        self._expected_prior = 0
        self._received_prior = 0

    def update(self, sequence: int, timestamp: int, arrival_s: float) -> None:
        """Account one packet arriving at ``arrival_s`` (a monotonic clock in seconds)."""
        # called for every relayed packet: locals rather than repeated attribute look-ups
        highest = self._max_seq
        if self._base is None:
            self._base = self._max_seq = sequence
        elif 0 < (sequence - highest) & 0xFFFF < 0x8000:
            if sequence < highest:
                self._cycles += 1 << 16
            self._max_seq = sequence
        self.received += 1
        transit = arrival_s * self.clock_rate - timestamp
        previous = self._transit
        if previous is not None:
            jitter = self.jitter
            self.jitter = jitter + (abs(transit - previous) - jitter) / 16
        self._transit = transit

    _FIELDS = (
        "received",
        "_base",
        "_max_seq",
        "_cycles",
        "_transit",
        "jitter",
        "_expected_prior",
        "_received_prior",
    )

    def state(self) -> list[float | int | None]:
        """The counters, to carry on elsewhere (a forwarder process, or back): ``restored``."""
        return [getattr(self, name) for name in self._FIELDS]

    @classmethod
    def restored(cls, state: list[float | int | None], clock_rate: int = 8000) -> ReceiveStats:
        """Counters that carry on from ``state``."""
        stats = cls(clock_rate)
        for name, value in zip(cls._FIELDS, state, strict=True):
            setattr(stats, name, value)
        return stats

    @property
    def extended_highest(self) -> int:
        """Highest sequence number received, extended with the wrap count."""
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        """Packets expected from the first to the highest sequence seen."""
        return 0 if self._base is None else self.extended_highest - self._base + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost (expected minus received, never negative here)."""
        return max(0, self.expected - self.received)

    @property
    def jitter_ms(self) -> float:
        """Interarrival jitter in milliseconds."""
        return self.jitter * 1000 / self.clock_rate

    def report_block(self, ssrc: int) -> ReportBlock:
        """A reception report block; the fraction lost covers the interval since the last one."""
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = (
            (lost_interval << 8) // expected_interval if expected_interval > 0 and lost_interval > 0 else 0
        )
        return ReportBlock(
            ssrc, min(fraction, 255), self.lost, self.extended_highest & 0xFFFFFFFF, int(self.jitter)
        )


def e_model(loss_fraction: float, jitter_ms: float, delay_ms: float = 0.0) -> tuple[float, float]:
    """(R, MOS) by a simplified ITU-T G.107 E-model for G.711 with packet-loss concealment.

    R = 93.2 - Id - Ie_eff. The jitter buffer is taken to add twice the jitter to the one-way
    delay; Id follows G.107's delay impairment above 177.3 ms; Ie_eff uses G.113's Bpl = 25.1 for
    G.711 with PLC and random loss. MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), within [1, 4.5].
    """
    effective_delay = delay_ms + 2 * jitter_ms + 10.0
    id_ = 0.024 * effective_delay + (0.11 * (effective_delay - 177.3) if effective_delay > 177.3 else 0.0)
    ppl = 100.0 * max(0.0, min(1.0, loss_fraction))
    ie_eff = 95.0 * ppl / (ppl + 25.1)
    r = max(0.0, min(100.0, 93.2 - id_ - ie_eff))
    if r <= 0:
        return r, 1.0
    mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
    return r, max(1.0, min(4.5, mos))
