"""Call legs: the caller's (a UAS) and the callee's (a UAC that may fork), as state machines.

A leg talks SIP on one side and LegEvents on the other; it never looks at the other leg. The
controller decides what passes between them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.states import LegState
from nuage.sip.dialogs import Dialog
from nuage.sip.message import Headers, NameAddr, SipRequest, SipResponse, SipUri
from nuage.sip.transactions import (
    ClientTransaction,
    ResponseHandler,
    ServerTransaction,
    Timers,
    new_branch,
    new_tag,
)
from nuage.sip.transport import Address

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.b2bua")

PASSED_HEADERS = ("session-expires", "min-se", "supported", "require", "allow")


class LegHost(Protocol):
    """What legs need from the server: transactions, transports, dialog registry."""

    loop: asyncio.AbstractEventLoop
    timers: Timers

    def send_request(
        self, request: SipRequest, destination: Address, on_response: ResponseHandler
    ) -> ClientTransaction:
        """Start a client transaction towards ``destination``."""
        ...

    def send_raw(self, data: bytes, destination: Address) -> None:
        """Send bytes outside any transaction (ACK of a 2xx)."""
        ...

    def via(self, transport: str) -> tuple[str, int]:
        """The sent-by host and port for a transport."""
        ...

    def contact(self, transport: str) -> str:
        """Our Contact header value for a transport."""
        ...

    def register_dialog(self, key: tuple[str, str], leg: Leg) -> None:
        """Route in-dialog requests with (Call-ID, local tag) to ``leg``."""
        ...

    def linger(self, delay: float, callback: Callable[[], None]) -> None:
        """Run a clean-up ``callback`` about ``delay`` seconds from now (coarse timer)."""
        ...

    def unregister_dialog(self, key: tuple[str, str]) -> None:
        """Stop routing a dialog."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """One place a callee leg sends its INVITE: a Request-URI and the address to send it to."""

    uri: SipUri
    destination: Address


class Leg:
    """What both legs share: a dialog, in-dialog requests, reliable 2xx, BYE."""

    role = "leg"

    def __init__(self, host: LegHost, call: CallController) -> None:
        self.host = host
        self.call = call
        self.state = LegState.IDLE
        self.dialog: Dialog | None = None
        self.transport = "UDP"
        self._2xx: tuple[int, bytes, Address, asyncio.TimerHandle | None] | None = None
        self._pending_reinvite = False
        self._outgoing_reinvite = False
        self._last_ack: tuple[bytes, Address] | None = None

    # -- controller -> leg ---------------------------------------------------------------
    def send(self, event: LegEvent) -> None:
        """Act on an event from the controller."""
        raise NotImplementedError

    # -- in-dialog requests from the peer ------------------------------------------------
    def on_request(self, tx: ServerTransaction) -> None:
        """An in-dialog request (BYE, re-INVITE, UPDATE, INFO...)."""
        request = tx.request
        if self.dialog is None or not self.dialog.accepts(request):
            tx.reply(500, "CSeq Out Of Order")
            return
        if request.method == "BYE":
            tx.reply(200)
            if self.state is not LegState.DISCONNECTED:
                self._close()
                self.call.on_event(self, Disconnect("bye"))
            return
        if request.method == "INVITE":
            if self._pending_reinvite or self._outgoing_reinvite:
                tx.reply(491)  # glare (RFC 3261 §14.2)
                return
            self._pending_reinvite = True
            self.dialog.update_target(request)
        elif request.method == "UPDATE":
            self.dialog.update_target(request)
        self.call.relay(self, tx)

    def on_ack(self, request: SipRequest) -> None:
        """ACK of a 2xx we sent: stop retransmitting; the controller may need its body."""
        pending = self._2xx
        if pending is not None and pending[0] == request.cseq.number:
            if pending[3] is not None:
                pending[3].cancel()
            self._2xx = None
            self._pending_reinvite = False
            self.call.on_ack(self, request)

    def on_stray_2xx(self, response: SipResponse) -> None:
        """A retransmitted 2xx after our INVITE transaction ended; callee legs re-ACK."""

    # -- reliable 2xx (§13.3.1.4) ---------------------------------------------------------
    def respond_2xx(self, tx: ServerTransaction, response: SipResponse) -> None:
        """Send a 2xx to an INVITE and retransmit it until the ACK comes (T1 doubling to T2)."""
        tx.respond(response)
        data = response.to_bytes()
        destination = tx.destination
        timers = self.host.timers
        handle = None
        if not tx.transport.reliable:
            handle = self.host.loop.call_later(timers.t1, self._retransmit_2xx, timers.t1, 0.0)
        self._2xx = (tx.request.cseq.number, data, destination, handle)

    def _retransmit_2xx(self, interval: float, elapsed: float) -> None:
        pending = self._2xx
        if pending is None:
            return
        elapsed += interval
        timers = self.host.timers
        if elapsed >= timers.b:
            self._2xx = None
            log.info("no ACK for 2xx (call %s)", self.call.call_id)
            if self.state is LegState.CONNECTED:
                self.bye()
                self.call.on_event(self, Disconnect("no ACK"))
            return
        self.host.send_raw(pending[1], pending[2])
        interval = min(2 * interval, timers.t2)
        self._2xx = (
            pending[0],
            pending[1],
            pending[2],
            self.host.loop.call_later(interval, self._retransmit_2xx, interval, elapsed),
        )

    # -- requests we send in the dialog -------------------------------------------------
    def send_in_dialog(
        self,
        method: str,
        on_response: ResponseHandler,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> SipRequest | None:
        """Send a request inside this leg's dialog."""
        dialog = self.dialog
        if dialog is None:
            return None
        request = dialog.create_request(
            method, transport=self.transport, body=body, content_type=content_type, extra=extra
        )
        if method in ("INVITE", "UPDATE"):
            request.headers.add("contact", self.host.contact(self.transport))
        self.host.send_request(request, dialog.destination(), on_response)
        return request

    def send_ack(self, cseq: int, body: bytes = b"", content_type: str | None = None) -> None:
        """ACK a 2xx (a new transaction-less request, §13.2.2.4)."""
        dialog = self.dialog
        if dialog is None:
            return
        ack = dialog.create_request(
            "ACK", transport=self.transport, body=body, content_type=content_type, cseq=cseq
        )
        self._last_ack = (ack.to_bytes(), dialog.destination())
        self.host.send_raw(*self._last_ack)

    def bye(self) -> None:
        """Hang up a connected leg."""
        if self.state is LegState.CONNECTED:
            self.send_in_dialog("BYE", _ignore)
        self._close()

    def _close(self) -> None:
        self.state = LegState.DISCONNECTED
        if self._2xx is not None and self._2xx[3] is not None:
            self._2xx[3].cancel()
        self._2xx = None
        if self.dialog is not None:
            dialog = self.dialog
            # keep routing late retransmissions (BYE, 2xx) for a while, then forget the dialog
            key = (dialog.call_id, dialog.local_tag)
            self.host.linger(self.host.timers.b, lambda: self.host.unregister_dialog(key))


def _ignore(response: SipResponse | None) -> None:
    return None


class CallerLeg(Leg):
    """The caller's side: answers the INVITE that started the call (UAS)."""

    role = "caller"

    def __init__(self, host: LegHost, call: CallController, tx: ServerTransaction) -> None:
        super().__init__(host, call)
        self.tx = tx
        self.transport = tx.transport.name
        self.local_tag = new_tag()
        self.state = LegState.TRYING
        self.dialog = Dialog.as_uas(tx.request, self.local_tag, tx.source, host.via(self.transport))
        host.register_dialog((tx.request.call_id, self.local_tag), self)

    def send(self, event: LegEvent) -> None:
        """Relay the callee's progress to the caller."""
        tx = self.tx
        match event:
            case Ring(status=status, reason=reason, body=body, content_type=content_type):
                if self.state in (LegState.TRYING, LegState.RINGING):
                    response = tx.response(status, reason, to_tag=self.local_tag, body=body)
                    response.headers.add("contact", self.host.contact(self.transport))
                    if body:
                        response.headers.add("content-type", content_type or "application/sdp")
                    tx.respond(response)
                    self.state = LegState.RINGING
            case Connect(body=body, content_type=content_type, headers=headers):
                if self.state in (LegState.TRYING, LegState.RINGING):
                    response = tx.response(200, to_tag=self.local_tag, body=body, headers=headers)
                    response.headers.add("contact", self.host.contact(self.transport))
                    if body:
                        response.headers.add("content-type", content_type or "application/sdp")
                    self.state = LegState.CONNECTED
                    self.respond_2xx(tx, response)
            case Fail(status=status, reason=reason, warning=warning):
                if self.state in (LegState.TRYING, LegState.RINGING):
                    extra = [("warning", warning)] if warning else []
                    tx.reply(status, reason, to_tag=self.local_tag, headers=extra)
                    self._close()
            case Disconnect():
                if self.state is LegState.CONNECTED:
                    self.bye()
                elif self.state in (LegState.TRYING, LegState.RINGING):
                    tx.reply(480, to_tag=self.local_tag)
                    self._close()

    def on_cancel(self) -> None:
        """The caller gave up (CANCEL): 487 the INVITE, tell the controller."""
        if self.state in (LegState.TRYING, LegState.RINGING):
            self.tx.reply(487, to_tag=self.local_tag)
            self._close()
            self.call.on_event(self, Disconnect("cancel"))


class CalleeLeg(Leg):
    """The callee's side: INVITEs every target in parallel; the first 2xx wins (UAC)."""

    role = "callee"

    def __init__(
        self,
        host: LegHost,
        call: CallController,
        *,
        targets: list[Target],
        from_addr: NameAddr,
        to_addr: NameAddr,
        body: bytes,
        content_type: str | None,
        extra_headers: list[tuple[str, str]],
        call_id: str,
    ) -> None:
        super().__init__(host, call)
        self.targets = targets
        self.call_id = call_id
        self.local_tag = new_tag()
        self.from_addr = from_addr.with_tag(self.local_tag)
        self.to_addr = to_addr
        self.body = body
        self.content_type = content_type
        self.extra_headers = extra_headers
        self.transport = targets[0].destination.transport if targets else "UDP"
        self._branches: list[ClientTransaction] = []
        self._finals: list[SipResponse | None] = []
        self._winner: int | None = None
        self._ack_cseq = 1
        self.answer_offer_pending = False

    def start(self) -> None:
        """Send one INVITE per target."""
        self.state = LegState.TRYING
        self.host.register_dialog((self.call_id, self.local_tag), self)
        for index, target in enumerate(self.targets):
            request = self._invite(target)
            tx = self.host.send_request(request, target.destination, self._branch_handler(index))
            self._branches.append(tx)

    def _invite(self, target: Target) -> SipRequest:
        transport = target.destination.transport
        host, port = self.host.via(transport)
        headers = Headers()
        headers.add("via", f"SIP/2.0/{transport} {host}:{port};branch={new_branch()};rport")
        headers.add("max-forwards", "70")
        headers.add("from", str(self.from_addr))
        headers.add("to", str(self.to_addr))
        headers.add("call-id", self.call_id)
        headers.add("cseq", "1 INVITE")
        headers.add("contact", self.host.contact(transport))
        for name, value in self.extra_headers:
            headers.add(name, value)
        if self.body:
            headers.add("content-type", self.content_type or "application/sdp")
        return SipRequest("INVITE", target.uri, headers, self.body)

    def _branch_handler(self, index: int) -> ResponseHandler:
        def handle(response: SipResponse | None) -> None:
            self._on_branch_response(index, response)

        return handle

    def _on_branch_response(self, index: int, response: SipResponse | None) -> None:
        if response is None:
            self._branch_final(index, None)
            return
        status = response.status
        if status < 200:
            if (status > 100 and self.state is LegState.TRYING) or (status == 183 and response.body):
                if self.state is LegState.TRYING:
                    self.state = LegState.RINGING
                self.call.on_event(
                    self, Ring(status, response.reason, response.body, response.headers.get("content-type"))
                )
            return
        if status < 300:
            self._on_2xx(index, response)
            return
        self._branch_final(index, response)

    def _on_2xx(self, index: int, response: SipResponse) -> None:
        tx = self._branches[index]
        if self._winner is None and self.state in (LegState.TRYING, LegState.RINGING):
            self._winner = index
            self.dialog = Dialog.as_uac(
                tx.request, response, tx.destination, self.host.via(tx.destination.transport)
            )
            self.transport = tx.destination.transport
            self.state = LegState.CONNECTED
            for other_index, other in enumerate(self._branches):
                if other_index != index:
                    other.cancel()
            passed = tuple(
                (name, value)
                for name in ("session-expires", "require", "supported")
                for value in response.headers.get_all(name)
            )
            self.answer_offer_pending = not self.body  # delayed offer: the ACK carries the answer
            if not self.answer_offer_pending:
                self.send_ack(1)
            self.call.on_event(self, Connect(response.body, response.headers.get("content-type"), passed))
            return
        if self._winner == index and self.dialog is not None and response.to_tag == self.dialog.remote_tag:
            if self._last_ack is not None:
                self.host.send_raw(*self._last_ack)  # our ACK was lost: send it again
            return
        # another branch answered too late (or we gave up): ACK and hang it up (§13.2.2.4)
        late = Dialog.as_uac(tx.request, response, tx.destination, self.host.via(tx.destination.transport))
        for request in (
            late.create_request("ACK", transport=tx.destination.transport, cseq=1),
            late.create_request("BYE", transport=tx.destination.transport),
        ):
            if request.method == "ACK":
                self.host.send_raw(request.to_bytes(), late.destination())
            else:
                self.host.send_request(request, late.destination(), _ignore)

    def on_stray_2xx(self, response: SipResponse) -> None:
        """A 2xx retransmission after the INVITE transaction ended: ACK it again."""
        if (
            self.dialog is not None
            and response.to_tag == self.dialog.remote_tag
            and self._last_ack is not None
        ):
            self.host.send_raw(*self._last_ack)

    def _branch_final(self, index: int, response: SipResponse | None) -> None:
        while len(self._finals) < len(self._branches):
            self._finals.append(None)
        self._finals[index] = response if response is not None else _timeout_response()
        if self._winner is not None or self.state is LegState.DISCONNECTED:
            return
        if any(not tx_done for tx_done in self._done()):
            return
        best = _best_final([r for r in self._finals if r is not None])
        self.state = LegState.DISCONNECTED
        self.host.unregister_dialog((self.call_id, self.local_tag))
        self.call.on_event(self, Fail(best.status, best.reason))

    def _done(self) -> list[bool]:
        return [self._finals[i] is not None for i in range(len(self._branches))]

    def send(self, event: LegEvent) -> None:
        """Hang up or cancel on the controller's word."""
        match event:
            case Disconnect():
                if self.state is LegState.CONNECTED:
                    self.bye()
                elif self.state in (LegState.TRYING, LegState.RINGING):
                    self.cancel()
            case _:
                pass

    def cancel(self) -> None:
        """CANCEL every branch still ringing (the leg reports Fail when they all end)."""
        for tx in self._branches:
            tx.cancel()

    def ack_with(self, body: bytes, content_type: str | None) -> None:
        """Delayed offer: send the ACK carrying the caller's answer."""
        if self.answer_offer_pending:
            self.answer_offer_pending = False
            self.send_ack(1, body, content_type)


def _timeout_response() -> SipResponse:
    return SipResponse(408, "Request Timeout")


def _best_final(responses: list[SipResponse]) -> SipResponse:
    """§16.7 step 6, simplified: a 6xx wins; else the lowest class, real answers before timeouts."""
    if not responses:
        return _timeout_response()
    six = [r for r in responses if r.status >= 600]
    if six:
        return six[0]
    soft = {408, 480, 503}
    return min(responses, key=lambda r: (r.status // 100, r.status in soft, r.status))


ResponseCallback = Callable[[SipResponse | None], None]
