"""UDPTL (ITU-T T.38 §9.1): the UDP transport of a T.38 fax, its packets, loss recovery and socket.

Owns the ``UDPTLPacket`` codec (ASN.1 aligned PER as T.38 writes it: a 16-bit sequence number, the
primary IFP packet as an open type, then the error recovery: redundancy, the previous IFP packets
again, most recent first; or FEC, XOR parities over spans of earlier packets), ``Reassembly``,
which turns the datagrams of one far end into its IFP packets in order, recovering the lost ones
from the redundancy or the FEC of the packets that follow, and ``UdptlEndpoint``, one UDP socket of
the media engine with its far end (latched to the first source, like RTP), which sends every IFP
packet with as many previous ones as the far end's T38FaxMaxDatagram allows.

Everything is bounded: a datagram over ``MAX_DATAGRAM`` bytes, more than ``MAX_RECOVERY`` secondary
or FEC entries, a fragmented length (T.38 packets are far smaller) is dropped and counted as garbage.
Nothing blocks: the socket is an asyncio datagram endpoint, decoding is a few slices per packet.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("nuage.media.udptl")

Address = tuple[str, int]
MAX_DATAGRAM = 1500  # what a far end may send us (T38FaxMaxDatagram we announce is lower)
MAX_RECOVERY = 16  # secondary packets or FEC entries in one datagram, and an FEC span
HISTORY = 64  # received IFP packets kept for FEC recovery
RESTART_GAP = 4096  # a jump in sequence numbers this far ahead is a new stream, not a loss
MAX_COPIES = 4  # how many times one datagram may be sent (spandsp repeats some indicators)


class UdptlError(ValueError):
    """A datagram that is not a UDPTL packet we accept."""


def _put_length(out: bytearray, count: int) -> None:
    if count < 0x80:
        out.append(count)
    elif count < 0x4000:
        out += bytes((0x80 | count >> 8, count & 0xFF))
    else:
        raise UdptlError("fragmented lengths are not supported")


def _get_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise UdptlError("truncated length")
    first = data[pos]
    if not first & 0x80:
        return first, pos + 1
    if first & 0xC0 == 0x80 and pos + 1 < len(data):
        return (first & 0x3F) << 8 | data[pos + 1], pos + 2
    raise UdptlError("fragmented or truncated length")


def _put_open(out: bytearray, payload: bytes) -> None:
    _put_length(out, len(payload))
    out += payload


def _get_open(data: bytes, pos: int) -> tuple[bytes, int]:
    count, pos = _get_length(data, pos)
    if pos + count > len(data):
        raise UdptlError("truncated open type")
    return data[pos : pos + count], pos + count


@dataclass(frozen=True, slots=True)
class UdptlPacket:
    """One UDPTL datagram: ``primary`` is IFP packet ``seq``; ``secondaries`` are packets seq-1,
    seq-2... (redundancy), or ``fec`` holds FEC entries over ``fec_span`` packets each."""

    seq: int
    primary: bytes
    secondaries: tuple[bytes, ...] = ()
    fec: tuple[bytes, ...] | None = None  # None: redundancy mode
    fec_span: int = 0

    def encode(self) -> bytes:
        out = bytearray(self.seq.to_bytes(2, "big"))
        _put_open(out, self.primary)
        if self.fec is None:
            out.append(0x00)
            _put_length(out, len(self.secondaries))
            for secondary in self.secondaries:
                _put_open(out, secondary)
        else:
            out += bytes((0x80, 1, self.fec_span))  # span: an unconstrained integer, one octet
            _put_length(out, len(self.fec))
            for entry in self.fec:
                _put_open(out, entry)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> UdptlPacket:
        """Parse a datagram; UdptlError when it is not one (or exceeds our bounds)."""
        if len(data) < 4 or len(data) > MAX_DATAGRAM:
            raise UdptlError(f"datagram of {len(data)} bytes")
        seq = int.from_bytes(data[:2], "big")
        primary, pos = _get_open(data, 2)
        if pos >= len(data):
            raise UdptlError("no error recovery field")
        fec_mode = bool(data[pos] & 0x80)
        pos += 1
        span = 0
        if fec_mode:
            width, pos = _get_length(data, pos)
            if width < 1 or width > 2 or pos + width > len(data):
                raise UdptlError("bad FEC span")
            span = int.from_bytes(data[pos : pos + width], "big")
            pos += width
            if span > MAX_RECOVERY:
                raise UdptlError(f"FEC span {span}")
        count, pos = _get_length(data, pos)
        if count > MAX_RECOVERY:
            raise UdptlError(f"{count} recovery entries")
        entries = []
        for _ in range(count):
            entry, pos = _get_open(data, pos)
            entries.append(entry)
        if pos != len(data):
            raise UdptlError("trailing bytes")
        if fec_mode:
            return cls(seq, primary, (), tuple(entries), span)
        return cls(seq, primary, tuple(entries))

    def fec_sets(self) -> list[tuple[bytes, list[int]]]:
        """Each FEC entry with the sequence numbers it is the XOR of (T.38 §9.1: entry m covers
        every ``len(fec)``-th packet of the ``span * len(fec)`` before this one, from the m-th)."""
        if not self.fec or not self.fec_span:
            return []
        entries = len(self.fec)
        first = self.seq - self.fec_span * entries
        return [
            (entry, [(first + m + entries * k) & 0xFFFF for k in range(self.fec_span)])
            for m, entry in enumerate(self.fec)
        ]


def _xor(parity: bytes, others: list[bytes]) -> bytes:
    out = bytearray(parity)
    for other in others:
        for i, byte in enumerate(other[: len(out)]):
            out[i] ^= byte
    return bytes(out)


class Reassembly:
    """One far end's IFP packets in order: each datagram gives the packets to hand on (the lost ones
    it recovers, oldest first, then its primary); late copies and duplicates give nothing."""

    def __init__(self) -> None:
        self.expected: int | None = None  # the next sequence number to hand on
        self.kept: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self.recovered = 0  # lost packets rebuilt from redundancy or FEC
        self.lost = 0  # packets never seen nor rebuilt

    def feed(self, packet: UdptlPacket) -> list[tuple[int, bytes]]:
        seq = packet.seq
        if self.expected is None:
            self.expected = seq
        ahead = (seq - self.expected) & 0xFFFF
        if ahead >= 0x8000:
            return []  # late, or a copy of a packet already handed on
        if ahead > RESTART_GAP:  # the far end started a new stream
            self.kept.clear()
            ahead = 0
        missing = [(seq - back) & 0xFFFF for back in range(min(ahead, HISTORY), 0, -1)]
        self.lost += ahead - len(missing)
        out: list[tuple[int, bytes]] = []
        found: dict[int, bytes] = {}
        for back, secondary in enumerate(packet.secondaries, start=1):
            found.setdefault((seq - back) & 0xFFFF, secondary)
        self._keep(seq, packet.primary)
        for entry, covered in packet.fec_sets():
            unknown = [s for s in covered if s not in self.kept and s not in found]
            if len(unknown) == 1 and unknown[0] in missing:
                known = [self.kept.get(s) or found[s] for s in covered if s != unknown[0]]
                found[unknown[0]] = _xor(entry, known)
        for lost_seq in missing:
            ifp = found.get(lost_seq)
            if ifp is None:
                self.lost += 1
                continue
            self.recovered += 1
            self._keep(lost_seq, ifp)
            out.append((lost_seq, ifp))
        out.append((seq, packet.primary))
        self.expected = (seq + 1) & 0xFFFF
        return out

    def _keep(self, seq: int, ifp: bytes) -> None:
        self.kept[seq] = ifp
        self.kept.move_to_end(seq)
        while len(self.kept) > HISTORY:
            self.kept.popitem(last=False)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[Any, ...]], None]) -> None:
        self.datagram_received = on_datagram  # type: ignore[method-assign, assignment]


class UdptlEndpoint:
    """The engine's UDPTL port for one fax call: IFP packets in order to ``on_ifp(seq, ifp)``,
    ``send`` with up to ``redundancy`` previous packets within ``far_max_datagram`` bytes."""

    def __init__(
        self, on_ifp: Callable[[int, bytes], None], *, redundancy: int = 3, far_max_datagram: int = 400
    ) -> None:
        self.on_ifp = on_ifp
        self.redundancy = redundancy
        self.far_max_datagram = far_max_datagram
        self.port = 0
        self.remote: Address | None = None
        self.latched: Address | None = None
        self.reassembly = Reassembly()
        self.received = self.sent = self.garbage = self.strangers = 0
        self._seq = 0
        self._history: collections.deque[bytes] = collections.deque(maxlen=max(redundancy, 1))
        self._transport: asyncio.DatagramTransport | None = None

    async def bind(self, address: str, port: int) -> None:
        """Bind the socket on ``address:port`` (0: any free one); OSError when it is taken."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
            sock.setblocking(False)
            transport, _ = await loop.create_datagram_endpoint(lambda: _Socket(self._datagram), sock=sock)
        except OSError:
            sock.close()
            raise
        self._transport, self.port = transport, sock.getsockname()[1]  # port 0: the one given

    def connect(self, remote: Address, *, far_max_datagram: int | None = None) -> None:
        """Send to ``remote`` (the far end's SDP) until a datagram comes from it; a new address
        unlatches (another party took the stream)."""
        if remote != self.remote:
            self.remote, self.latched = remote, None
        if far_max_datagram is not None:
            self.far_max_datagram = far_max_datagram

    def _datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        source = (addr[0], addr[1])
        if self.latched is not None and source != self.latched:
            self.strangers += 1
            return
        try:
            packet = UdptlPacket.decode(data)
        except UdptlError:
            self.garbage += 1
            return
        self.latched = source
        self.received += 1
        for seq, ifp in self.reassembly.feed(packet):
            try:
                self.on_ifp(seq, ifp)
            except Exception:
                log.exception("an IFP packet could not be handled")

    def send(self, ifp: bytes, copies: int = 1) -> None:
        """Send IFP packet ``ifp`` (``copies`` times, bounded), with the previous ones as redundancy."""
        if not ifp:
            return
        packet = UdptlPacket(self._seq, ifp, tuple(self._history))
        datagram = packet.encode()
        while len(datagram) > self.far_max_datagram and packet.secondaries:
            packet = UdptlPacket(packet.seq, ifp, packet.secondaries[:-1])
            datagram = packet.encode()
        self._seq = (self._seq + 1) & 0xFFFF
        if self.redundancy > 0:
            self._history.appendleft(ifp)
        for _ in range(max(1, min(copies, MAX_COPIES))):
            self._transmit(datagram)

    def _transmit(self, datagram: bytes) -> None:
        """One datagram to the far end (dropped while its address is unknown)."""
        destination = self.latched or self.remote
        if destination is None or self._transport is None:
            return
        try:
            self._transport.sendto(datagram, destination)
            self.sent += 1
        except OSError:
            pass  # a full buffer: lost, as on a network (redundancy covers it)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
