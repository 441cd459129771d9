"""The media benchmarks' phones: many 50 pps G.711 streams from plain sockets, measured by the kernel.

Each phone is a non-blocking UDP socket. Every 20 ms each one sends a PCMU packet whose SSRC names
the sending phone and whose first payload bytes hold the instant it was sent (wall clock, just
before ``sendto``); the send instants of the phones are spread evenly over the 20 ms. Received
packets carry the kernel's arrival time (``SO_TIMESTAMPNS``), so the one-way delay measured is from
the sender's ``sendto`` to the arrival at the receiving socket, however late this process itself
gets to read it; loss is counted per sending phone. No event loop: one thread sends on time and
drains the sockets epoll says are readable.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from array import array
from dataclasses import dataclass, field

PTIME = 0.020
PAYLOAD_BYTES = 160
PACKET = struct.Struct("!BBHIId")  # RTP header, then the send instant in the payload
SIZE = 12 + PAYLOAD_BYTES
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS has the same value
STAMP = struct.Struct("qq")
SLOTS = 20


@dataclass
class Load:
    """What the phones sent and received: per phone index, and every packet's delay (seconds)."""

    sent: list[int]
    received: array[int]
    delays: array[float] = field(default_factory=lambda: array("d"))
    late: int = 0  # packets that came after the count ended (not in ``received``: counted lost)

    def loss_pct(self) -> float:
        total = sum(self.sent)
        return 100 * (total - sum(self.received)) / total if total else 0.0

    def delay_ms(self, quantile: float) -> float:
        ordered = sorted(self.delays)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * quantile))] * 1000


def phone() -> socket.socket:
    """A phone's RTP socket on loopback, with kernel receive timestamps and room for a backlog."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def run(
    phones: list[socket.socket],
    targets: list[tuple[str, int] | None],
    seconds: float,
    late_s: float = 0.0,
    every_packet: bool = False,
) -> Load:
    """Phone ``i`` sends to ``targets[i]`` (None: it does not send) for ``seconds``. The count then
    ends when nothing more arrives for 200 ms, or with ``every_packet`` when every packet sent has
    arrived (a relay starved of CPU for longer still delivers what its sockets hold), at most 3 s
    after the last send; what arrives in the ``late_s`` seconds after it is counted apart
    (``Load.late``)."""
    load = Load([0] * len(phones), array("q", [0] * len(phones)))
    poller = select.epoll()
    by_fd = {sock.fileno(): sock for sock in phones}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    by_slot: list[list[int]] = [[] for _ in range(SLOTS)]
    for index in range(len(phones)):
        by_slot[index * SLOTS // len(phones)].append(index)
    buffer = bytearray(SIZE)
    buffer[PACKET.size :] = b"\xff" * (SIZE - PACKET.size)
    ancillary = socket.CMSG_SPACE(STAMP.size)
    received, delays, sent = load.received, load.delays, load.sent
    count = len(phones)

    def drain(timeout: float, received: array[int] = received) -> None:
        for fd, _ in poller.poll(timeout):
            sock = by_fd[fd]
            while True:
                try:
                    data, cmsgs, _, _ = sock.recvmsg(2048, ancillary)
                except BlockingIOError:
                    break
                if len(data) != SIZE or data[0] != 0x80:
                    continue  # an engine's RTCP report, not one of ours
                _, _, _, _, ssrc, stamp = PACKET.unpack_from(data)
                if 0 < ssrc <= count:
                    received[ssrc - 1] += 1
                    if received is not load.received:
                        continue  # a late packet: counted, its delay not
                    for level, kind, value in cmsgs:
                        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                            seconds_, nanos = STAMP.unpack(value[: STAMP.size])
                            delays.append(seconds_ + nanos / 1e9 - stamp)

    start = time.monotonic()
    for tick in range(int(seconds / PTIME)):
        for slot, members in enumerate(by_slot):
            due = start + tick * PTIME + slot * PTIME / SLOTS
            while (wait := due - time.monotonic()) > 0:
                drain(wait)
            for index in members:
                target = targets[index]
                if target is None:
                    continue
                PACKET.pack_into(buffer, 0, 0x80, 0, tick & 0xFFFF, tick * 160, index + 1, time.time())
                phones[index].sendto(buffer, target)
                sent[index] += 1
        drain(0)
    # the last packets: until nothing more arrives for 200 ms, or every packet has (at most 3 s)
    deadline = time.monotonic() + 3.0
    last, total = -1, sum(sent)
    while (wait := deadline - time.monotonic()) > 0 and sum(received) != (total if every_packet else last):
        last = sum(received)
        drain(min(wait, 0.2))
    # what still comes within ``late_s`` is counted apart: packets late rather than lost
    late = array("q", [0] * len(phones))
    deadline = time.monotonic() + late_s
    while (wait := deadline - time.monotonic()) > 0:
        drain(wait, late)
    load.late = sum(late)
    poller.close()
    return load
