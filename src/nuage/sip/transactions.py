"""Transactions (RFC 3261 §17, RFC 6026): the four state machines and their timers A-M.

Callbacks, not coroutines: a transaction is a small object driven by received messages and
timers of the layer's ``Scheduler`` (``nuage.sip.timers``), so a call costs no task switches.
The transaction user (the registrar or the B2BUA) sees each request once, each response once,
and a timeout. Matching messages to transactions is ``nuage.sip.transaction_layer``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Protocol

from nuage.sip.identifiers import new_tag
from nuage.sip.message import Headers, SipRequest, SipResponse
from nuage.sip.message.replies import make_response, response_bytes
from nuage.sip.timers import Cancellable
from nuage.sip.transport import Address, Transport, response_destination

if TYPE_CHECKING:
    from nuage.sip.transaction_layer import TransactionLayer

log = logging.getLogger("nuage.sip.transactions")
_TRYING = b"SIP/2.0 100 "


class TxState(Enum):
    """States of the four transaction machines (names of RFC 3261 §17 and RFC 6026)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class ResponseHandler(Protocol):
    """What a client transaction reports to its user."""

    def __call__(self, response: SipResponse | None) -> None:
        """A response, or None when the transaction timed out or the transport failed (→ 408)."""
        ...


class _TimedTransaction:
    """What both kinds of transaction share: their timers, cancelled together."""

    __slots__ = ("_handles", "_layer")

    _handles: list[Cancellable]
    _layer: TransactionLayer

    def _linger(self, delay: float, callback: Callable[[], None]) -> None:
        """Timers that end a transaction (D, H, I, J, K, L, M): late by up to a second is fine."""
        if delay <= 0:
            self._later(0, callback)
        else:
            self._handles.append(self._layer.coarse.call_later(delay, callback))

    def _later(self, delay: float, callback: Callable[..., None], *args: object) -> None:
        self._handles.append(self._layer.scheduler.call_later(delay, callback, *args))

    def _cancel_timers(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()


class ServerTransaction(_TimedTransaction):
    """A server transaction (INVITE: §17.2.1 + RFC 6026; non-INVITE: §17.2.2)."""

    __slots__ = (
        "_last",
        "_trying_at",
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
        self._handles: list[Cancellable] = []
        self.cancelled = False
        self._trying_at: Cancellable | None = None

    @property
    def is_invite(self) -> bool:
        """True for an INVITE server transaction."""
        return self.request.method == "INVITE"

    @property
    def finally_answered(self) -> bool:
        """Whether a final response was sent (or the transaction is over)."""
        return self.state is not TxState.PROCEEDING and self.state is not TxState.TRYING

    def respond(self, response: SipResponse) -> None:
        """Send a response and move the state machine; ignored once a final response is sent."""
        if self.state not in (TxState.PROCEEDING, TxState.TRYING):
            if self.state is TxState.ACCEPTED and 200 <= response.status < 300:
                self._send(response.to_bytes())  # RFC 6026: the TU retransmits its 2xx
            return
        self._answer(response.status, response.to_bytes())

    def respond_bytes(self, status: int, data: bytes) -> None:
        """``respond`` with the response already written (``response_bytes``) with ``status``."""
        if self.state not in (TxState.PROCEEDING, TxState.TRYING):
            if self.state is TxState.ACCEPTED and 200 <= status < 300:
                self._send(data)  # RFC 6026: the TU retransmits its 2xx
            return
        self._answer(status, data)

    def _answer(self, status: int, data: bytes) -> None:
        if self._trying_at is not None:
            self._trying_at.cancel()
            self._trying_at = None
        self._last = data
        self._send(data)
        timers = self._layer.timers
        if status < 200:
            self.state = TxState.PROCEEDING
            return
        if self.is_invite:
            if status < 300:
                self.state = TxState.ACCEPTED
                # timer L: the layer absorbs retransmitted INVITEs; the TU keeps this object to
                # send its 2xx again until the ACK (RFC 6026)
                self._layer.linger_server(self.key, timers.b)
            else:
                self.state = TxState.COMPLETED
                if not self.transport.reliable:
                    self._later(timers.t1, self._timer_g, timers.t1)
                self._linger(timers.b, self._timer_h)
        else:
            self.state = TxState.COMPLETED
            # timer J: the layer keeps the bytes to answer retransmissions, not this object (#22)
            delay = 0 if self.transport.reliable else timers.b
            self._layer.linger_server(self.key, delay, (data, self.destination, self.transport))

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
        """Build and send a bodiless response (written straight to bytes: no message object).

        Without ``to_tag``, a response but a 100 to a request outside a dialog gets a tag of its
        own (RFC 3261 §8.2.6.2) while nothing but a 100 was sent: a tag already sent in a
        provisional response is the transaction user's to give again."""
        state = self.state
        if state is TxState.PROCEEDING or state is TxState.TRYING or state is TxState.ACCEPTED:
            if to_tag is None and status > 100 and (self._last is None or self._last.startswith(_TRYING)):
                to_tag = new_tag()  # a request in a dialog keeps its own (``response_bytes``)
            data = response_bytes(self.request, status, reason, to_tag=to_tag, headers=headers)
            self.respond_bytes(status, data)

    def reply_statelessly(self, status: int, *, headers: Sequence[tuple[str, str]] = ()) -> None:
        """Answer as a stateless UAS would (RFC 3261 §8.2.7) and forget the transaction at once:
        for the challenge of a request without credentials (issue #22). A retransmitted request
        is answered anew; the ACK of a 407 matches no transaction and the dispatcher drops it."""
        if self.state is not TxState.PROCEEDING and self.state is not TxState.TRYING:
            return
        if self._trying_at is not None:
            self._trying_at.cancel()
            self._trying_at = None
        self.state = TxState.TERMINATED
        self._layer.forget_server(self.key)
        self._send(response_bytes(self.request, status, to_tag=new_tag(), headers=headers))

    def trying_soon(self) -> None:
        """RFC 3261 §17.2.1: 100 (Trying) unless the TU answers within ``Timers.trying`` (100 ms):
        sent at once before a challenge or a quick 180, a datagram for nothing (issue #22). The
        first response calls it off; a retransmitted INVITE gets it at once."""
        self._trying_at = self._layer.scheduler.call_later(self._layer.timers.trying, self._trying)

    def _trying(self) -> None:
        self._trying_at = None  # no response yet: the first one cancels this timer
        self.reply(100)  # which a transaction ended meanwhile ignores

    def retransmission(self, request: SipRequest) -> None:
        """A copy of the request arrived again: resend the last response (§17.2.1/§17.2.2)."""
        if request.method == "ACK":
            if self.state is TxState.COMPLETED:
                self.state = TxState.CONFIRMED
                self._cancel_timers()
                # timer I: the layer absorbs further ACKs, without this object
                self._layer.linger_server(self.key, 0 if self.transport.reliable else self._layer.timers.t4)
            return
        if self._last is not None and self.state in (TxState.PROCEEDING, TxState.TRYING, TxState.COMPLETED):
            self._send(self._last)
        elif self._last is None and self.state is TxState.PROCEEDING:
            self.reply(100)  # an INVITE sent again before any answer (``trying_soon``)

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
        self._layer.forget_server(self.key)


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
        self._handles: list[Cancellable] = []
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
            # the layer keeps a record in place of this object while it lingers (issue #22)
            handler = self._on_response
            layer = self._layer
            if self.request.method == "INVITE":
                if status < 300:
                    self.state = TxState.ACCEPTED
                    layer.linger_accepted(self.key, layer.timers.b, handler)  # timer M
                else:
                    self.state = TxState.COMPLETED
                    ack = self._send_ack(response)
                    delay = 0 if self.transport.reliable else 32.0  # timer D
                    layer.linger_client(self.key, delay, (ack, self.destination, self.transport))
            else:
                self.state = TxState.COMPLETED
                layer.linger_client(self.key, 0 if self.transport.reliable else layer.timers.t4)  # timer K
            handler(response)
            return
        if self.state is TxState.COMPLETED and self.request.method == "INVITE" and status >= 300:
            self._send_ack(response)  # a retransmitted final response: ACK again, do not report
        elif self.state is TxState.ACCEPTED and 200 <= status < 300:
            self._on_response(response)  # retransmitted or forked 2xx goes to the TU (RFC 6026)

    def release(self) -> None:
        """The transaction user is done with this transaction (its leg closed): a late 2xx goes where
        one arriving after the transaction ended goes (the user's stray responses), and nothing of
        the user is kept alive while the transaction lingers (timers D and M: 32 s; issue #22)."""
        self._on_response = partial(_stray, self._layer, self.destination)  # not a method: no cycle
        self.last_provisional = None
        self.request.forget_views()
        if self.state is TxState.ACCEPTED:
            self._layer.release_accepted(self.key)

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

    def _send_ack(self, response: SipResponse) -> bytes:
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
        data = SipRequest("ACK", original.raw_uri, headers).to_bytes()
        self.transport.send(data, self.destination)
        return data

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
        self._layer.forget_client(self.key)


def _ignore(response: SipResponse | None) -> None:
    return None


def _stray(layer: TransactionLayer, source: Address, response: SipResponse | None) -> None:
    """A response to a released transaction: the transaction user's stray responses."""
    if response is not None:
        layer.user.on_stray_response(response, source)
