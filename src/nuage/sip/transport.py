"""Transports (RFC 3261 §18): UDP and TCP on asyncio, with RFC 3581 rport and §18.2.2 routing.

Every transport hands each received message to one callback, already parsed, with the address
it came from; a malformed request is answered with a 400 when it can be, dropped otherwise.
A transport is a small class with ``send(data, address)``, so TLS and WebSocket fit later as
two more classes (they differ only in how bytes are framed and secured).

Nothing here blocks the loop: host names are resolved by ``nuage.sip.resolver`` in a worker
thread, and a 400 goes to the address the request came from (RFC 3581 received/rport), never to
a name, and never to a banned address. TCP connections are capped per source address and in all
(below the process's file-descriptor limit, so the HTTP API keeps descriptors) and closed when
idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from nuage.sip.message import SipParseError, SipRequest, SipResponse, StreamFramer, parse_message
from nuage.sip.message.headers import Via, split_list
from nuage.sip.resolver import SEND_ERRORS, UNRESOLVED, Resolver, Sender, SendErrors, is_ip_literal

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


Blocked = Callable[[str], bool]  # True for a source host whose messages are dropped unanswered


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
    if maddr and is_ip_literal(maddr):  # a name is not looked up for a response
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

    def __init__(self, handler: MessageHandler, blocked: Blocked | None) -> None:
        self._handler = handler
        self._blocked = blocked

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

    def refuse_head(self, head: bytes, reason: str, source: Address, transport: Transport) -> None:
        """Answer a message whose framing failed, from its head alone."""
        try:
            partial: object = parse_message(head + b"\r\n\r\n", datagram=False)
        except SipParseError as exc:
            partial = exc.partial
        self._refuse(partial, reason, source, transport)

    def _refuse(self, partial: object, reason: str, source: Address, transport: Transport) -> None:
        log.debug("malformed message from %s: %s", source, reason)
        if self._blocked is not None and self._blocked(source.host):
            return
        response = bad_request(partial, reason)
        if response is None:
            return
        transport.send(response.to_bytes(), refusal_destination(response, source, transport))


def refusal_destination(response: SipResponse, source: Address, transport: Transport) -> Address:
    """Where a transport's own 400 goes: the received address (RFC 3581), the Via port unless
    rport was asked; the source itself on a connection or when the Via cannot be read."""
    if transport.reliable:
        return source
    try:
        via = Via.parse(response.headers.get("via") or "")
    except SipParseError:
        return source
    if via.param("rport") is not None:
        return source
    return Address(source.transport, source.host, via.sent_by[1])


@dataclass(frozen=True, slots=True)
class TcpLimits:
    """Caps of the TCP transport; ``max_connections`` is lowered to fit the descriptor limit."""

    idle_timeout_s: float = 900.0  # a connection without a complete message for this long is closed
    max_connections_per_address: int = 100
    max_connections: int = 10_000
    reserved_fds: int = 512  # descriptors kept free for the HTTP API, the database, files


def connection_cap(limits: TcpLimits) -> int:
    """The global cap: the setting, but at most half the descriptors left after the reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(1, min(limits.max_connections, (soft - limits.reserved_fds) // 2))


class UdpTransport(asyncio.DatagramProtocol):
    """SIP over UDP."""

    name = "UDP"
    reliable = False

    def __init__(
        self, handler: MessageHandler, *, blocked: Blocked | None = None, resolver: Resolver | None = None
    ) -> None:
        self._receiver = _Receiver(handler, blocked)
        self._sender = Sender(resolver or Resolver())
        self._errors = SendErrors("UDP")
        self._transport: asyncio.DatagramTransport | None = None
        self.local = Address("UDP", "0.0.0.0", 0)

    @classmethod
    async def listen(
        cls,
        host: str,
        port: int,
        handler: MessageHandler,
        *,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        buffer_bytes: int = 4 << 20,
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
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(handler, blocked=blocked, resolver=resolver), sock=sock
        )
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
        """Send one datagram (a host name is resolved first, off the loop)."""
        ip = self._sender.resolver.cached(destination.host)
        if ip is None:
            self._sender.later(data, destination, self._sendto)
        elif ip != UNRESOLVED:
            self._sendto(data, ip, destination.port)

    def _sendto(self, data: bytes, ip: str, port: int) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._transport.sendto(data, (ip, port))
        except SEND_ERRORS as exc:  # never into the loop: SIP timers handle the loss
            self._errors(Address("UDP", ip, port), exc)

    def close(self) -> None:
        """Close the socket."""
        self._sender.close()
        if self._transport is not None:
            self._transport.close()


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer = Address("TCP", "", 0)
        self.active_at = 0.0  # loop time of the last complete message (or of the connection)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = Address("TCP", str(peer[0]), int(peer[1]))
        self.active_at = self._owner.loop_time()
        if not self._owner._admit(self):
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        framer = self._framer
        messages = framer.feed(data)
        if messages or not framer.buffered:
            self.active_at = self._owner.loop_time()
        for raw in messages:
            self._owner._receiver.deliver(raw, self.peer, self._owner, datagram=False)
        error = framer.error
        if error is not None:
            log.info("closing TCP connection from %s: %s", self.peer, error.reason)
            head = error.partial if isinstance(error.partial, bytes) else b""
            if head and self.transport is not None and not self.transport.is_closing():
                # answer the faulty message when its head is readable, then close: framing is lost
                self._owner._receiver.refuse_head(head, error.reason, self.peer, self._owner)
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._forget(self)


class TcpTransport:
    """SIP over TCP: accepts connections, reuses them for responses and requests (RFC 3261 §18)."""

    name = "TCP"
    reliable = True

    def __init__(
        self,
        handler: MessageHandler,
        *,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        limits: TcpLimits | None = None,
    ) -> None:
        self._receiver = _Receiver(handler, blocked)
        self._sender = Sender(resolver or Resolver())
        self.limits = limits or TcpLimits()
        self.max_connections = connection_cap(self.limits)
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._per_host: dict[str, int] = {}
        self._pending: dict[tuple[str, int], list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0  # connections refused by a cap
        self.local = Address("TCP", "0.0.0.0", 0)

    @classmethod
    async def listen(
        cls,
        host: str,
        port: int,
        handler: MessageHandler,
        *,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        limits: TcpLimits | None = None,
    ) -> TcpTransport:
        """Listen for TCP connections (port 0: any free port)."""
        self = cls(handler, blocked=blocked, resolver=resolver, limits=limits)
        loop = self._loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _TcpConnection(self), host, port)
        sockname = self._server.sockets[0].getsockname()
        self.local = Address("TCP", sockname[0], sockname[1])
        self._schedule_sweep()
        return self

    @property
    def connection_count(self) -> int:
        """Open connections (accepted and opened)."""
        return len(self._connections)

    def loop_time(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    def _admit(self, connection: _TcpConnection) -> bool:
        host = connection.peer.host
        count = self._per_host.get(host, 0)
        if len(self._connections) >= self.max_connections or count >= self.limits.max_connections_per_address:
            self.refused += 1
            log.debug("refused a TCP connection from %s: connection cap reached", connection.peer)
            return False
        self._per_host[host] = count + 1
        self._connections[(host, connection.peer.port)] = connection
        return True

    def _forget(self, connection: _TcpConnection) -> None:
        key = (connection.peer.host, connection.peer.port)
        if self._connections.get(key) is not connection:
            return
        del self._connections[key]
        count = self._per_host.get(key[0], 0) - 1
        if count > 0:
            self._per_host[key[0]] = count
        else:
            self._per_host.pop(key[0], None)

    def _schedule_sweep(self) -> None:
        assert self._loop is not None
        interval = max(0.05, min(30.0, self.limits.idle_timeout_s / 4))
        self._sweeper = self._loop.call_later(interval, self._sweep)

    def _sweep(self) -> None:
        """Close the connections idle for longer than the idle timeout."""
        horizon = self.loop_time() - self.limits.idle_timeout_s
        for connection in [c for c in self._connections.values() if c.active_at < horizon]:
            log.debug("closing idle TCP connection %s", connection.peer)
            if connection.transport is not None:
                connection.transport.close()
        self._schedule_sweep()

    def send(self, data: bytes, destination: Address) -> None:
        """Write on the open connection to ``destination``, opening one if needed."""
        ip = self._sender.resolver.cached(destination.host)
        if ip is None:
            self._sender.later(data, destination, self._send_to_ip)
        elif ip != UNRESOLVED:
            self._send_to_ip(data, ip, destination.port)

    def _send_to_ip(self, data: bytes, ip: str, port: int) -> None:
        key = (ip, port)
        connection = self._connections.get(key)
        if connection is not None and connection.transport is not None:
            connection.transport.write(data)
            return
        pending = self._pending.get(key)
        if pending is not None:
            if len(pending) < 64:
                pending.append(data)
            return
        if len(self._pending) >= 1024 or len(self._connections) >= self.max_connections:
            log.debug("dropped a message to %s:%s: too many connections", ip, port)
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
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sender.close()
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            if connection.transport is not None:
                connection.transport.close()
        for task in self._tasks:
            task.cancel()
