"""One leg's RTP/RTCP endpoint: a pair of UDP sockets bound by the engine, with latching.

Symmetric RTP (RFC 4961): the first RTP packet latches the leg to its source address, which then
receives everything the engine sends to this leg; datagrams from any other address afterwards are
dropped and counted as strangers. An SDP naming another address (another party took the leg: a
transfer) unlatches it: the next source is latched, never the one it replaced. Garbage is dropped
and counted too. Accepted RTP is handed to the owner's ``on_rtp`` callback; RTCP reports from the
peer are kept as ``last_report``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from time import monotonic
from typing import Any

from nuage.media import rtcp, rtp

Address = tuple[str, int]


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
        self._sendto: Callable[[bytes | memoryview, Address], object] | None = None  # the RTP socket's own

    async def bind(self, address: str, port: int) -> None:
        """Bind RTP on ``port`` and RTCP on ``port + 1``; OSError when either is taken."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, port))
            sock.setblocking(False)
            rtp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _RtpSocket(self._on_rtp_datagram), sock=sock
            )
        except OSError:
            sock.close()
            raise
        try:
            rtcp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _Socket(self._on_rtcp_datagram), local_addr=(address, port + 1)
            )
        except OSError:
            rtp_transport.close()
            raise
        self._rtp, self._rtcp, self.port = rtp_transport, rtcp_transport, port
        self._sendto = sock.sendto

    def repoint(self, remote: Address | None) -> None:
        """The leg's SDP names ``remote``; another address than before (neither the on-hold
        0.0.0.0) means another party: the leg is latched again to the next source."""
        previous, self.remote = self.remote, remote
        if previous is None or remote is None or remote == previous or self.latched is None:
            return
        if "0.0.0.0" in (previous[0], remote[0]) or self.latched == remote:
            return  # on hold; or the new party's media came before its SDP and is latched already
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

    def _on_rtp_datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # every relayed packet passes here: no logging, one parse, one clock reading
        if len(addr) != 2:
            addr = (addr[0], addr[1])  # IPv6: (host, port, flow, scope)
        latched = self.latched
        if latched is not None and addr != latched:
            self.strangers += 1
            return
        try:
            packet = rtp.parse(data)
        except rtp.RtpError:
            self.garbage += 1
            return
        if latched is None:
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
