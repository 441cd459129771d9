"""Transports (RFC 3261 §18): UDP and TCP on asyncio, with RFC 3581 rport and §18.2.2 routing.

Every transport hands each received message to one callback, already parsed, with the address
it came from; a malformed request is answered with a 400 when it can be, dropped otherwise.
A transport is a small class with ``send(data, address)``: TLS is TCP's with TLS contexts
(``nuage.sip.tls``), WebSocket would be one more. Clear-text transports never send SDES keys.

Nothing here blocks the loop: host names are resolved by ``nuage.sip.resolver`` in a worker
thread, and a 400 goes to the address the request came from (RFC 3581 received/rport), never to
a name, and never to a banned address. UDP lives here; TCP, with its limits, in ``nuage.sip.tcp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Final, Protocol, cast, final

from nuage.sip.message import SipParseError, SipRequest, SipResponse, parse_message
from nuage.sip.message.headers import Via, split_list
from nuage.sip.resolver import SEND_ERRORS, UNRESOLVED, Resolver, Sender, SendErrors, is_ip_literal
from nuage.sip.tls_sdes import clear_text

log = logging.getLogger("nuage.sip.transport")


@final
class Address:
    """Where a message comes from or goes to: transport name, IP (or host) and port.

    Immutable (``Final``), equal and hashed by value. A hand-written class rather than a frozen
    dataclass: every datagram makes one, and compiled, this constructor costs a tenth of the one
    ``@dataclass`` generates, which runs interpreted and sets each field through
    ``object.__setattr__`` (issue #22)."""

    __slots__ = ("host", "port", "transport")
    __match_args__ = ("transport", "host", "port")

    def __init__(self, transport: str, host: str, port: int) -> None:
        self.transport: Final = transport
        self.host: Final = host
        self.port: Final = port

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return self.port == other.port and self.host == other.host and self.transport == other.transport

    def __hash__(self) -> int:
        return hash((self.transport, self.host, self.port))

    def __repr__(self) -> str:
        return f"Address(transport={self.transport!r}, host={self.host!r}, port={self.port!r})"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport.lower()}:{host}:{self.port}"


MessageHandler = Callable[[SipRequest | SipResponse, Address, "Transport"], None]


class Transport(Protocol):
    """One listening transport."""

    name: str  # "UDP", "TCP", "TLS"; later "WS"
    reliable: bool
    local: Address

    def send(self, data: bytes, destination: Address) -> None:
        """Send bytes; errors are logged, never raised (SIP timers handle loss)."""
        ...

    def close(self) -> None:
        """Stop listening and close connections."""
        ...


_BLANK = b" \t\n\r\x0b\x0c"  # what bytes.strip() removes
Blocked = Callable[[str], bool]  # True for a source host whose messages are dropped unanswered


def stamp_received(request: SipRequest, source: Address) -> None:
    """RFC 3261 §18.2.1 and RFC 3581: note on the top Via where the request really came from."""
    via = request.top_via
    rport = via.param("rport")
    if rport == "":
        kept = tuple(p for p in via.params if p[0] != "received" and p[0] != "rport")
        params = (*kept, ("received", source.host), ("rport", str(source.port)))
    elif via.host != source.host:
        params = (*(p for p in via.params if p[0] != "received"), ("received", source.host))
    else:
        return
    changed = Via(via.transport, via.host, via.port, params)
    headers = request.headers
    items = headers._items
    index_of = headers._first
    if index_of is not None and len(index_of) == len(items) and "," not in index_of.get("via", ","):
        # no header name twice (the index says so): one Via line with one value
        for index, (key, _) in enumerate(items):
            if key == "via":
                headers.set_at(index, "via", str(changed))
                headers.prime("via0", changed)
                return
    for index, (key, value) in enumerate(items):
        if key == "via":
            if "," in value:
                break
            for later in items[index + 1 :]:
                if later[0] == "via":
                    break
            else:  # one Via line, one value: rewritten where it stands (issue #22)
                headers.set_at(index, "via", str(changed))
                headers.prime("via0", changed)
                return
            break
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
        port = int(rport)
        if port == source.port and received == source.host and via.transport == source.transport:
            return source  # the usual answer once the Via is stamped: no new address
        return Address(via.transport, received, port)
    return Address(via.transport, received, port)


def bad_request(partial: object, reason: str) -> SipResponse | None:
    """A 400 for a malformed request that has its core headers, copied as received (a Via that
    cannot be read is answered to the source address); None for an ACK or a header missing."""
    if not isinstance(partial, SipRequest) or partial.method == "ACK":
        return None
    response = SipResponse(400, reason[:100].replace("\r", " ").replace("\n", " "))
    for key in ("via", "from", "to", "call-id", "cseq"):
        values = partial.headers.get_all(key)
        if not values:
            return None
        for value in values:
            response.headers.add(key, value)
    return response


class Receiver:
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


class UdpTransport(asyncio.DatagramProtocol):
    """SIP over UDP."""

    name = "UDP"
    reliable = False

    def __init__(
        self, handler: MessageHandler, *, blocked: Blocked | None = None, resolver: Resolver | None = None
    ) -> None:
        self._receiver = Receiver(handler, blocked)
        self._sender = Sender(resolver or Resolver())
        self._errors = SendErrors("UDP")
        self._transport: asyncio.DatagramTransport | None = None
        self.local = Address("UDP", "0.0.0.0", 0)
        self._sources: dict[tuple[str | object, int], Address] = {}  # a phone's address, made once

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
        if len(data) < 16 or (data[0] in _BLANK and data.strip() == b""):
            return  # keep-alive (CRLF or empty)
        source = self._sources.get(addr)
        if source is None:
            if len(self._sources) >= 4096:  # bounded: a flood of spoofed sources empties it
                self._sources.clear()
            source = self._sources[addr] = Address("UDP", str(addr[0]), addr[1])
        self._receiver.deliver(data, source, self, datagram=True)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)

    def send(self, data: bytes, destination: Address) -> None:
        """Send one datagram (a host name is resolved first, off the loop), never with SDES keys."""
        data = clear_text(data)  # SIP-5: keys travel only over TLS
        ip = self._sender.resolver.cached(destination.host)
        if ip is None:
            self._sender.later(data, destination, self._sendto)
        elif ip != UNRESOLVED:
            self._sendto(data, ip, destination.port)

    def _sendto(self, data: bytes, ip: str, port: int) -> None:
        if self._transport is None or self._transport.is_closing() or not 0 < port < 65536:
            return  # asyncio closes the whole socket on a port out of range: never pass one
        try:
            self._transport.sendto(data, (ip, port))
        except SEND_ERRORS as exc:  # never into the loop: SIP timers handle the loss
            self._errors(Address("UDP", ip, port), exc)

    def close(self) -> None:
        """Close the socket."""
        self._sender.close()
        if self._transport is not None:
            self._transport.close()
