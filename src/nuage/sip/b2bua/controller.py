"""The call controller: the state machine of one call, from the policy's answer to the CDR.

Legs exchange only LegEvents (Try, Ring, Connect, Fail, Disconnect) through this class, which
decides what passes in which CallState (Sippy's B2BUA shape, STYLE §2.7.4). It owns hunting
over the routes the policy gave (busy or unreachable: the next one), the call's timers
(no-answer, max duration, RFC 4028 session) and the CDR: every attempt, answered or not, ends
in exactly one CDR handed to accounting. A call the policy authorised is journaled (its start,
its callee leg, its answer: ``nuage.sip.journal``) until its CDR is stored, so that a node that
dies does not lose it. A 2xx the caller never ACKs (RFC 3261 §13.3.1.4) ends the call as failed,
both legs hung up and nothing billed. Admission, feature codes, identity, targets, placing the
callee leg of a hunt step (``placing``), the in-dialog relay, call recording (``recording``: the
account's choice applied when the call is answered and when a transfer joins another party) and
call transfer (``transfer``, ``bridge``: a few hooks here) are the modules beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from nuage.sip.b2bua.anchoring import anchor, anchored
from nuage.sip.b2bua.bridge import Transfer
from nuage.sip.b2bua.callee import CalleeLeg
from nuage.sip.b2bua.divert import diversion, divert_or_fail
from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.hunt import Hunt, Step
from nuage.sip.b2bua.legs import NO_ACK, CallerLeg, EndedCall, Leg
from nuage.sip.b2bua.media import CallMedia, spawn
from nuage.sip.b2bua.placing import place
from nuage.sip.b2bua.recording import follow
from nuage.sip.b2bua.records import CallInfo, call_info, call_record, journal_entry, outcome_of
from nuage.sip.b2bua.relay import Relay
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState, LegState
from nuage.sip.b2bua.transfer import take_request
from nuage.sip.media import Side
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CdrRecord,
    Direction,
    Refusal,
    SipAccount,
)
from nuage.sip.responses import refusal_status, warning_header
from nuage.sip.timers import Cancellable
from nuage.sip.transactions import ServerTransaction

if TYPE_CHECKING:
    from nuage.sip.b2bua.pickup import PickerLeg

log = logging.getLogger("nuage.sip.calls")

APPLICATION_TOO_LONG = "maximum duration reached"  # a media application's call, cut at its maximum


@mypyc_attr(native_class=False)  # its hunt and relay hold it weakly
class CallController:
    """One call: the caller's leg, the callee's leg, the policy's answer and the CDR."""

    def __init__(
        self,
        services: CallServices,
        tx: ServerTransaction,
        *,
        account: SipAccount | None,
        direction: Direction,
    ) -> None:
        self.services = services
        self.call_id = tx.request.call_id
        self.account = account
        self.direction = direction
        self.state = CallState.IDLE
        self.started_at = services.clock.now()
        self.answered_at: datetime | None = None
        self.attempt: CallAttempt | None = None
        self.caller_leg = CallerLeg(services.host, self, tx)
        self.callee_leg: CalleeLeg | PickerLeg | None = None
        self.hunt = Hunt(self)  # what rings next: routes, forwards, ring groups (issue #15)
        self._timers: dict[str, Cancellable] = {}
        self._status = 0
        self._outcome: CallOutcome | None = None
        self.refusal_rule: str | None = None
        self._relay = Relay(services.host, self, services.settings.domain)
        self.media: CallMedia | None = None  # the call's media session once anchored
        self.offer = tx.request.body  # the offer sent to the callee (rewritten when anchored)
        self._session_interval: int | None = None
        self._max_duration: float | None = None
        self._timers_fired = False
        self.request = tx.request
        self._caller_id: str | None = None  # SIP-2: the number the policy imposed
        self._hang_up_on_ack = False
        self.shown_callee: str | None = None  # what the CDR and the live view show as dialled
        self.disposition: str | None = None  # why the call ended, when unusual (the CDR says it)
        self.transfer: Transfer | None = None  # a REFER being acted on, then the call it left
        self._log = logging.LoggerAdapter(log, {"call_id": self.call_id})
        services.on_started(self)

    # -- introspection ------------------------------------------------------------------
    def info(self) -> CallInfo:
        """A snapshot for the introspection API."""
        return call_info(self)

    # -- admission ------------------------------------------------------------------------
    async def start(self, attempt: CallAttempt) -> None:
        """Ask the policy, then try the routes it gives."""
        self.attempt = attempt
        self.caller_leg.user_id = attempt.user_id  # CFG-9: who made the call
        if self.caller_leg.cancelled:  # CANCEL came while we looked the caller up
            self.caller_leg.on_cancel()
            return
        self.state = CallState.WAIT_ROUTE
        verdict = await self.services.policy.authorize(attempt)
        if self.state is not CallState.WAIT_ROUTE:
            return  # cancelled while the policy thought
        match verdict:
            case Refusal():
                self.refuse(verdict)
            case Authorization(routes=routes, max_duration=max_duration, caller_id=caller_id):
                self._caller_id = caller_id
                self.limit_duration(max_duration)
                self.hunt.add(routes)
                if not await anchor(self):
                    return
                self.state = CallState.ROUTING
                self._journal()
                self._arm("no-answer", self.services.settings.no_answer_timeout_s, self._no_answer)
                await self._next_route()

    def limit_duration(self, max_duration: timedelta | None) -> None:
        """The longest the call may last once answered: the server's ceiling, or less when the policy
        says (SIP-5); EMG-4: an emergency call is never cut."""
        ceiling = self.services.settings.max_call_duration_s
        limits = [s for s in (ceiling, max_duration.total_seconds() if max_duration else None) if s]
        if self.attempt is not None and self.attempt.emergency:
            limits = []
        self._max_duration = min(limits) if limits else None

    @property
    def imposed_caller_id(self) -> str | None:
        """SIP-2: the number the policy imposed on the call going out (None: the device's)."""
        return self._caller_id

    def use_media(self, media: CallMedia) -> None:
        """Anchor the call's media in ``media`` (issue #15): every SDP either leg sends is rewritten."""
        self.media = media
        self._relay.rewrite = self._rewrite

    async def _rewrite(self, leg: Leg, body: bytes) -> bytes:
        """An SDP ``leg`` sent, pointing the other leg at the engine."""
        assert self.media is not None
        return await self.media.rewrite(Side.CALLER if leg is self.caller_leg else Side.CALLEE, body)

    def refuse(self, refusal: Refusal, reason: str | None = None) -> None:
        """Answer the INVITE with the refusal's status and a Warning citing its rule; write the CDR."""
        status, phrase = refusal_status(refusal.rule_id)
        self.refusal_rule = refusal.rule_id
        warning = warning_header(refusal, self.services.settings.domain)
        self.caller_leg.send(Fail(status, reason or phrase, warning))
        self.end(status, CallOutcome.REFUSED)

    def answer_feature(
        self, body: bytes, headers: tuple[tuple[str, str], ...], *, hang_up_on_ack: bool = True
    ) -> None:
        """A feature code done (CFG-13): answer with ``body`` and hang up once the caller ACKs (a
        media application, ``nuage.sip.b2bua.apps``, answers without hanging up)."""
        if self.caller_leg.cancelled:
            self.caller_leg.on_cancel()
            return
        self.state = CallState.CONNECTED
        self.answered_at = self.services.clock.now()
        self._hang_up_on_ack = hang_up_on_ack
        self.caller_leg.send(Connect(body, "application/sdp", headers))
        if not hang_up_on_ack:  # a media application's call: journaled, cut at its maximum duration
            self._journal()
            limits = [self.services.settings.max_application_duration_s, self._max_duration or 0.0]
            if self.attempt is None or not self.attempt.emergency:
                self._arm("max-duration", min(s for s in limits if s), self._application_too_long)

    def finish_early(self, status: int, outcome: CallOutcome) -> None:
        """Answer the INVITE with a final status and write the CDR (nothing was routed)."""
        self.caller_leg.send(Fail(status, SipResponse(status).reason))
        self.end(status, outcome)

    async def _next_route(self) -> None:
        step = await self.hunt.next_step()
        if self.state is not CallState.ROUTING:
            return
        if self._timers_fired:  # the call's no-answer time ran out while the hunt looked
            step = Fail(480, "No Answer")
        if isinstance(step, Step):
            if step.fresh:  # forwarded: the new destination rings for the whole no-answer time
                self._arm("no-answer", self.services.settings.no_answer_timeout_s, self._no_answer)
            if step.timeout_s is not None:
                self._arm("step", step.timeout_s, self._step_timeout)
            self._place(step)
            return
        unavailable = step.status == 480 and not self._timers_fired
        self.fail(step, CallOutcome.UNAVAILABLE if unavailable else None)

    def fail(self, event: Fail, outcome: CallOutcome | None = None, *, divert: bool = True) -> None:
        """Nothing answered: the user's voicemail takes the call (``divert``), else the caller gets
        ``event`` and the CDR its outcome."""
        diverted = diversion(self, event) if divert else None
        if diverted is not None:
            spawn(divert_or_fail(self, event, diverted, outcome))
            return
        self.caller_leg.send(Fail(event.status, event.reason, event.warning))
        self.end(event.status, outcome or outcome_of(event.status))

    def _place(self, step: Step) -> None:
        if place(self, step) is not None:  # None: refused, the call ended
            self._journal()

    # -- events from legs -----------------------------------------------------------------
    def on_event(self, leg: Leg, event: LegEvent) -> None:
        """The heart of the B2BUA: what one leg's event means for the other and the call."""
        if self.state is CallState.DEAD:
            if isinstance(event, Connect):
                leg.bye()  # answered after we gave up: hang it up
            self._detach_legs()  # the last leg still open when the call ended may have closed now
            return
        if self.transfer is not None and self.transfer.on_event(self, leg, event):
            return
        if leg is self.caller_leg:
            if isinstance(event, Disconnect):
                if self.callee_leg is not None:
                    self.callee_leg.send(Disconnect(event.reason))
                if self.state is not CallState.CONNECTED:
                    self.end(487, CallOutcome.CANCELLED)
                elif event.reason == NO_ACK and not leg.confirmed:
                    self.end(200, CallOutcome.NO_ACK)  # §13.3.1.4: a failed call; the leg sent its BYE
                else:
                    self.end(200, CallOutcome.ANSWERED)
            return
        if leg is not self.callee_leg:
            return
        match event:
            case Ring() | Connect() if self.media is not None and event.body:
                if self.state is CallState.ROUTING:
                    spawn(anchored(self, leg, event))
                elif isinstance(event, Connect):
                    leg.bye()
            case Ring():
                if self.state is CallState.ROUTING:
                    self.caller_leg.send(event)
            case Connect():
                self.connected(leg, event)
            case Fail():
                if self.state is not CallState.ROUTING:
                    return
                self.callee_leg = None
                self._cancel_timer("step")
                if self._timers_fired:
                    event = Fail(480, "No Answer")
                elif (failure := self.hunt.after_failure(event)) is None:
                    spawn(self._next_route())
                    return
                else:
                    event = failure
                self.fail(event)
            case Disconnect():
                self.caller_leg.send(Disconnect(event.reason))
                self.end(200, CallOutcome.ANSWERED)

    def connected(self, leg: Leg, event: Connect) -> None:
        """The callee answered (its SDP already rewritten when anchored)."""
        if self.state is not CallState.ROUTING:
            leg.bye()
            return
        self.state = CallState.CONNECTED
        self.answered_at = self.services.clock.now()
        self._cancel_timer("no-answer")
        self._cancel_timer("step")
        self._journal()
        self.caller_leg.send(event)
        self.parties_changed()
        if self._max_duration is not None:
            self._arm("max-duration", self._max_duration, self._max_duration_reached)
        self.session_refreshed(dict(event.headers).get("session-expires"))
        self._log.debug("call %s answered", self.call_id)

    def parties_changed(self) -> None:
        """CFG-9: the call was answered, or a transfer joined another party: the account's recording
        choice applies to who is on it now (recording starts, goes on or stops)."""
        follow(self)

    def on_ack(self, leg: Leg, request: SipRequest) -> None:
        """An ACK for a 2xx we sent: forward the answer where an offer is waiting for it."""
        if self._hang_up_on_ack and leg is self.caller_leg:
            self.hang_up_both("feature done")
            return
        if self.transfer is not None and self.transfer.on_ack(leg, request):
            return
        if leg is self.caller_leg and self.callee_leg is not None and self.callee_leg.answer_offer_pending:
            self.callee_leg.ack_with(request.body, request.headers.get("content-type"))
        self._relay.on_ack(leg, request)

    def relay(self, from_leg: Leg, tx: ServerTransaction) -> None:
        """An in-dialog request from one leg: to the other leg, through the call's relay."""
        if take_request(self, from_leg, tx):
            return  # a REFER (call transfer), or a request of the call a transfer left
        other: Leg | None = self.callee_leg if from_leg is self.caller_leg else self.caller_leg
        self._relay.request(from_leg, other, tx, connected=self.state is CallState.CONNECTED)

    # -- timers ---------------------------------------------------------------------------
    def _arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = self.services.host.scheduler.call_later(delay, callback)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _no_answer(self) -> None:
        self._timers.pop("no-answer", None)
        if self.state is CallState.ROUTING:
            self._timers_fired = True
            self.hunt.stop()
            if self.callee_leg is not None:
                self.callee_leg.cancel()

    def _step_timeout(self) -> None:
        self._timers.pop("step", None)
        if self.state is CallState.ROUTING and self.callee_leg is not None:
            self.hunt.timed_out = True  # the hunt goes on: a no-answer forward, the next member
            self.callee_leg.cancel()

    def _application_too_long(self) -> None:
        self._timers.pop("max-duration", None)
        if self.transfer is None:
            self.hang_up_both("max duration", APPLICATION_TOO_LONG)
        elif self._max_duration is not None and self.answered_at is not None:  # connected onwards
            elapsed = (self.services.clock.now() - self.answered_at).total_seconds()
            self._arm("max-duration", max(0.0, self._max_duration - elapsed), self._max_duration_reached)

    def _max_duration_reached(self) -> None:
        self._timers.pop("max-duration", None)
        self.hang_up_both("max duration")

    def session_refreshed(self, header: str | None) -> None:
        """RFC 4028: a refresh (or the first 2xx) restarts the session timer."""
        if header:
            value = header.split(";", 1)[0].strip()
            if value.isdigit():
                self._session_interval = int(value)
        interval = self._session_interval
        if interval:
            # §10: without a refresh, BYE before the session expires
            self._arm("session", max(1.0, interval - min(32, interval / 3)), self._session_expired)

    def _session_expired(self) -> None:
        self._timers.pop("session", None)
        self.hang_up_both("session expired")

    def abort(self, status: int, reason: str) -> None:
        """End the call now whatever its state (server shutdown): BYE, CANCEL or a final error."""
        if self.state is CallState.CONNECTED:
            self.hang_up_both(reason)
            return
        if self.state is CallState.DEAD:
            return
        self.caller_leg.send(Fail(status, reason))
        if self.callee_leg is not None:
            self.callee_leg.send(Disconnect(reason))
        self.end(status, CallOutcome.FAILED)

    def hang_up_both(self, reason: str, disposition: str | None = None) -> None:
        """BYE both parties of an answered call and end it (``disposition``: why, for the CDR)."""
        if self.state is not CallState.CONNECTED:
            return
        self.disposition = disposition or self.disposition
        self._log.info("hanging up call %s: %s", self.call_id, reason)
        self.caller_leg.bye()
        if self.callee_leg is not None:
            self.callee_leg.bye()
        if self.transfer is not None:
            self.transfer.hang_up(reason)
        self.end(200, CallOutcome.ANSWERED)

    # -- end --------------------------------------------------------------------------------
    def end(self, status: int, outcome: CallOutcome) -> None:
        """The call is over: timers cancelled, the CDR written (after the media's figures)."""
        if self.state is CallState.DEAD:
            return
        self.state = CallState.DEAD
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self.transfer is not None:
            self.transfer.ended(self)
        record = call_record(self, status, outcome, self.services.clock.now())
        self.hunt.ended(record)  # a forwarded external leg writes its own CDR
        self._log.info(
            "call %s ended: %s %s after %ss billed",
            self.call_id,
            outcome.value,
            status,
            record.billable_seconds,
        )
        if self.media is not None:
            spawn(self._release(record))  # the CDR carries the media's quality figures
        else:
            self._account(record)
        self.services.on_finished(self)
        self._detach_legs()

    def _detach_legs(self) -> None:
        """Both legs closed, nothing pending: they stop pointing at the call (issue #22), so the call
        and its parts are freed at once rather than by the garbage collector, whose passes over
        them cost CPU and stall the loop. Called again when a leg still open at the end reports
        (a cancelled callee's 487). Calls with media or a transfer keep the reference (the
        collector frees them)."""
        if self.media is not None or self.transfer is not None:
            return
        legs = [leg for leg in (self.caller_leg, self.callee_leg) if leg is not None]
        if any(
            type(leg) not in (CallerLeg, CalleeLeg) or leg.state is not LegState.DISCONNECTED for leg in legs
        ):
            return  # (a pickup's or an application's leg: not detached)
        ended = EndedCall(self.call_id)
        for leg in legs:
            leg.call = ended

    def _account(self, record: CdrRecord) -> None:
        self.services.accounting.call_ended(record)
        if self.services.journal is not None:
            self.services.journal.ended((self.call_id, self.caller_leg.local_tag), record)

    async def _release(self, record: CdrRecord) -> None:
        assert self.media is not None
        try:
            record = await self.media.finish(record)
        finally:
            self._account(record)

    def _journal(self) -> None:
        """Journal what a CDR would need if this node died now (written behind, never awaited)."""
        entry = journal_entry(self)
        if self.services.journal is not None and entry is not None:
            self.services.journal.update(entry)
            for leg in self.hunt.journal_entries():  # a forwarded external leg: its own CDR
                self.services.journal.update(leg)
