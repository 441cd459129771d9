"""Call legs as state machines: what both legs share, and the caller's leg (a UAS).

A leg talks SIP on one side and LegEvents on the other; it never looks at the other leg. The
controller (a ``LegOwner``) decides what passes between them, and reaches a leg only through
its public methods. The callee's leg (a UAC that may fork) is ``nuage.sip.b2bua.callee``'s.
"""

from __future__ import annotations

import logging
from typing import Protocol

from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.states import LegState
from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_tag
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.timers import Cancellable, Scheduler, Timers
from nuage.sip.transactions import ClientTransaction, ResponseHandler, ServerTransaction
from nuage.sip.transport import Address

log = logging.getLogger("nuage.sip.b2bua")

NO_ACK = "no ACK"
"""The reason of the Disconnect a leg reports when its 2xx was never ACKed (RFC 3261 §13.3.1.4)."""


class LegHost(Protocol):
    """What legs need from the server: timers, transactions, transports, dialog registry."""

    timers: Timers

    @property
    def scheduler(self) -> Scheduler:
        """Where legs and calls set their timers."""
        ...

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

    def register_dialog(self, key: tuple[str, str], leg: Leg | ClosedDialog) -> None:
        """Route in-dialog requests with (Call-ID, local tag) to ``leg``."""
        ...

    def unregister_dialog_later(self, key: tuple[str, str], delay: float) -> None:
        """Stop routing a dialog about ``delay`` seconds from now (no timer object of its own)."""
        ...

    def unregister_dialog(self, key: tuple[str, str]) -> None:
        """Stop routing a dialog."""
        ...


class LegOwner(Protocol):
    """The call a leg belongs to (the controller): what the leg tells it."""

    @property
    def call_id(self) -> str:
        """The caller's Call-ID, naming the call in logs."""
        ...

    def on_event(self, leg: Leg, event: LegEvent) -> None:
        """The leg progressed, answered, failed or hung up."""
        ...

    def on_ack(self, leg: Leg, request: SipRequest) -> None:
        """The peer ACKed a 2xx the leg sent."""
        ...

    def relay(self, from_leg: Leg, tx: ServerTransaction) -> None:
        """An in-dialog request (re-INVITE, UPDATE, INFO...) for the other leg."""
        ...


class Leg:
    """What both legs share: a dialog, in-dialog requests, reliable 2xx, BYE."""

    role = "leg"

    def __init__(self, host: LegHost, call: LegOwner) -> None:
        self.host = host
        self.call = call
        self.state = LegState.IDLE
        self.dialog: Dialog | None = None
        self.transport = "UDP"
        self.sips = False  # the dialog was set up with a sips: URI over TLS (RFC 5630)
        self._2xx: tuple[int, bytes, Address, Cancellable] | None = None
        self._pending_reinvite = False
        self._outgoing_reinvite = False
        self._last_ack: tuple[bytes, Address] | None = None
        self.confirmed = False  # the peer ACKed the 2xx of the INVITE that set the call up
        # CFG-9: the account's user on this leg when Nuage knows it (the calling phone's, the
        # target that answered, a picking phone's): the recording choice follows it
        self.user_id: str | None = None

    @property
    def own_contact(self) -> str:
        """Our Contact in this leg's dialog: a sips: URI in a sips dialog (RFC 3261 §12.1.1)."""
        return self.host.contact("SIPS" if self.sips else self.transport)

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
            pending[3].cancel()
            self._2xx = None
            self._pending_reinvite = False
            self.confirmed = True
            self.call.on_ack(self, request)

    def on_stray_2xx(self, response: SipResponse) -> None:
        """A retransmitted 2xx after our INVITE transaction ended; callee legs re-ACK."""

    # -- re-INVITE bookkeeping, for the relay ------------------------------------------------
    def incoming_reinvite_done(self) -> None:
        """The peer's re-INVITE was answered with an error (its 2xx ends at the ACK)."""
        self._pending_reinvite = False

    def begin_outgoing_reinvite(self) -> None:
        """A re-INVITE is being relayed to the peer: one of the peer's now is glare (491)."""
        self._outgoing_reinvite = True

    def end_outgoing_reinvite(self) -> None:
        """The re-INVITE relayed to the peer got its final response."""
        self._outgoing_reinvite = False

    def update_target(self, response: SipResponse) -> None:
        """The 2xx of a target refresh we sent may move the peer's Contact."""
        if self.dialog is not None:
            self.dialog.update_target(response)

    # -- reliable 2xx (§13.3.1.4) ---------------------------------------------------------
    def respond_2xx(self, tx: ServerTransaction, response: SipResponse) -> None:
        """Send a 2xx to an INVITE and retransmit it until the ACK comes (T1 doubling to T2).

        Over a reliable transport nothing is retransmitted, but the ACK is awaited as long.
        """
        tx.respond(response)
        data = response.to_bytes()
        destination = tx.destination
        timers = self.host.timers
        if tx.transport.reliable:
            handle = self.host.scheduler.call_later(timers.b, self._no_ack)
        else:
            handle = self.host.scheduler.call_later(timers.t1, self._retransmit_2xx, timers.t1, 0.0)
        self._2xx = (tx.request.cseq.number, data, destination, handle)

    def _retransmit_2xx(self, interval: float, elapsed: float) -> None:
        pending = self._2xx
        if pending is None:
            return
        elapsed += interval
        timers = self.host.timers
        if elapsed >= timers.b - 1e-9:
            self._no_ack()
            return
        self.host.send_raw(pending[1], pending[2])
        interval = min(2 * interval, timers.t2, timers.b - elapsed)  # give up at 64*T1 exactly
        self._2xx = (
            pending[0],
            pending[1],
            pending[2],
            self.host.scheduler.call_later(interval, self._retransmit_2xx, interval, elapsed),
        )

    def _no_ack(self) -> None:
        """§13.3.1.4: no ACK within 64*T1 of the 2xx: the session ends (BYE), the call is told."""
        if self._2xx is None:
            return
        self._2xx = None
        log.info("no ACK for 2xx (call %s)", self.call.call_id)
        if self.state is LegState.CONNECTED:
            self.bye()
            self.call.on_event(self, Disconnect(NO_ACK))

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
            request.headers.add("contact", self.own_contact)
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
            self.send_in_dialog("BYE", ignore_response)
        self._close()

    def _close(self) -> None:
        self.state = LegState.DISCONNECTED
        if self._2xx is not None:
            self._2xx[3].cancel()
        self._2xx = None
        self.release_transactions()
        if self.dialog is not None:
            dialog, host = self.dialog, self.host
            # keep answering late messages (BYE, 2xx) for a while, then forget the dialog; what
            # answers them holds the dialog only, not the call (issue #22: calls kept 32 s after
            # their end made the garbage collector's full passes long)
            key = (dialog.call_id, dialog.local_tag)
            closed = ClosedDialog(dialog.remote_tag, dialog.remote_cseq, self._last_ack, host)
            host.register_dialog(key, closed)
            host.unregister_dialog_later(key, host.timers.b)

    def release_transactions(self) -> None:
        """Let this leg's client transactions linger without it (callee legs have some)."""


class ClosedDialog:
    """The dialog of a closed leg, for as long as late messages may come (issue #22): the peer's
    BYE crossing ours gets 200, another request 481, a retransmitted 2xx the leg's last ACK again.

    It keeps only what these answers need (the remote tag and CSeq, the last ACK's bytes), not
    the dialog's parsed URIs and route set: one is kept 32 s per closed leg."""

    __slots__ = ("_host", "_last_ack", "_remote_cseq", "_remote_tag")

    def __init__(
        self,
        remote_tag: str,
        remote_cseq: int,
        last_ack: tuple[bytes, Address] | None,
        host: LegHost,
    ) -> None:
        self._remote_tag = remote_tag
        self._remote_cseq = remote_cseq
        self._last_ack = last_ack
        self._host = host

    def on_request(self, tx: ServerTransaction) -> None:
        """An in-dialog request after the leg closed."""
        request = tx.request
        if request.method not in ("ACK", "CANCEL"):  # §12.2.2, as ``Dialog.accepts``
            number = request.cseq.number
            if self._remote_cseq and number <= self._remote_cseq:
                tx.reply(500, "CSeq Out Of Order")
                return
            self._remote_cseq = number
        if request.method == "BYE":
            tx.reply(200)
        else:
            tx.reply(481)

    def on_ack(self, request: SipRequest) -> None:
        """The ACK of a 2xx of the closed leg: nothing is waiting for it any more."""

    def on_stray_2xx(self, response: SipResponse) -> None:
        """A retransmitted 2xx of the peer: the leg's last ACK again."""
        if self._last_ack is not None and response.to_tag == self._remote_tag:
            self._host.send_raw(*self._last_ack)


class EndedCall:
    """What a closed leg of an ended call points at in place of the call (issue #22): the call
    and its legs, which point at each other, are then freed as soon as nothing else holds them,
    not by the garbage collector's passes. A closed leg is reached by no message (its dialog is a
    ``ClosedDialog``, its transactions are released), so this answers as an ended call would."""

    __slots__ = ("call_id",)

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id

    def on_event(self, leg: Leg, event: LegEvent) -> None:
        """An ended call hangs up what answers late, and ignores the rest."""
        if isinstance(event, Connect):
            leg.bye()

    def on_ack(self, leg: Leg, request: SipRequest) -> None:
        """Nothing waits for an ACK any more."""

    def relay(self, from_leg: Leg, tx: ServerTransaction) -> None:
        """No other party: as a call that is not connected answers."""
        tx.reply(481 if tx.request.method != "INVITE" else 491)
        from_leg.incoming_reinvite_done()


def ignore_response(response: SipResponse | None) -> None:
    """A response handler for requests whose answer does not matter (BYE of a leg hung up)."""
    return None


class CallerLeg(Leg):
    """The caller's side: answers the INVITE that started the call (UAS)."""

    role = "caller"

    def __init__(self, host: LegHost, call: LegOwner, tx: ServerTransaction) -> None:
        super().__init__(host, call)
        self.tx = tx
        self.transport = tx.transport.name
        self.sips = tx.request.uri.scheme == "sips" and self.transport == "TLS"
        self.local_tag = new_tag()
        self.state = LegState.TRYING
        self.dialog = Dialog.as_uas(tx.request, self.local_tag, tx.source, host.via(self.transport))
        host.register_dialog((tx.request.call_id, self.local_tag), self)

    def release_transactions(self) -> None:
        """The INVITE's transaction lingers (timer L) with its request's parsed views dropped."""
        self.tx.request.forget_views()

    @property
    def cancelled(self) -> bool:
        """Whether the caller sent CANCEL for its INVITE."""
        return self.tx.cancelled

    @property
    def invite_key(self) -> tuple[str, ...]:
        """The transaction key of the INVITE that started the call (a CANCEL names it)."""
        return self.tx.key

    def send(self, event: LegEvent) -> None:
        """Relay the callee's progress to the caller."""
        tx = self.tx
        match event:
            case Ring(status=status, reason=reason, body=body, content_type=content_type):
                if self.state in (LegState.TRYING, LegState.RINGING):
                    response = tx.response(status, reason, to_tag=self.local_tag, body=body)
                    response.headers.add("contact", self.own_contact)
                    if body:
                        response.headers.add("content-type", content_type or "application/sdp")
                    tx.respond(response)
                    self.state = LegState.RINGING
            case Connect(body=body, content_type=content_type, headers=headers):
                if self.state in (LegState.TRYING, LegState.RINGING):
                    response = tx.response(200, to_tag=self.local_tag, body=body, headers=headers)
                    response.headers.add("contact", self.own_contact)
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
