"""The callee's leg (a UAC): INVITEs every target of a route at once; the first 2xx wins.

It owns forking (RFC 3261 §16.7 simplified: the best final answer when every branch failed),
CANCEL of the branches that lost, the ACK and BYE of a late 2xx, and the delayed-offer ACK.
Which targets a route has is ``nuage.sip.b2bua.targets``'.
"""

from __future__ import annotations

from dataclasses import dataclass

from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.legs import Leg, LegHost, LegOwner, ignore_response
from nuage.sip.b2bua.states import LegState
from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.message import Headers, NameAddr, SipRequest, SipResponse, SipUri
from nuage.sip.transactions import ClientTransaction, ResponseHandler
from nuage.sip.transport import Address


@dataclass(frozen=True, slots=True)
class Target:
    """One place a callee leg sends its INVITE: a Request-URI and the address to send it to."""

    uri: SipUri
    destination: Address
    user_id: str | None = None  # the user whose phone this is (CFG-9: who answered)


class CalleeLeg(Leg):
    """The callee's side: INVITEs every target in parallel; the first 2xx wins (UAC)."""

    role = "callee"

    def __init__(
        self,
        host: LegHost,
        call: LegOwner,
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
            self.user_id = self.targets[index].user_id
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
                self.host.send_request(request, late.destination(), ignore_response)

    @property
    def answered_target(self) -> Target | None:
        """The target whose 2xx won (None before an answer)."""
        return self.targets[self._winner] if self._winner is not None else None

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
        self.release_transactions()
        self.call.on_event(self, Fail(best.status, best.reason))

    def _done(self) -> list[bool]:
        return [self._finals[i] is not None for i in range(len(self._branches))]

    def send(self, event: LegEvent) -> None:
        """Hang up or cancel on the controller's word."""
        match event:
            case Disconnect():
                if self.state is LegState.CONNECTED:
                    self.ack_with(b"", None)  # a delayed offer's 2xx still waiting for its ACK gets one
                    self.bye()
                elif self.state in (LegState.TRYING, LegState.RINGING):
                    self.cancel()
            case _:
                pass

    def release_transactions(self) -> None:
        """The branches linger (timers D and M) without keeping this leg and its call (issue #22)."""
        for tx in self._branches:
            tx.release()

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
