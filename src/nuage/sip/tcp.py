"""SIP over TCP (RFC 3261 §18): connections accepted and opened, framed by Content-Length.

Connections are capped per source address and in all (the global cap also stays under half the
file descriptors the process may open, so the HTTP API and the database keep theirs), and a
connection without a complete message for ``idle_timeout_s`` is closed. A framing error (no or a
bad Content-Length) does not lose the messages read before it on the connection: they are
handled, the faulty one is answered 400 when its head is readable, then the connection closes.

SIP over TLS (``nuage.sip.tls``) is this transport with TLS contexts: the same framing, caps and
idle timeout; ``_listen`` (TLS accepts, admits under the caps, then shakes hands, so the caps
hold for connections that never finish a handshake) and ``_client_options`` are where they differ.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any, cast

from nuage.sip.message import StreamFramer
from nuage.sip.resolver import SEND_ERRORS, UNRESOLVED, Resolver, Sender
from nuage.sip.tls_sdes import clear_text
from nuage.sip.transport import Address, Blocked, MessageHandler, Receiver

log = logging.getLogger("nuage.sip.transport")


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


class TcpConnection(asyncio.Protocol):
    """One connection, accepted or opened: framed, counted under the caps, closed when idle."""

    def __init__(self, owner: TcpTransport, peer: Address | None = None) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self.admitted = False  # TLS admits a connection before its handshake
        self.backlog: list[bytes] = []  # written once the connection is made (after a handshake)
        self.transport: asyncio.Transport | None = None
        self.peer = peer or Address(owner.name, "", 0)
        self.active_at = 0.0  # loop time of the last complete message (or of the connection)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = Address(self._owner.name, str(peer[0]), int(peer[1]))
        self.active_at = self._owner.loop_time()
        if not self.admitted and not self._owner._admit(self):
            self.transport.abort()
            return
        for data in self.backlog:
            self.transport.write(data)
        self.backlog.clear()

    def data_received(self, data: bytes) -> None:
        framer = self._framer
        messages = framer.feed(data)
        if messages or not framer.buffered:
            self.active_at = self._owner.loop_time()
        for raw in messages:
            self._owner._receiver.deliver(raw, self.peer, self._owner, datagram=False)
        error = framer.error
        if error is not None:
            log.info("closing %s connection from %s: %s", self._owner.name, self.peer, error.reason)
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
    clear_text = True  # SIP-5: SDES keys never leave on it (``nuage.sip.tls_sdes``)

    def __init__(
        self,
        handler: MessageHandler,
        *,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        limits: TcpLimits | None = None,
    ) -> None:
        self._receiver = Receiver(handler, blocked)
        self._sender = Sender(resolver or Resolver())
        self.limits = limits or TcpLimits()
        self.max_connections = connection_cap(self.limits)
        self._server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], TcpConnection] = {}
        self._per_host: dict[str, int] = {}
        self._pending: dict[tuple[str, int], list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0  # connections refused by a cap
        self.local = Address(self.name, "0.0.0.0", 0)

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
        await self._listen(host, port)
        return self

    async def _listen(self, host: str, port: int) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: TcpConnection(self), host, port)
        server: Any = self._server  # its sockets: a tuple in asyncio, a list in uvloop
        sockname = server.sockets[0].getsockname()
        self.local = Address(self.name, sockname[0], sockname[1])
        self._schedule_sweep()

    def _client_options(self, key: tuple[str, int]) -> dict[str, Any]:
        """Extra arguments of ``loop.create_connection`` to ``key`` (TLS: context and name)."""
        return {}

    @property
    def connection_count(self) -> int:
        """Open connections (accepted and opened)."""
        return len(self._connections)

    def loop_time(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    def _admit(self, connection: TcpConnection) -> bool:
        host = connection.peer.host
        count = self._per_host.get(host, 0)
        if len(self._connections) >= self.max_connections or count >= self.limits.max_connections_per_address:
            self.refused += 1
            log.debug("refused a %s connection from %s: connection cap reached", self.name, connection.peer)
            return False
        connection.admitted = True
        self._per_host[host] = count + 1
        self._connections[(host, connection.peer.port)] = connection
        return True

    def _forget(self, connection: TcpConnection) -> None:
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
            log.debug("closing idle %s connection %s", self.name, connection.peer)
            if connection.transport is not None:
                connection.transport.close()
        self._schedule_sweep()

    def send(self, data: bytes, destination: Address) -> None:
        """Write on the open connection to ``destination``, opening one if needed."""
        if self.clear_text:
            data = clear_text(data)
        ip = self._sender.resolver.cached(destination.host)
        if ip is None:
            self._sender.later(data, destination, self._send_to_ip)
        elif ip != UNRESOLVED:
            self._send_to_ip(data, ip, destination.port)

    def _send_to_ip(self, data: bytes, ip: str, port: int) -> None:
        key = (ip, port)
        if not 0 < port < 65536:
            return
        connection = self._connections.get(key)
        if connection is not None:
            if connection.transport is not None:
                connection.transport.write(data)
            elif len(connection.backlog) < 64:  # a TLS handshake is under way
                connection.backlog.append(data)
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
            async with asyncio.timeout(5):
                transport, connection = await loop.create_connection(
                    lambda: TcpConnection(self), key[0], key[1], **self._client_options(key)
                )
        except (*SEND_ERRORS, TimeoutError) as exc:  # ssl.SSLError is an OSError
            log.warning("%s connect to %s:%s failed: %s", self.name, key[0], key[1], exc)
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
