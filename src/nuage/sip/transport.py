"""Transports (RFC 3261 §18): UDP and TCP on asyncio, with RFC 3581 rport and §18.2.2 routing.

Every transport hands each received message to one callback, already parsed, with the address
it came from; a malformed request is answered with a 400 when it can be, dropped otherwise.
A transport is a small class with ``send(data, address)``, so TLS and WebSocket fit later as
two more classes (they differ only in how bytes are framed and secured).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from nuage.sip.message import SipParseError, SipRequest, SipResponse, StreamFramer, parse_message
from nuage.sip.message.headers import Via, split_list

log = logging.getLogger("nuage.sip.transport")


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message comes from or goes to: transport name, IP (or host) and port."""

    transport: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport.lower()}:{host}:{self.port}"


MessageHandler = Callable[[SipRequest | SipResponse, Address, "Transport"], None]


class Transport(Protocol):
    """One listening transport."""

    name: str  # "UDP", "TCP"; later "TLS", "WS"
    reliable: bool
    local: Address

    def send(self, data: bytes, destination: Address) -> None:
        """Send bytes; errors are logged, never raised (SIP timers handle loss)."""
        ...

    def close(self) -> None:
        """Stop listening and close connections."""
        ...


_resolved: dict[str, str] = {}


def resolve_host(host: str) -> str:
    """An IP for ``host`` (IP literals as they are; names through the resolver, cached).

    RFC 3263 NAPTR/SRV look-ups are not done: peers are addressed by host and port.
    """
    cached = _resolved.get(host)
    if cached is not None:
        return cached
    try:
        ipaddress.ip_address(host)
        ip = host
    except ValueError:
        try:
            ip = str(socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0])
        except OSError:
            ip = host
    _resolved[host] = ip
    return ip


def stamp_received(request: SipRequest, source: Address) -> None:
    """RFC 3261 §18.2.1 and RFC 3581: note on the top Via where the request really came from."""
    via = request.top_via
    changed = via
    if via.param("rport") == "":
        changed = changed.with_param("received", source.host).with_param("rport", str(source.port))
    elif via.host != source.host:
        changed = changed.with_param("received", source.host)
    if changed is via:
        return
    headers = request.headers
    lines = headers.get_all("via")
    first, _, rest = lines[0].partition(",") if "," in lines[0] else (lines[0], "", "")
    values = [str(changed)] if not rest else [str(changed), *split_list(lines[0])[1:]]
    for line in lines[1:]:
        values.append(line)
    headers.set("via", ", ".join(values))
    headers.prime("via0", changed)


def response_destination(via: Via, source: Address) -> Address:
    """RFC 3261 §18.2.2 and RFC 3581 §4: where a response to a request with this Via goes."""
    maddr = via.param("maddr")
    host, port = via.sent_by
    if maddr:
        return Address(via.transport, maddr, port)
    received = via.param("received") or host
    rport = via.param("rport")
    if rport:
        return Address(via.transport, received, int(rport))
    return Address(via.transport, received, port)


def bad_request(partial: object, reason: str) -> SipResponse | None:
    """A 400 for a malformed request, when its core headers are readable; None otherwise."""
    if not isinstance(partial, SipRequest) or partial.method == "ACK":
        return None
    try:
        partial.top_via  # noqa: B018
        response = SipResponse(400, reason[:100].replace("\r", " ").replace("\n", " "))
        for key in ("via", "from", "to", "call-id", "cseq"):
            for value in partial.headers.get_all(key):
                response.headers.add(key, value)
        for key in ("via", "from", "to", "call-id", "cseq"):
            if key not in response.headers:
                return None
    except SipParseError:
        return None
    return response


class _Receiver:
    """Shared receive path: parse, answer garbage with 400 or drop it, stamp Via, dispatch."""

    def __init__(self, handler: MessageHandler) -> None:
        self._handler = handler

    def deliver(self, data: bytes, source: Address, transport: Transport, *, datagram: bool) -> None:
        try:
            message = parse_message(data, datagram=datagram)
            if isinstance(message, SipRequest):
                stamp_received(message, source)
        except SipParseError as exc:
            self._refuse(exc.partial, exc.reason, source, transport)
            return
        try:
            self._handler(message, source, transport)
        except SipParseError as exc:  # a header parsed lazily by the layers above was malformed
            self._refuse(message, exc.reason, source, transport)
        except Exception:  # one bad call must never stop the receive loop
            log.exception("error while handling a message from %s (call %s)", source, message.call_id)

    @staticmethod
    def _refuse(partial: object, reason: str, source: Address, transport: Transport) -> None:
        response = bad_request(partial, reason)
        log.debug("malformed message from %s: %s", source, reason)
        if response is None:
            return
        try:
            destination = response_destination(Via.parse(response.headers.get("via") or ""), source)
        except SipParseError:
            return
        transport.send(response.to_bytes(), destination if not transport.reliable else source)


class UdpTransport(asyncio.DatagramProtocol):
    """SIP over UDP."""

    name = "UDP"
    reliable = False

    def __init__(self, handler: MessageHandler) -> None:
        self._receiver = _Receiver(handler)
        self._transport: asyncio.DatagramTransport | None = None
        self.local = Address("UDP", "0.0.0.0", 0)

    @classmethod
    async def listen(
        cls, host: str, port: int, handler: MessageHandler, *, buffer_bytes: int = 4 << 20
    ) -> UdpTransport:
        """Bind a UDP socket (port 0: any free port) with large kernel buffers.

        Bursts (a storm of REGISTER refreshes, a busy hour) must queue in the kernel rather than
        be dropped while the loop is busy; the kernel caps the size at net.core.rmem_max.
        """
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, buffer_bytes)
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(lambda: cls(handler), sock=sock)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        sockname = transport.get_extra_info("sockname")
        self.local = Address("UDP", sockname[0], sockname[1])

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) < 16 or data.strip() == b"":
            return  # keep-alive (CRLF or empty)
        self._receiver.deliver(data, Address("UDP", str(addr[0]), addr[1]), self, datagram=True)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)

    def send(self, data: bytes, destination: Address) -> None:
        """Send one datagram."""
        if self._transport is None:
            return
        try:
            self._transport.sendto(data, (resolve_host(destination.host), destination.port))
        except OSError as exc:
            log.warning("UDP send to %s failed: %s", destination, exc)

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer = Address("TCP", "", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = Address("TCP", str(peer[0]), int(peer[1]))
        self._owner._connections[(self.peer.host, self.peer.port)] = self

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._framer.feed(data)
        except SipParseError as exc:
            log.info("closing TCP connection from %s: %s", self.peer, exc.reason)
            if self.transport is not None:
                self.transport.close()
            return
        for raw in messages:
            self._owner._receiver.deliver(raw, self.peer, self._owner, datagram=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._connections.pop((self.peer.host, self.peer.port), None)


class TcpTransport:
    """SIP over TCP: accepts connections, reuses them for responses and requests (RFC 3261 §18)."""

    name = "TCP"
    reliable = True

    def __init__(self, handler: MessageHandler) -> None:
        self._receiver = _Receiver(handler)
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._pending: dict[tuple[str, int], list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.local = Address("TCP", "0.0.0.0", 0)

    @classmethod
    async def listen(cls, host: str, port: int, handler: MessageHandler) -> TcpTransport:
        """Listen for TCP connections (port 0: any free port)."""
        self = cls(handler)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _TcpConnection(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.local = Address("TCP", sockname[0], sockname[1])
        return self

    def send(self, data: bytes, destination: Address) -> None:
        """Write on the open connection to ``destination``, opening one if needed."""
        key = (resolve_host(destination.host), destination.port)
        connection = self._connections.get(key)
        if connection is not None and connection.transport is not None:
            connection.transport.write(data)
            return
        pending = self._pending.get(key)
        if pending is not None:
            pending.append(data)
            return
        self._pending[key] = [data]
        task = asyncio.get_running_loop().create_task(self._connect(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, key: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _TcpConnection(self), key[0], key[1]), timeout=5
            )
        except (OSError, TimeoutError) as exc:
            log.warning("TCP connect to %s:%s failed: %s", key[0], key[1], exc)
            self._pending.pop(key, None)
            return
        self._connections[key] = connection
        for data in self._pending.pop(key, []):
            transport.write(data)

    def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            if connection.transport is not None:
                connection.transport.close()
        for task in self._tasks:
            task.cancel()
