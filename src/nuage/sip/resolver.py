"""Name resolution for the SIP plane, never blocking the event loop.

Hosts that SIP messages name (a Via's maddr, a trunk's or a contact's host) are resolved with
``loop.getaddrinfo`` (a worker thread) under a timeout, and remembered in a small bounded cache
(IP literals included, so checking one costs a dict look-up). A name that did not resolve is
remembered for a short while too, so a flood of messages naming it does not flood the resolver.
RFC 3263 NAPTR/SRV look-ups are not done: peers are addressed by host and port. ``Sender``
sends to a name once it is resolved; ``SendErrors`` logs a failed send once per kind of error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nuage.sip.transport import Address

log = logging.getLogger("nuage.sip.resolver")

UNRESOLVED = ""  # cached answer for a name that did not resolve


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (no brackets)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Resolver:
    """An asynchronous resolver with a bounded, expiring cache and one look-up per name at a time."""

    def __init__(
        self,
        *,
        timeout_s: float = 2.0,
        ttl_s: float = 300.0,
        negative_ttl_s: float = 30.0,
        max_entries: int = 1024,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self._ttl = ttl_s
        self._negative_ttl = negative_ttl_s
        self._max = max_entries
        self._now = now
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[str]] = {}

    def cached(self, host: str) -> str | None:
        """The IP of ``host`` if known now (UNRESOLVED if it failed lately), None if a look-up is needed."""
        entry = self._cache.get(host)
        if entry is not None:
            if entry[1] > self._now():
                return entry[0]
            del self._cache[host]
        if is_ip_literal(host):
            self._remember(host, host, float("inf"))
            return host
        return None

    async def resolve(self, host: str) -> str:
        """The IP of ``host``, or UNRESOLVED when the look-up failed or timed out."""
        known = self.cached(host)
        if known is not None:
            return known
        pending = self._pending.get(host)
        if pending is not None:
            return await asyncio.shield(pending)
        if len(self._pending) >= self._max:
            return UNRESOLVED  # too many look-ups in flight: refuse rather than queue without bound
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._pending[host] = future
        ip = UNRESOLVED
        try:
            ip = await self._lookup(loop, host)
        finally:
            del self._pending[host]
            future.set_result(ip)  # waiters get UNRESOLVED if this look-up was cancelled
        ttl = self._ttl if ip != UNRESOLVED else self._negative_ttl
        self._remember(host, ip, self._now() + ttl)
        return ip

    async def _lookup(self, loop: asyncio.AbstractEventLoop, host: str) -> str:
        try:
            async with asyncio.timeout(self.timeout_s):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
            log.info("cannot resolve %r: %s", host[:100], exc or "timeout")
            return UNRESOLVED
        return str(infos[0][4][0]) if infos else UNRESOLVED

    def _remember(self, host: str, ip: str, until: float) -> None:
        self._cache[host] = (ip, until)
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)


# Exceptions a socket send may raise (uvloop raises more than OSError for a bad address)
SEND_ERRORS = (OSError, ValueError, TypeError, RuntimeError, OverflowError)


class SendErrors:
    """Logs a failed send once per kind of error, then quietly counts them."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._seen: set[str] = set()
        self.count = 0

    def __call__(self, destination: Address, exc: BaseException) -> None:
        self.count += 1
        kind = type(exc).__name__
        if kind not in self._seen and len(self._seen) < 64:
            self._seen.add(kind)
            log.warning(
                "%s send to %s failed: %s (further %s errors logged at debug)",
                self._name,
                destination,
                exc,
                kind,
            )
        else:
            log.debug("%s send to %s failed: %s", self._name, destination, exc)


class Sender:
    """Sends to an address whose host may be a name: resolved off the loop, then sent."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._tasks: set[asyncio.Task[None]] = set()

    def later(self, data: bytes, destination: Address, send: Callable[[bytes, str, int], None]) -> None:
        """Resolve ``destination``'s host in a task, then ``send(data, ip, port)`` (bounded)."""
        if len(self._tasks) >= 256:
            log.debug("dropped a message to %s: too many look-ups in flight", destination)
            return
        task = asyncio.get_running_loop().create_task(self._resolve_and_send(data, destination, send))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_and_send(
        self, data: bytes, destination: Address, send: Callable[[bytes, str, int], None]
    ) -> None:
        ip = await self.resolver.resolve(destination.host)
        if ip != UNRESOLVED:
            send(data, ip, destination.port)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
