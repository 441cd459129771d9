"""RFC 4733 telephone-events: build a digit's packets, and detect digits in a received stream.

A digit is sent as packets every 20 ms with the same RTP timestamp (the event's start), growing
durations, the marker on the first, and the end packet sent three times (§2.5.1.4). The receiver
reports a digit once per event (keyed by its RTP timestamp), so the end-packet triple and any
retransmission never yield a second digit.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"
CLOCK_RATE = 8000
PACKET_MS = 20
_BODY = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A telephone-event payload or digit that is not valid."""


@dataclass(frozen=True, slots=True)
class EventPayload:
    """The 4-byte telephone-event payload."""

    event: int
    end: bool
    volume: int
    duration: int  # in RTP timestamp units

    def to_bytes(self) -> bytes:
        """The payload on the wire."""
        return _BODY.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration & 0xFFFF
        )


def parse_event(payload: bytes) -> EventPayload:
    """Decode a telephone-event payload (only the first 4 bytes; RFC 4733 allows redundancy after)."""
    if len(payload) < 4:
        raise DtmfError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = _BODY.unpack_from(payload)
    return EventPayload(event, bool(flags & 0x80), flags & 0x3F, duration)


def digit_payloads(digit: str, duration_ms: int, volume: int = 10) -> list[tuple[bool, bytes]]:
    """The (marker, payload) sequence for one digit, end packet included three times."""
    if len(digit) != 1 or digit.upper() not in EVENTS:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    event = EVENTS.index(digit.upper())
    step = CLOCK_RATE * PACKET_MS // 1000
    total = max(step, CLOCK_RATE * duration_ms // 1000)
    out: list[tuple[bool, bytes]] = []
    elapsed = step
    while elapsed < total:
        out.append((not out, EventPayload(event, False, volume, elapsed).to_bytes()))
        elapsed += step
    end = EventPayload(event, True, volume, total).to_bytes()
    out.extend([(not out, end), (False, end), (False, end)])
    return out


class DtmfDetector:
    """Turns a leg's telephone-event packets into digits, one per event."""

    def __init__(self, recent: Iterable[int] = ()) -> None:
        self._order: list[int] = [int(t) for t in recent][-64:]
        self._reported: set[int] = set(self._order)

    def recent(self) -> list[int]:
        """The events already reported (their timestamps), for a detector that carries on."""
        return list(self._order)

    def feed(self, timestamp: int, payload: bytes) -> tuple[str, int] | None:
        """The (digit, duration in ms) when this packet ends a new event, else None."""
        body = parse_event(payload)
        if not body.end or body.event >= len(EVENTS) or timestamp in self._reported:
            return None
        self._reported.add(timestamp)
        self._order.append(timestamp)
        if len(self._order) > 64:  # bounded memory: old events cannot be retransmitted any more
            self._reported.discard(self._order.pop(0))
        return EVENTS[body.event], body.duration * 1000 // CLOCK_RATE
