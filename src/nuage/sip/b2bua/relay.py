"""In-dialog requests relayed between the legs of a connected call (re-INVITE, UPDATE, INFO...).

A request from one leg is sent in the other leg's dialog and its final answer passed back; a
re-INVITE marks the other leg busy with it (a crossing one is glare: 491), its 2xx is sent
reliably, and the ACK goes on to the other leg (with the answer, for a delayed offer). A
refresh carrying Session-Expires restarts the call's session timer (RFC 4028). Once the call's
media is anchored (``rewrite`` set), every SDP passed across (offer, answer, a delayed offer's answer
in the ACK) is first rewritten to point the other leg at the engine; an engine's error answers the
request with its status and Warning.

A relayed request is never mangled: every header the B2BUA does not own goes across verbatim
(a REFER keeps its Refer-To with any embedded Replaces, its Referred-By; a NOTIFY its Event and
Subscription-State). The B2BUA owns the headers of the dialog and the hop (``OWN_HEADERS``) and
drops the caller's claims about identity and credentials, which mean nothing on the other side.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

from nuage.sip.b2bua.legs import Leg, LegHost
from nuage.sip.b2bua.media import media_failure, spawn
from nuage.sip.b2bua.states import LegState
from nuage.sip.media import MediaError
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.transactions import ServerTransaction

OWN_HEADERS = frozenset(
    {
        # the dialog and the hop: the other leg's own values are written by its dialog
        "via",
        "from",
        "to",
        "call-id",
        "cseq",
        "contact",
        "route",
        "record-route",
        "max-forwards",
        "content-length",
        "content-type",
        # credentials and identity claims of one side mean nothing on the other (RFC 3325)
        "authorization",
        "proxy-authorization",
        "p-asserted-identity",
        "p-preferred-identity",
        "remote-party-id",
        "user-agent",
    }
)
_PASSED_RESPONSE_HEADERS = ("session-expires", "require", "supported")

Rewrite = Callable[[Leg, bytes], Awaitable[bytes]]
"""Rewrites an SDP a leg sent so that the other leg's media goes to the engine."""


class SessionOwner(Protocol):
    """The call a relay's refreshes restart the session timer of (RFC 4028)."""

    def session_refreshed(self, header: str | None) -> None: ...


class Relay:
    """One call's relay: what passes, and the ACK owed to a leg whose re-INVITE got a 2xx."""

    def __init__(self, host: LegHost, owner: SessionOwner, domain: str = "") -> None:
        self._host = host
        # the call owns its relay: the call is held weakly, not to make a cycle (issue #22)
        self._owner = weakref.ref(owner)
        self._domain = domain
        self._ack_owed: tuple[Leg, int] | None = None
        self.rewrite: Rewrite | None = None  # set once the call's media is anchored

    def request(self, from_leg: Leg, other: Leg | None, tx: ServerTransaction, *, connected: bool) -> None:
        """Pass an in-dialog request to ``other`` and its answer back (``connected``: the call is)."""
        request = tx.request
        if other is None or other.state is not LegState.CONNECTED or not connected:
            tx.reply(481 if request.method != "INVITE" else 491)
            from_leg.incoming_reinvite_done()
            return
        if self.rewrite is not None and request.body:
            reinvited = from_leg if request.method == "INVITE" else None
            spawn(
                self._rewritten_request(self.rewrite, from_leg, other, tx), answering=tx, reinvited=reinvited
            )
            return
        self._pass(from_leg, other, tx, request.body)

    async def _rewritten_request(
        self, rewrite: Rewrite, from_leg: Leg, other: Leg, tx: ServerTransaction
    ) -> None:
        try:
            body = await rewrite(from_leg, tx.request.body)
        except MediaError as exc:
            failure = media_failure(exc, self._domain)
            tx.reply(failure.status, failure.reason, headers=[("warning", failure.warning or "")])
            from_leg.incoming_reinvite_done()
            return
        if other.state is LegState.CONNECTED:
            self._pass(from_leg, other, tx, body)

    def _pass(self, from_leg: Leg, other: Leg, tx: ServerTransaction, body: bytes) -> None:
        request = tx.request
        extra = [(name, value) for name, value in request.headers if name not in OWN_HEADERS]
        is_invite = request.method == "INVITE"
        if is_invite:
            other.begin_outgoing_reinvite()

        def answered(response: SipResponse | None) -> None:
            if response is not None and response.status < 200:
                return
            rewrite = self.rewrite
            if rewrite is not None and response is not None and response.status < 300 and response.body:
                spawn(rewritten(rewrite, response))
                return
            answered_with(response, response.body if response is not None else b"")

        async def rewritten(rewrite: Rewrite, response: SipResponse) -> None:
            try:
                answer_body = await rewrite(other, response.body)
            except MediaError as exc:
                if is_invite:
                    other.end_outgoing_reinvite()
                    if sent is not None:
                        other.send_ack(sent.cseq.number)
                failure = media_failure(exc, self._domain)
                tx.reply(failure.status, failure.reason, headers=[("warning", failure.warning or "")])
                from_leg.incoming_reinvite_done()
                return
            answered_with(response, answer_body)

        def answered_with(response: SipResponse | None, answer_body: bytes) -> None:
            if is_invite:
                other.end_outgoing_reinvite()
            if response is None or response.status >= 300:
                if response is None:
                    tx.reply(408)
                else:
                    tx.reply(response.status, response.reason)
                from_leg.incoming_reinvite_done()
                return
            other.update_target(response)
            passed = [
                (name, value) for name in _PASSED_RESPONSE_HEADERS for value in response.headers.get_all(name)
            ]
            answer = tx.response(response.status, response.reason, body=answer_body, headers=passed)
            if answer_body:
                answer.headers.add("content-type", response.headers.get("content-type") or "application/sdp")
            answer.headers.add("contact", from_leg.own_contact)
            if is_invite:
                if sent is not None and sent.body:
                    other.send_ack(sent.cseq.number)
                elif sent is not None:
                    self._ack_owed = (other, sent.cseq.number)  # delayed offer: the answer comes in the ACK
                from_leg.respond_2xx(tx, answer)
            else:
                tx.respond(answer)
            if request.method in ("INVITE", "UPDATE"):
                owner = self._owner()
                if owner is not None:
                    owner.session_refreshed(response.headers.get("session-expires"))

        sent = other.send_in_dialog(
            request.method,
            answered,
            body=body,
            content_type=request.headers.get("content-type"),
            extra=extra,
        )

    def on_ack(self, leg: Leg, request: SipRequest) -> None:
        """``leg`` ACKed the 2xx of a relayed re-INVITE: ACK the other leg's, with its body."""
        owed = self._ack_owed
        if owed is not None and owed[0] is not leg:
            other, cseq = owed
            self._ack_owed = None
            rewrite = self.rewrite
            if rewrite is not None and request.body:
                spawn(self._rewritten_ack(rewrite, leg, other, cseq, request))
                return
            other.send_ack(cseq, request.body, request.headers.get("content-type"))

    async def _rewritten_ack(
        self, rewrite: Rewrite, leg: Leg, other: Leg, cseq: int, request: SipRequest
    ) -> None:
        try:
            body = await rewrite(leg, request.body)
        except MediaError:
            body = b""  # the ACK must go; the engine's error ends nothing more here
        other.send_ack(cseq, body, request.headers.get("content-type") if body else None)
