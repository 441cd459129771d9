"""RTP packets (RFC 3550 §5.1): parse and build the fixed header, reject garbage.

Only what a relay and a G.711 peer need: version 2, CSRCs and a header extension are skipped over
(their lengths checked against the datagram), padding is removed. Anything inconsistent raises
``RtpError``; callers drop such datagrams.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

HEADER = struct.Struct("!BBHII")
_AFTER_FIRST = struct.Struct("!BHII")  # the fixed header less its first byte (the fast path's)
MAX_DATAGRAM = 1500


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet."""


class RtpPacket(NamedTuple):
    """One RTP packet: the header fields a relay uses and the payload (a tuple: built for every
    relayed packet, so as cheap to make as an immutable record gets)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        """The packet on the wire (version 2, no padding, no CSRC, no extension)."""
        return build(self.payload_type, self.sequence, self.timestamp, self.ssrc, self.payload, self.marker)


_new_packet = tuple.__new__


def build(
    payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False
) -> bytes:
    """Encode an RTP packet; fields wrap to their widths."""
    if not 0 <= payload_type < 128:
        raise RtpError("payload type out of range")
    second = (0x80 if marker else 0) | payload_type
    return HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


def is_rtcp(data: bytes) -> bool:
    """Whether a datagram on a muxed port is RTCP (RFC 5761 §4: payload type 64-95 with marker)."""
    return len(data) >= 2 and is_rtcp_type(data[1])


def is_rtcp_type(second: int) -> bool:
    """Whether a datagram whose second byte is ``second`` is RTCP (SR, RR, SDES, BYE, APP...), not
    RTP, though it parses as RTP version 2 (RFC 5761 §4)."""
    return 192 <= second <= 223


def parse(data: bytes) -> RtpPacket:
    """Decode an RTP packet; raise RtpError on a wrong version, truncation or bad padding."""
    size = len(data)
    if data[:1] == b"\x80" and HEADER.size <= size <= MAX_DATAGRAM:
        # the usual packet (version 2, no padding, extension or CSRC): the payload follows the header
        second, sequence, timestamp, ssrc = _AFTER_FIRST.unpack_from(data, 1)
        fields = (second & 0x7F, sequence, timestamp, ssrc, data[12:], second > 0x7F)
        return _new_packet(RtpPacket, fields)  # tuple.__new__: the NamedTuple's own is Python code
    if size < HEADER.size or size > MAX_DATAGRAM:
        raise RtpError("bad RTP length")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise RtpError("not RTP version 2")
    offset = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:
        if size < offset + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = size
    if first & 0x20:
        pad = data[-1]
        if pad == 0:
            raise RtpError("bad padding")
        end -= pad
    if offset > end:
        raise RtpError("truncated RTP packet")
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bytes(data[offset:end]), bool(second & 0x80))
