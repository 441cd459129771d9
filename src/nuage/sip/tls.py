"""SIP over TLS (RFC 3261 §26.2, RFC 5630): the TCP transport with TLS on every connection.

Framing, connection caps and idle timeout are the TCP transport's (``nuage.sip.tcp``); what
differs is the handshake, started once a connection is admitted under the caps (so connections
that never finish one count), with a timeout of its own so that such a client holds a socket
only that long. Responses go back on the connection the request came on (its
flow); a connection we open verifies the peer's certificate and the name it was addressed by.
The certificates are ``nuage.sip.tls_certs``'; SDES keys travel only here (``nuage.sip.tls_sdes``).
A ``sips:`` Request-URI asks for TLS on every hop (RFC 5630): one that came in clear is refused
(480, Warning 380), and a call to one rings only the places reached over TLS.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from nuage.sip.resolver import UNRESOLVED, Resolver, is_ip_literal
from nuage.sip.tcp import TcpConnection, TcpLimits, TcpTransport
from nuage.sip.transport import Address, Blocked, MessageHandler

log = logging.getLogger("nuage.sip.transport")


def sips_not_allowed(host: str) -> str:
    """The Warning of a ``sips:`` request that cannot be honoured: a hop of it, or every place
    that would be rung, is not over TLS (RFC 5630 §3.4 warn-code 380, with 480)."""
    return f'380 {host} "SIPS Not Allowed"'


@dataclass(frozen=True, slots=True)
class TlsContexts:
    """What the TLS transport is configured with: its two contexts, its port, the handshake's limit."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    port: int = 5061  # 0: any free port
    handshake_timeout_s: float = 10.0


class TlsTransport(TcpTransport):
    """SIP over TLS: accepts and opens TLS connections, reuses them both ways (RFC 3261 §18)."""

    name = "TLS"
    clear_text = False

    def __init__(
        self,
        handler: MessageHandler,
        *,
        contexts: TlsContexts,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        limits: TcpLimits | None = None,
    ) -> None:
        super().__init__(handler, blocked=blocked, resolver=resolver, limits=limits)
        self.contexts = contexts
        self._blocked = blocked  # a banned source is closed before a handshake costs anything
        self._listener: socket.socket | None = None
        self._names: OrderedDict[tuple[str, int], str] = OrderedDict()  # peer -> name it was sent to

    @classmethod
    async def listen_tls(
        cls,
        host: str,
        port: int,
        handler: MessageHandler,
        *,
        contexts: TlsContexts,
        blocked: Blocked | None = None,
        resolver: Resolver | None = None,
        limits: TcpLimits | None = None,
    ) -> TlsTransport:
        """Listen for TLS connections on ``port`` (0: any free port)."""
        self = cls(handler, blocked=blocked, resolver=resolver, limits=limits, contexts=contexts)
        await self._listen(host, port)
        return self

    async def _listen(self, host: str, port: int) -> None:
        """Accept connections one by one: each is admitted under the caps before its handshake."""
        self._loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(1024)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        sockname = listener.getsockname()
        self.local = Address(self.name, sockname[0], sockname[1])
        self._spawn(self._accept_forever(listener))
        self._schedule_sweep()

    async def _accept_forever(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, peer = await loop.sock_accept(listener)
            except OSError as exc:  # out of descriptors: let some close before accepting more
                log.warning("TLS accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            connection = TcpConnection(self, Address(self.name, str(peer[0]), int(peer[1])))
            banned = self._blocked is not None and self._blocked(connection.peer.host)
            if banned or not self._admit(connection):
                sock.close()
                continue
            connection.active_at = self.loop_time()
            self._spawn(self._handshake(connection, sock))

    async def _handshake(self, connection: TcpConnection, sock: socket.socket) -> None:
        contexts = self.contexts
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                lambda: connection,
                sock,
                ssl=contexts.server,
                ssl_handshake_timeout=contexts.handshake_timeout_s,
            )
        except Exception as exc:  # any failed handshake closes the connection, never into the loop
            log.debug("TLS handshake with %s failed: %s", connection.peer, exc)
            sock.close()
            self._forget(connection)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop accepting and close every connection."""
        super().close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _client_options(self, key: tuple[str, int]) -> dict[str, Any]:
        contexts = self.contexts
        return {
            "ssl": contexts.client,
            "server_hostname": self._names.pop(key, key[0]),  # an IP is checked against the IP SANs
            "ssl_handshake_timeout": contexts.handshake_timeout_s,
        }

    def send(self, data: bytes, destination: Address) -> None:
        """Write on the connection to ``destination``; a new one checks the certificate names its host."""
        host = destination.host
        if is_ip_literal(host):
            super().send(data, destination)
            return

        def send_named(data: bytes, ip: str, port: int) -> None:
            names = self._names
            names[(ip, port)] = host
            while len(names) > 1024:
                names.popitem(last=False)
            self._send_to_ip(data, ip, port)

        ip = self._sender.resolver.cached(host)
        if ip is None:
            self._sender.later(data, destination, send_named)
        elif ip != UNRESOLVED:
            send_named(data, ip, destination.port)
