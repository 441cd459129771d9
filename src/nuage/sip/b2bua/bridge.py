"""A transfer in progress, then the call it leaves: the transferee joined to the target (RFC 3515).

Owns what happens once a transfer was accepted: the target's answer (a new leg's 2xx for a blind
transfer, the offer of the re-INVITE sent to the consulted party for an attended one), the
re-INVITE that reconnects the transferee to it (through the call's anchored media when there is
one: the target takes the transferor's side of the session, so the transferee hears it), the
transferor's legs released, the progress reported on the refer subscription, and afterwards the
joined call: its in-dialog requests relayed, its end (whoever hangs up) ending the calls it came
from. A transfer that fails leaves the call as it was (the transferor may take the transferee
back), or hangs the transferee up when the transferor has already left.

A joined call may be transferred again (A calls B, B transfers A to C, then C transfers A to D):
the new transfer keeps the one before as ``previous``, takes its place in the call, and once it
joins, the previous target's leg is released and its CDR written; if it fails, the previous
transfer's joined call goes on.

The controller reaches a transfer through four hooks (``on_event``, ``relay``, ``on_ack`` and, at
its end, ``hang_up``/``ended``); the REFER itself is read in ``nuage.sip.b2bua.transfer``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from nuage.sip.b2bua.callee import CalleeLeg
from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import CallMedia, spawn
from nuage.sip.b2bua.refer import ReferSubscription
from nuage.sip.b2bua.relay import Relay
from nuage.sip.b2bua.states import LegState
from nuage.sip.media import MediaError, Side
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.transactions import ServerTransaction

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.transfer")

TRANSFERRED = "transferred"
"""The disposition of the CDR of a call one of whose parties transferred the other."""


class Phase(enum.Enum):
    """Where a transfer stands."""

    PENDING = "pending"  # the target is rung or being joined
    BRIDGED = "bridged"  # the transferee talks with the target
    OVER = "over"


class Transfer:
    """One transfer: ``transferee`` (a leg of ``calls[0]``) joined to ``target`` in place of the
    ``transferor`` legs (one for a blind transfer, the transferor's leg in each call for an
    attended one). ``media`` is the session the joined call uses (the first call's), ``side`` the
    transferee's side of it; ``on_over`` hears the outcome once (the placed leg's CDR)."""

    def __init__(
        self,
        calls: list[CallController],
        *,
        transferee: Leg,
        transferors: list[Leg],
        subscription: ReferSubscription | None,
        media: CallMedia | None,
        side: Side,
        on_over: Callable[[int], None] | None = None,
    ) -> None:
        self.calls = calls
        self.transferee = transferee
        self.transferors = transferors
        self.subscription = subscription
        self.media = media
        self.side = side
        self.target: Leg | None = None  # the new leg (blind) or the consulted party's (attended)
        self.new_leg: CalleeLeg | None = None  # the leg placed to the target (blind)
        self.answered_at: datetime | None = None  # when the new leg's target answered
        self.phase = Phase.PENDING
        self.on_over = on_over
        self.on_bridged: Callable[[], None] | None = None  # told once the transferee talks with the target
        self.previous: Transfer | None = None  # the joined call this transfer transfers again
        self.depth = 0  # how many transfers came before it in this call
        self.on_answered: Callable[[], None] | None = None  # the new leg answered (its journal entry)
        self.on_ringing: Callable[[Ring], None] | None = None  # the new leg's target rings (ringback)
        first = calls[0]
        self._relay = Relay(first.services.host, first, first.services.settings.domain)
        if media is not None:
            media.paused = True  # the transferor falls silent while the target rings: not a dead call
            self._relay.rewrite = self._rewrite

    def follows(self, previous: Transfer) -> None:
        """This transfer transfers ``previous``'s joined call again."""
        self.previous, self.depth = previous, previous.depth + 1

    def other(self, leg: Leg) -> Leg | None:
        """The party ``leg`` talks with in the joined call (None: not joined, or not its party)."""
        if self.phase is not Phase.BRIDGED or leg.state is not LegState.CONNECTED:
            return None
        other = self.target if leg is self.transferee else self.transferee if leg is self.target else None
        return other if other is not None and other.state is LegState.CONNECTED else None

    # -- progress -----------------------------------------------------------------------
    def report(self, status: int, reason: str | None = None) -> None:
        """Tell the transferor (NOTIFY sipfrag), unless it asked for no subscription or left."""
        if self.subscription is not None:
            self.subscription.progress(status, reason)

    def join(self, offer: bytes, ack_target: Callable[[bytes], None]) -> None:
        """The target answered with ``offer`` (its SDP): re-INVITE the transferee with it, then
        ACK the target with the transferee's answer (``ack_target``)."""
        spawn(self._join(offer, ack_target))

    async def _join(self, offer: bytes, ack_target: Callable[[bytes], None]) -> None:
        try:
            if self.media is not None and offer:
                offer = await self.media.rewrite(self.side.other, offer)
        except MediaError as exc:
            self.fail(503, f"media unavailable: {exc}")
            ack_target(b"")  # after the failure: a leg it answers is on its own
            return
        transferee = self.transferee
        if self.phase is not Phase.PENDING or transferee.state is not LegState.CONNECTED:
            self.fail(487, "Request Terminated")
            ack_target(b"")  # after the failure: a leg it answers is on its own
            return
        transferee.begin_outgoing_reinvite()
        sent: list[SipRequest] = []

        def answered(response: SipResponse | None) -> None:
            if response is not None and response.status < 200:
                return
            transferee.end_outgoing_reinvite()
            if response is None or response.status >= 300:
                self.fail(response.status if response is not None else 408, "transferee refused the media")
                ack_target(b"")  # after the failure: a leg it answers is on its own
                return
            transferee.update_target(response)
            if sent:
                transferee.send_ack(sent[0].cseq.number)
            spawn(self._answer(response.body, ack_target))

        request = transferee.send_in_dialog("INVITE", answered, body=offer, content_type="application/sdp")
        if request is not None:
            sent.append(request)

    async def _answer(self, answer: bytes, ack_target: Callable[[bytes], None]) -> None:
        try:
            if self.media is not None and answer:
                answer = await self.media.rewrite(self.side, answer)
        except MediaError as exc:
            self.fail(503, f"media unavailable: {exc}")
            ack_target(b"")  # after the failure: a leg it answers is on its own
            return
        if self.phase is not Phase.PENDING:  # failed or ended meanwhile
            ack_target(b"")
            return
        ack_target(answer)
        self._bridge()

    def _bridge(self) -> None:
        if self.phase is not Phase.PENDING:
            return
        self.phase = Phase.BRIDGED
        self.report(200)
        for leg in self.transferors:
            leg.bye()  # the transferor is done: its legs are released
        previous = self.previous
        if previous is not None:  # the previous target's leg was just released: its CDR
            previous.phase = Phase.OVER
            previous._finish(200)
        for call in self.calls:
            call.disposition = TRANSFERRED
            if call.media is not None and call.media is not self.media:
                spawn(_release(call.media))  # the consulted call's session: its party now uses ours
        if self.media is not None:
            self.media.paused = False
        self.calls[0].parties_changed()  # CFG-9: the recording follows who is on the call now
        log.info("call %s: transferred", self.calls[0].call_id)
        if self.on_bridged is not None:
            self.on_bridged()
        if self.target is not None and self.target.state is not LegState.CONNECTED:
            self.hang_up("target gone")  # it hung up while we joined

    def fail(self, status: int, reason: str) -> None:
        """The transfer failed: say so; the call goes on as it was, or ends if the transferor left."""
        if self.phase is not Phase.PENDING:
            return
        self.phase = Phase.OVER
        log.info("call %s: transfer failed: %s %s", self.calls[0].call_id, status, reason)
        self.report(status)  # the standard phrase: the reason is for the log
        if self.media is not None:
            self.media.paused = False
        if self.new_leg is not None:
            self.new_leg.send(Disconnect("transfer failed"))  # cancelled while ringing, else hung up
        self._finish(status)
        for call in self.calls:
            call.transfer = self.previous  # a joined call transferred again goes on as it was
        gone = [leg for leg in self.transferors if leg.state is not LegState.CONNECTED]
        if gone and self.transferee.state is LegState.CONNECTED:
            self.calls[0].abort(200, "transfer failed and the transferor left")

    def _finish(self, status: int) -> None:
        on_over, self.on_over = self.on_over, None
        if on_over is not None:
            on_over(200 if self.answered_at is not None else status)

    # -- hooks of the controller -------------------------------------------------------------
    def on_event(self, call: CallController, leg: Leg, event: LegEvent) -> bool:
        """An event of one of the transfer's legs; False: the controller handles it as usual."""
        if self.phase is Phase.OVER:
            return False
        if leg in self.transferors:
            return isinstance(event, Disconnect)  # the transferor hung up: the transfer goes on
        if leg is self.target:
            match event:
                case Ring(status=status) if self.phase is Phase.PENDING and status in (180, 183):
                    self.report(180)
                    if self.on_ringing is not None:
                        self.on_ringing(event)
                case Connect(body=body) if self.phase is Phase.PENDING and self.new_leg is not None:
                    self.answered_at = call.services.clock.now()
                    if self.on_answered is not None:
                        self.on_answered()
                    new_leg = self.new_leg
                    self.join(
                        body, lambda answer: new_leg.ack_with(answer, "application/sdp" if answer else None)
                    )
                case Fail(status=status, reason=reason):
                    self.fail(status, reason)
                case Disconnect() if self.phase is Phase.PENDING:
                    self.fail(487, "the target hung up")
                    return self._previous_event(call, leg, event)  # its own call (attended) ends as usual
                case Disconnect():
                    self.transferee.bye()
                    self._over(call)
            return True
        if leg is self.transferee and isinstance(event, Disconnect):
            if self.phase is Phase.PENDING:
                self.fail(487, "the transferee hung up")
                return self._previous_event(call, leg, event)  # the call ends as usual
            if self.target is not None:
                self.target.bye()
            self._over(call)
            return True
        return False

    def _previous_event(self, call: CallController, leg: Leg, event: LegEvent) -> bool:
        """After a failure, an event of the joined call this transfer tried to transfer again."""
        return self.previous.on_event(call, leg, event) if self.previous is not None else False

    def relay(self, from_leg: Leg, tx: ServerTransaction) -> bool:
        """An in-dialog request of the joined call (True: taken here)."""
        if self.phase is Phase.PENDING and self.previous is not None:
            return self.previous.relay(from_leg, tx)  # the joined call goes on while this one rings
        if self.phase is not Phase.BRIDGED:
            return False
        if from_leg in self.transferors:
            tx.reply(481)
            return True
        if from_leg is not self.transferee and from_leg is not self.target:
            return False
        if tx.request.method == "REFER":  # transferred again: ``nuage.sip.b2bua.transfer`` acts on it
            return False
        other = self.target if from_leg is self.transferee else self.transferee
        self._relay.request(from_leg, other, tx, connected=True)
        return True

    def on_ack(self, leg: Leg, request: SipRequest) -> bool:
        """An ACK for a 2xx a leg of the joined call got (a relayed re-INVITE's)."""
        if self.phase is Phase.PENDING and self.previous is not None:
            return self.previous.on_ack(leg, request)
        if self.phase is not Phase.BRIDGED:
            return False
        self._relay.on_ack(leg, request)
        return True

    def hang_up(self, reason: str) -> None:
        """The call's timers or the server end it: every leg of the transfer hangs up."""
        if self.phase is Phase.OVER:
            return
        if self.phase is Phase.PENDING:
            self.report(487, reason)
        if self.new_leg is not None:
            self.new_leg.send(Disconnect(reason))  # cancelled while ringing, else hung up
        elif self.target is not None:
            self.target.bye()
        joined = self.previous.target if self.previous is not None else None
        if joined is not None and joined.state is LegState.CONNECTED:
            joined.bye()  # the party of the joined call transferred again, still on it
        self.transferee.bye()
        self._over(None)

    def ended(self, call: CallController) -> None:
        """``call`` wrote its CDR: the transfer's own record, once."""
        if self.phase is Phase.PENDING:
            self.hang_up("call ended")
        self._finish(487)
        if self.previous is not None:
            self.previous._finish(487)

    def _over(self, by: CallController | None) -> None:
        self.phase = Phase.OVER
        for call in self.calls:
            if call is not by:
                call.abort(200, "transferred call over")  # its legs are hung up: the CDR
        if by is not None:
            by.abort(200, "transferred call over")

    async def _rewrite(self, leg: Leg, body: bytes) -> bytes:
        assert self.media is not None
        return await self.media.rewrite(self.side if leg is self.transferee else self.side.other, body)


async def _release(media: CallMedia) -> None:
    await media.release()
