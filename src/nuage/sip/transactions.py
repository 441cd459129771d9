"""Transactions (RFC 3261 §17, RFC 6026): the four state machines and their timers A-M.

Callbacks, not coroutines: a transaction is a small object driven by received messages and
``loop.call_later`` timers, so a call costs no task switches. The transaction user (the
registrar or the B2BUA) sees each request once, each response once, and a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from nuage.sip.message import Headers, SipParseError, SipRequest, SipResponse
from nuage.sip.transport import Address, Transport, response_destination

log = logging.getLogger("nuage.sip.transactions")

MAGIC_COOKIE = "z9hG4bK"


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 timer base values in seconds; tests shorten T1 to run timeouts quickly."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def b(self) -> float:
        """Timer B/F/H/J/L/M: 64*T1."""
        return 64 * self.t1


class TxState(Enum):
    """States of the four transaction machines (names of RFC 3261 §17 and RFC 6026)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


def new_branch() -> str:
    """A fresh RFC 3261 branch."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag."""
    return secrets.token_hex(6)


class ResponseHandler(Protocol):
    """What a client transaction reports to its user."""

    def __call__(self, response: SipResponse | None) -> None:
        """A response, or None when the transaction timed out or the transport failed (→ 408)."""
        ...


class TransactionUser(Protocol):
    """The core above the transactions: the server's dispatcher."""

    def on_request(self, transaction: ServerTransaction) -> None:
        """A new request (not a retransmission, not an ACK)."""
        ...

    def on_ack(self, request: SipRequest, source: Address) -> None:
        """An ACK that no transaction absorbed (the ACK of a 2xx)."""
        ...

    def on_cancel(self, invite: ServerTransaction) -> None:
        """The INVITE transaction was cancelled; 200 to the CANCEL is already sent."""
        ...

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        """A response no client transaction matches (retransmitted 2xx of an INVITE)."""
        ...


class _TimedTransaction:
    """What both kinds of transaction share: their timers, cancelled together."""

    __slots__ = ("_handles", "_layer")

    _handles: list[asyncio.TimerHandle | CoarseTimer]
    _layer: TransactionLayer

    def _linger(self, delay: float, callback: Callable[[], None]) -> None:
        """Timers that end a transaction (D, H, I, J, K, L, M): late by up to a second is fine."""
        if delay <= 0:
            self._later(0, callback)
        else:
            self._handles.append(self._layer.coarse.call_later(delay, callback))

    def _later(self, delay: float, callback: Callable[..., None], *args: object) -> None:
        self._handles.append(self._layer.loop.call_later(delay, callback, *args))

    def _cancel_timers(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()


class ServerTransaction(_TimedTransaction):
    """A server transaction (INVITE: §17.2.1 + RFC 6026; non-INVITE: §17.2.2)."""

    __slots__ = (
        "_last",
        "cancelled",
        "destination",
        "key",
        "request",
        "source",
        "state",
        "transport",
    )

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        source: Address,
        transport: Transport,
        key: tuple[str, ...],
    ) -> None:
        self._layer = layer
        self.request = request
        self.source = source
        self.transport = transport
        self.key = key
        self.destination = source if transport.reliable else response_destination(request.top_via, source)
        self.state = TxState.PROCEEDING if request.method == "INVITE" else TxState.TRYING
        self._last: bytes | None = None
        self._handles: list[asyncio.TimerHandle | CoarseTimer] = []
        self.cancelled = False

    @property
    def is_invite(self) -> bool:
        """True for an INVITE server transaction."""
        return self.request.method == "INVITE"

    def respond(self, response: SipResponse) -> None:
        """Send a response and move the state machine; ignored once a final response is sent."""
        if self.state not in (TxState.PROCEEDING, TxState.TRYING):
            if self.state is TxState.ACCEPTED and 200 <= response.status < 300:
                self._send(response.to_bytes())  # RFC 6026: the TU retransmits its 2xx
            return
        data = response.to_bytes()
        self._last = data
        self._send(data)
        status = response.status
        timers = self._layer.timers
        if status < 200:
            self.state = TxState.PROCEEDING
            return
        if self.is_invite:
            if status < 300:
                self.state = TxState.ACCEPTED
                self._linger(timers.b, self._terminate)  # timer L
            else:
                self.state = TxState.COMPLETED
                if not self.transport.reliable:
                    self._later(timers.t1, self._timer_g, timers.t1)
                self._linger(timers.b, self._timer_h)
        else:
            self.state = TxState.COMPLETED
            self._linger(0 if self.transport.reliable else timers.b, self._terminate)  # timer J

    def response(
        self,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> SipResponse:
        """Build a response to this transaction's request (see ``make_response``)."""
        return make_response(self.request, status, reason, to_tag=to_tag, body=body, headers=headers)

    def reply(
        self,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Build and send a bodiless response."""
        self.respond(make_response(self.request, status, reason, to_tag=to_tag, headers=headers))

    def retransmission(self, request: SipRequest) -> None:
        """A copy of the request arrived again: resend the last response (§17.2.1/§17.2.2)."""
        if request.method == "ACK":
            if self.state is TxState.COMPLETED:
                self.state = TxState.CONFIRMED
                self._cancel_timers()
                self._linger(
                    0 if self.transport.reliable else self._layer.timers.t4, self._terminate
                )  # timer I
            return
        if self._last is not None and self.state in (TxState.PROCEEDING, TxState.TRYING, TxState.COMPLETED):
            self._send(self._last)

    def _send(self, data: bytes) -> None:
        self.transport.send(data, self.destination)

    def _timer_g(self, interval: float) -> None:
        if self.state is not TxState.COMPLETED or self._last is None:
            return
        self._send(self._last)
        interval = min(2 * interval, self._layer.timers.t2)
        self._later(interval, self._timer_g, interval)

    def _timer_h(self) -> None:
        if self.state is TxState.COMPLETED:
            log.info("no ACK for final response (call %s)", self.request.call_id)
        self._terminate()

    def _terminate(self) -> None:
        self.state = TxState.TERMINATED
        self._cancel_timers()
        self._layer._server.pop(self.key, None)


class ClientTransaction(_TimedTransaction):
    """A client transaction (INVITE: §17.1.1 + RFC 6026; non-INVITE: §17.1.2)."""

    __slots__ = (
        "_cancel_pending",
        "_on_response",
        "branch",
        "destination",
        "key",
        "last_provisional",
        "request",
        "state",
        "transport",
    )

    def __init__(
        self,
        layer: TransactionLayer,
        request: SipRequest,
        destination: Address,
        transport: Transport,
        on_response: ResponseHandler,
    ) -> None:
        self._layer = layer
        self.request = request
        self.destination = destination
        self.transport = transport
        self._on_response = on_response
        self.branch = request.top_via.branch or ""
        self.key = (self.branch, request.method)
        self.state = TxState.CALLING if request.method == "INVITE" else TxState.TRYING
        self._handles: list[asyncio.TimerHandle | CoarseTimer] = []
        self._cancel_pending = False
        self.last_provisional: SipResponse | None = None

    def start(self) -> None:
        """Send the request and arm timers A/B (INVITE) or E/F (non-INVITE)."""
        data = self.request.to_bytes()
        self.transport.send(data, self.destination)
        timers = self._layer.timers
        if not self.transport.reliable:
            self._later(timers.t1, self._retransmit, data, timers.t1)
        self._later(timers.b, self._timeout)

    def receive(self, response: SipResponse) -> None:
        """A response matched this transaction."""
        status = response.status
        if self.state in (TxState.CALLING, TxState.TRYING, TxState.PROCEEDING):
            if status < 200:
                self.state = TxState.PROCEEDING
                self.last_provisional = response
                # non-INVITE: timer E keeps running, at T2 (handled in _retransmit)
                if self.request.method == "INVITE":
                    # stop timer A; timer B no longer applies in Proceeding (§17.1.1.2): the
                    # TU's own no-answer timer ends the attempt with CANCEL
                    self._cancel_timers()
                    if self._cancel_pending:
                        self._send_cancel()
                self._on_response(response)
                return
            self._cancel_timers()
            if self.request.method == "INVITE":
                if status < 300:
                    self.state = TxState.ACCEPTED
                    self._linger(self._layer.timers.b, self._terminate)  # timer M
                else:
                    self.state = TxState.COMPLETED
                    self._send_ack(response)
                    self._linger(0 if self.transport.reliable else 32.0, self._terminate)  # timer D
            else:
                self.state = TxState.COMPLETED
                self._linger(
                    0 if self.transport.reliable else self._layer.timers.t4, self._terminate
                )  # timer K
            self._on_response(response)
            return
        if self.state is TxState.COMPLETED and self.request.method == "INVITE" and status >= 300:
            self._send_ack(response)  # a retransmitted final response: ACK again, do not report
        elif self.state is TxState.ACCEPTED and 200 <= status < 300:
            self._on_response(response)  # retransmitted or forked 2xx goes to the TU (RFC 6026)

    def cancel(self) -> None:
        """CANCEL the INVITE (§9.1): now if a provisional came, else as soon as one does."""
        if self.request.method != "INVITE" or self.state not in (TxState.CALLING, TxState.PROCEEDING):
            return
        if self.state is TxState.PROCEEDING:
            self._send_cancel()
        else:
            self._cancel_pending = True

    def _send_cancel(self) -> None:
        self._cancel_pending = False
        original = self.request
        headers = Headers()
        headers.add("via", str(original.top_via))
        for key in ("route", "from", "to", "call-id"):
            for value in original.headers.get_all(key):
                headers.add(key, value)
        headers.add("cseq", f"{original.cseq.number} CANCEL")
        headers.add("max-forwards", "70")
        cancel = SipRequest("CANCEL", original.raw_uri, headers)
        self._layer.send_request(cancel, self.destination, _ignore, transport=self.transport)

    def _send_ack(self, response: SipResponse) -> None:
        """§17.1.1.3: the ACK of a non-2xx final response, inside the transaction."""
        original = self.request
        headers = Headers()
        headers.add("via", str(original.top_via))
        for key in ("route", "from", "call-id"):
            for value in original.headers.get_all(key):
                headers.add(key, value)
        headers.add("to", response.headers.get("to") or "")
        headers.add("cseq", f"{original.cseq.number} ACK")
        headers.add("max-forwards", "70")
        self.transport.send(SipRequest("ACK", original.raw_uri, headers).to_bytes(), self.destination)

    def _retransmit(self, data: bytes, interval: float) -> None:
        if self.state not in (TxState.CALLING, TxState.TRYING, TxState.PROCEEDING):
            return
        if self.request.method == "INVITE" and self.state is TxState.PROCEEDING:
            return
        self.transport.send(data, self.destination)
        timers = self._layer.timers
        if self.request.method == "INVITE":
            interval = 2 * interval  # timer A doubles without cap
        else:
            interval = timers.t2 if self.state is TxState.PROCEEDING else min(2 * interval, timers.t2)
        self._later(interval, self._retransmit, data, interval)

    def _timeout(self) -> None:
        if self.state in (TxState.CALLING, TxState.TRYING, TxState.PROCEEDING):
            self._terminate()
            self._on_response(None)

    def _terminate(self) -> None:
        self.state = TxState.TERMINATED
        self._cancel_timers()
        self._layer._client.pop(self.key, None)


def _ignore(response: SipResponse | None) -> None:
    return None


class CoarseTimer:
    """A timer of the coarse wheel; only ``cancel()`` is offered, like asyncio's handles."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run it."""
        self.cancelled = True


class CoarseTimers:
    """A timer wheel with a fixed resolution for timers that only end things.

    Each call leaves half a dozen such timers (transaction ends, dialog clean-up) 5 to 32 s
    later. Fired one by one they wake the loop that many times per call; grouped in
    ``resolution``-wide slots they cost one wake-up per slot, however many calls there are.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution: float = 1.0) -> None:
        self._loop = loop
        self._resolution = resolution
        self._slots: dict[int, list[CoarseTimer]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._next_slot: int | None = None

    def call_later(self, delay: float, callback: Callable[[], None]) -> CoarseTimer:
        """Run ``callback`` at the end of the slot that holds ``now + delay``."""
        timer = CoarseTimer(callback)
        slot = math.ceil((self._loop.time() + delay) / self._resolution)
        bucket = self._slots.get(slot)
        if bucket is None:
            self._slots[slot] = [timer]
            if self._next_slot is None or slot < self._next_slot:
                self._arm(slot)
        else:
            bucket.append(timer)
        return timer

    def _arm(self, slot: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._next_slot = slot
        self._handle = self._loop.call_at(slot * self._resolution, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._next_slot = None
        now_slot = math.floor(self._loop.time() / self._resolution + 1e-9)
        for slot in sorted(s for s in self._slots if s <= now_slot):
            for timer in self._slots.pop(slot):
                if not timer.cancelled:
                    try:
                        timer.callback()
                    except Exception:
                        log.exception("timer callback failed")
        if self._slots:
            self._arm(min(self._slots))

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._slots.values())


class TransactionLayer:
    """Matches messages to transactions (§17.1.3, §17.2.3) and hands the rest to the user."""

    def __init__(self, user: TransactionUser, timers: Timers, loop: asyncio.AbstractEventLoop) -> None:
        self.user = user
        self.timers = timers
        self.loop = loop
        self.coarse = CoarseTimers(loop, resolution=min(1.0, timers.t1))
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        self._client: dict[tuple[str, str], ClientTransaction] = {}

    @staticmethod
    def server_key(request: SipRequest, method: str | None = None) -> tuple[str, ...]:
        """§17.2.3: branch + sent-by + method (ACK matches INVITE); RFC 2543 fallback otherwise."""
        via = request.top_via
        method = method or ("INVITE" if request.method == "ACK" else request.method)
        branch = via.branch or ""
        host, port = via.sent_by
        if branch.startswith(MAGIC_COOKIE):
            return (branch, host, str(port), method)
        to_tag = "" if request.method == "ACK" else (request.to_tag or "")
        return (
            request.call_id,
            request.from_tag or "",
            to_tag,
            str(request.cseq.number),
            str(via),
            method,
        )

    def receive(self, message: SipRequest | SipResponse, source: Address, transport: Transport) -> None:
        """Entry point for every message a transport parsed."""
        if isinstance(message, SipResponse):
            via = message.top_via
            key = (via.branch or "", message.cseq.method)
            client = self._client.get(key)
            if client is not None:
                client.receive(message)
            else:
                self.user.on_stray_response(message, source)
            return
        key_s = self.server_key(message)
        server = self._server.get(key_s)
        if server is not None:
            server.retransmission(message)
            return
        if message.method == "ACK":
            self.user.on_ack(message, source)
            return
        server = ServerTransaction(self, message, source, transport, key_s)
        self._server[key_s] = server
        if message.method == "CANCEL":
            self._cancel(server)
            return
        try:
            self.user.on_request(server)
        except SipParseError as exc:  # a header read by the user was malformed: 400, no state kept
            server.reply(400, exc.reason[:100])

    def _cancel(self, cancel: ServerTransaction) -> None:
        """§9.2: answer the CANCEL, then 487 the INVITE it names if that is still pending."""
        invite = self._server.get(self.server_key(cancel.request, "INVITE"))
        if invite is None:
            cancel.reply(481)
            return
        cancel.reply(200)
        if invite.state is TxState.PROCEEDING and not invite.cancelled:
            invite.cancelled = True
            self.user.on_cancel(invite)

    def send_request(
        self,
        request: SipRequest,
        destination: Address,
        on_response: ResponseHandler,
        *,
        transport: Transport,
    ) -> ClientTransaction:
        """Start a client transaction; the request's top Via must carry a fresh branch."""
        client = ClientTransaction(self, request, destination, transport, on_response)
        self._client[client.key] = client
        client.start()
        return client

    @property
    def counts(self) -> tuple[int, int]:
        """(server, client) transactions alive; for introspection and leak tests."""
        return len(self._server), len(self._client)


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
) -> SipResponse:
    """§8.2.6: a response copying Via, From, To, Call-ID, CSeq (and Record-Route for dialogs).

    ``headers`` are extra (canonical lower-case name, value) pairs.
    """
    response = SipResponse(status, reason)
    out = response.headers
    for value in request.headers.get_all("via"):
        out.add("via", value)
    out.add("from", request.headers.get("from") or "")
    to_value = request.headers.get("to") or ""
    if to_tag is not None and request.to_tag is None and status > 100:
        to_value = f"{to_value};tag={to_tag}"
    out.add("to", to_value)
    out.add("call-id", request.call_id)
    out.add("cseq", request.headers.get("cseq") or "")
    if 100 < status < 300 and request.method in ("INVITE", "SUBSCRIBE"):
        for value in request.headers.get_all("record-route"):
            out.add("record-route", value)
    for name, value in headers:
        out.add(name, value)
    response.body = body
    return response
