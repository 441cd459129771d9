"""The network's transports, bound by name: UDP, TCP and TLS sockets with the edge's guards.

``SipServer`` binds its transports through a ``Binder``: ``SocketBinder`` here (bans, resolver,
connection limits, TLS contexts), or an in-memory network in tests (``nuage.sip.memory_transport``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nuage.sip.resolver import Resolver
from nuage.sip.tcp import TcpLimits, TcpTransport
from nuage.sip.tls import TlsContexts, TlsTransport
from nuage.sip.transport import Blocked, MessageHandler, Transport, UdpTransport

Binder = Callable[[str, str, int, MessageHandler], Awaitable[Transport]]
"""Binds a transport by name (``"UDP"``...) on host and port and hands it every message."""


@dataclass(frozen=True, slots=True)
class SocketBinder:
    """The network's transports: UDP, TCP and TLS sockets, with the edge's guards (bans, limits)."""

    blocked: Blocked | None = None  # a banned source gets no answer, not even a 400
    resolver: Resolver | None = None  # names resolved off the loop, with a timeout and a cache
    limits: TcpLimits | None = None  # TCP's, and TLS's
    tls: TlsContexts | None = None

    async def __call__(self, name: str, host: str, port: int, handler: MessageHandler) -> Transport:
        if name == "UDP":
            return await UdpTransport.listen(
                host, port, handler, blocked=self.blocked, resolver=self.resolver
            )
        if name == "TCP":
            return await TcpTransport.listen(
                host, port, handler, blocked=self.blocked, resolver=self.resolver, limits=self.limits
            )
        if name == "TLS" and self.tls is not None:
            return await TlsTransport.listen_tls(
                host,
                port,
                handler,
                contexts=self.tls,
                blocked=self.blocked,
                resolver=self.resolver,
                limits=self.limits,
            )
        raise ValueError(f"unsupported transport {name!r}")
