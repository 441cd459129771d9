"""One leg's RTP/RTCP endpoint: a pair of UDP sockets bound by the engine, with latching.

Symmetric RTP (RFC 4961): the first RTP packet latches the leg to its source address, which then
receives everything the engine sends to this leg; datagrams from any other address afterwards are
dropped and counted as strangers, except those from the address the leg's SDP names: they latch it
again (a stray datagram that came before the party's first packet, a late one of the port's previous
call, must not take the leg for the whole call). An RTCP packet (RFC 5761 §4: it parses as RTP) never
latches a leg: a receiver report another relay sends to its own party's RTP port + 1 arrives here
when that party's port is this one less one. An SDP naming another address (another party took the leg: a
transfer) unlatches it: the next source is latched, never the one it replaced. Garbage is dropped
and counted too. Accepted RTP is handed to the owner's ``on_rtp`` callback; RTCP reports from the
peer are kept as ``last_report``.

With media forwarders (``forwarding.py``) the endpoint still owns the leg's sockets, but its RTP
socket is read by a forwarder process until the session comes back in process (``receive``); its
state (``state``/``restore``) then travels with the session.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from time import monotonic
from typing import Any

from nuage.media import rtcp, rtp

Address = tuple[str, int]


def unlatches(previous: Address | None, remote: Address | None, latched: Address | None) -> bool:
    """Whether a leg latched to ``latched`` whose SDP named ``previous`` and now names ``remote``
    has another party (a transfer): another address, neither of them the on-hold 0.0.0.0, and
    not the source already latched."""
    if previous is None or remote is None or remote == previous or latched is None:
        return False
    if latched == remote:
        return False  # the new party's media came before its SDP (early media) and is latched already
    return "0.0.0.0" not in (previous[0], remote[0])


def _address(value: Any) -> Address | None:
    return None if value is None else (str(value[0]), int(value[1]))


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Address) -> None:
        # IPv4 gives (host, port) already; IPv6's (host, port, flow, scope) is cut to its first two
        self.on_datagram(data, addr if len(addr) == 2 else (addr[0], addr[1]))


class _RtpSocket(asyncio.DatagramProtocol):
    """The RTP socket's protocol: datagrams go straight to the endpoint's handler (one call less
    for every packet relayed), which takes IPv6's longer addresses itself."""

    def __init__(self, on_datagram: Callable[[bytes, tuple[Any, ...]], None]) -> None:
        self.datagram_received = on_datagram  # type: ignore[method-assign, assignment]


class RtpEndpoint:
    """The engine's side of one leg: receives from the peer, sends to it."""

    def __init__(self, on_rtp: Callable[[RtpEndpoint, rtp.RtpPacket, bytes], None]) -> None:
        self.on_rtp = on_rtp
        self.port = 0
        self.remote: Address | None = None  # from the SDP, until latched
        self.latched: Address | None = None
        self.replaced: Address | None = None  # the source latched before the peer changed
        self.stats = rtcp.ReceiveStats()
        self.ssrc: int | None = None
        self.last_packet_at: float | None = None
        self.strangers = 0
        self.garbage = 0
        self.last_report: rtcp.Report | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None  # the RTP socket (read here once ``_rtp`` is set)
        self._sendto: Callable[[bytes | memoryview, Address], object] | None = None  # the RTP socket's own

    async def bind(self, address: str, port: int, *, receive: bool = True) -> None:
        """Bind RTP on ``port`` and RTCP on ``port + 1``; OSError when either is taken. The RTP
        socket is read on this loop at once unless ``receive`` is false (a forwarder reads it)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock, rtcp_sock = socket.socket(family, socket.SOCK_DGRAM), socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
            rtcp_sock.bind((address, port + 1))
            sock.setblocking(False)
            rtcp_sock.setblocking(False)
            rtcp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _Socket(self._on_rtcp_datagram), sock=rtcp_sock
            )
        except OSError:
            sock.close()
            rtcp_sock.close()
            raise
        self._sock, self._rtcp, self.port = sock, rtcp_transport, port
        self._sendto = sock.sendto
        if receive:
            await self.receive()

    async def receive(self) -> None:
        """Read the RTP socket on this loop from now on (through a copy of it: ``stop_receiving``
        closes the copy, the leg keeps its socket)."""
        if self._rtp is None and self._sock is not None:
            loop = asyncio.get_running_loop()
            copy = self._sock.dup()
            try:
                self._rtp, _ = await loop.create_datagram_endpoint(
                    lambda: _RtpSocket(self._on_rtp_datagram), sock=copy
                )
            except OSError:
                copy.close()
                raise

    def stop_receiving(self) -> None:
        """Stop reading the RTP socket here (a forwarder reads it again)."""
        transport, self._rtp = self._rtp, None
        if transport is not None:
            transport.close()

    def fds(self) -> tuple[int, int]:
        """The RTP and RTCP sockets' descriptors (handed to a forwarder, which gets copies)."""
        if self._sock is None or self._rtcp is None:
            raise OSError("the leg is not bound")
        return self._sock.fileno(), self._rtcp.get_extra_info("socket").fileno()

    def state(self, started: bool, timed_out: bool, digits: list[int]) -> dict[str, Any]:
        """The leg's latching, counters and what its relay knows of it, for a forwarder."""
        return {
            "remote": self.remote,
            "latched": self.latched,
            "replaced": self.replaced,
            "ssrc": self.ssrc,
            "stats": self.stats.state(),
            "last_at": self.last_packet_at,
            "strangers": self.strangers,
            "garbage": self.garbage,
            "started": started,
            "timed_out": timed_out,
            "digits": digits,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Carry on from what a forwarder knew of the leg."""
        self.remote = _address(state["remote"])
        self.latched = _address(state["latched"])
        self.replaced = _address(state["replaced"])
        self.ssrc = state["ssrc"]
        self.stats = rtcp.ReceiveStats.restored(state["stats"])
        self.last_packet_at = state["last_at"]
        self.strangers = int(state["strangers"])
        self.garbage = int(state["garbage"])

    def repoint(self, remote: Address | None) -> None:
        """The leg's SDP names ``remote``; another address than before (neither the on-hold
        0.0.0.0) means another party: the leg is latched again to the next source."""
        previous, self.remote = self.remote, remote
        if unlatches(previous, remote, self.latched):
            self.replaced, self.latched = self.latched, None

    @property
    def destination(self) -> Address | None:
        """Where media for this leg goes: the latched source, else the SDP address."""
        return self.latched or self.remote

    def send(self, data: bytes | memoryview) -> None:
        """Send one RTP datagram to the leg (dropped while its address is unknown)."""
        dest = self.latched or self.remote
        sendto = self._sendto
        if dest is not None and sendto is not None:
            try:  # noqa: SIM105 (no context manager for every packet)
                sendto(data, dest)  # on the socket itself: one system call, nothing queued
            except OSError:
                pass  # a full send buffer or a closed leg: the packet is lost, as on a network

    def send_rtcp(self, data: bytes) -> None:
        """Send one RTCP datagram to the leg's RTCP port (RTP port + 1)."""
        dest = self.destination
        if dest is not None and self._rtcp is not None:
            self._rtcp.sendto(data, (dest[0], dest[1] + 1))

    def close(self) -> None:
        """Close both sockets."""
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()
        if self._sock is not None:
            self._sock.close()  # the transport read a copy of it

    def _on_rtp_datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # every relayed packet passes here: no logging, one parse, one clock reading
        if len(addr) != 2:
            addr = (addr[0], addr[1])  # IPv6: (host, port, flow, scope)
        latched = self.latched
        if latched is not None and addr != latched:
            if addr != self.remote:
                self.strangers += 1
                return
            latched = None  # the leg's SDP address: latched again below (a stray came first)
        try:
            packet = rtp.parse(data)
        except rtp.RtpError:
            self.garbage += 1
            return
        if latched is None:
            if rtp.is_rtcp(data):
                self.garbage += 1  # RTCP sent to this port (another stream's report): never latched
                return
            if addr == self.replaced:
                self.strangers += 1  # the party the leg had before: it is gone
                return
            self.latched = (addr[0], addr[1])
        if packet.ssrc != self.ssrc:  # a new source from the latched address: restart its counters
            self.ssrc = packet.ssrc
            self.stats = rtcp.ReceiveStats()
        self.last_packet_at = arrival = monotonic()
        self.stats.update(packet.sequence, packet.timestamp, arrival)
        self.on_rtp(self, packet, data)

    def _on_rtcp_datagram(self, data: bytes, addr: Address) -> None:
        if self.latched is not None and addr[0] != self.latched[0]:
            self.strangers += 1
            return
        try:
            self.last_report = rtcp.parse(data)
        except rtcp.RtcpError:
            self.garbage += 1
