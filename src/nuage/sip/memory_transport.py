"""An in-memory SIP transport: endpoints of one process exchanging datagrams, every one recorded.

``MemoryTransport`` implements the ``Transport`` port as ``UdpTransport`` does (unreliable; each
message parsed, its top Via stamped with ``received``/``rport``, and handed with its source to
one handler), on a ``MemoryNetwork`` instead of sockets. The network keeps every datagram sent,
delivered or not, so a test reads exactly what went on the wire; an endpoint bound without a
handler keeps what it receives, for a test to answer as a phone or a carrier would.

Delivery goes through the running event loop (``call_soon``): as on a network, a message
arrives after its sender's callback has returned. ``MemoryNetwork.bind`` has the shape of the
SIP server's ``binder``, so a whole ``SipServer`` runs on it. Malformed messages are dropped
(the UDP transport answers some with 400; that is the socket transport's business).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from nuage.sip.message import SipParseError, SipRequest, SipResponse, parse_message
from nuage.sip.transport import Address, MessageHandler, Transport, stamp_received

log = logging.getLogger("nuage.sip.transport")


@dataclass(frozen=True, slots=True)
class Datagram:
    """One message as it went on the network."""

    source: Address
    destination: Address
    data: bytes

    @property
    def first_line(self) -> str:
        """The request or status line."""
        return self.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


class MemoryNetwork:
    """Endpoints by (host, port), and the log of every datagram sent between them."""

    def __init__(self, first_port: int = 40000) -> None:
        self._endpoints: dict[tuple[str, int], MemoryTransport] = {}
        self._next_port = first_port
        self.datagrams: list[Datagram] = []
        self.in_flight = 0  # datagrams sent and not yet delivered

    def endpoint(self, host: str, port: int = 0, handler: MessageHandler | None = None) -> MemoryTransport:
        """Bind ``host:port`` (0: a free port); ``handler`` gets what arrives, else the endpoint keeps it."""
        if port == 0:
            while (host, self._next_port) in self._endpoints:
                self._next_port += 1
            port = self._next_port
        if (host, port) in self._endpoints:
            raise OSError(f"{host}:{port} is already bound")
        transport = MemoryTransport(self, Address("UDP", host, port), handler)
        self._endpoints[(host, port)] = transport
        return transport

    async def bind(self, name: str, host: str, port: int, handler: MessageHandler) -> Transport:
        """The SIP server's binder: a datagram transport named ``UDP`` on this network."""
        if name != "UDP":
            raise ValueError(f"the memory network carries datagrams only, not {name!r}")
        return self.endpoint(host, port, handler)

    def send(self, datagram: Datagram) -> None:
        """Record ``datagram`` and deliver it, on the loop's next turn, if someone is bound there."""
        self.datagrams.append(datagram)
        destination = self._endpoints.get((datagram.destination.host, datagram.destination.port))
        if destination is not None:
            self.in_flight += 1
            asyncio.get_running_loop().call_soon(self._arrive, destination, datagram)

    def _arrive(self, destination: MemoryTransport, datagram: Datagram) -> None:
        self.in_flight -= 1
        destination.receive(datagram.data, datagram.source)

    def unbind(self, transport: MemoryTransport) -> None:
        """Free the address of a closed endpoint."""
        if self._endpoints.get((transport.local.host, transport.local.port)) is transport:
            del self._endpoints[(transport.local.host, transport.local.port)]

    def between(self, one: Address, other: Address) -> list[Datagram]:
        """The datagrams sent from ``one`` to ``other`` (transport names aside), in order."""
        return [
            d
            for d in self.datagrams
            if (d.source.host, d.source.port) == (one.host, one.port)
            and (d.destination.host, d.destination.port) == (other.host, other.port)
        ]


class MemoryTransport:
    """One endpoint of a ``MemoryNetwork``: the ``Transport`` port without a socket."""

    reliable = False

    def __init__(self, network: MemoryNetwork, local: Address, handler: MessageHandler | None) -> None:
        self.name = local.transport
        self.local = local
        self._network = network
        self._handler = handler
        self.received: list[SipRequest | SipResponse] = []  # kept when no handler is bound

    def send(self, data: bytes, destination: Address) -> None:
        """Put one datagram on the network."""
        self._network.send(Datagram(self.local, destination, data))

    def receive(self, data: bytes, source: Address) -> None:
        """A datagram arrived: parse it, stamp the Via, hand it on or keep it."""
        source = Address(self.name, source.host, source.port)
        try:
            message = parse_message(data, datagram=True)
            if isinstance(message, SipRequest):
                stamp_received(message, source)
        except SipParseError as exc:
            log.debug("malformed message from %s dropped: %s", source, exc.reason)
            return
        if self._handler is None:
            self.received.append(message)
            return
        try:
            self._handler(message, source, self)
        except Exception:  # as on a socket: one bad message never stops the endpoint
            log.exception("error while handling a message from %s (call %s)", source, message.call_id)

    def sent(self) -> list[Datagram]:
        """What this endpoint sent, in order."""
        return [d for d in self._network.datagrams if d.source == self.local]

    def close(self) -> None:
        """Unbind."""
        self._network.unbind(self)
