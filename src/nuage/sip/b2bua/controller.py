"""The call controller: admits a call, asks the policy, hunts routes, joins the two legs.

Legs exchange only LegEvents (Try, Ring, Connect, Fail, Disconnect) through this class, which
decides what passes in which CallState (Sippy's B2BUA shape, STYLE §2.7.4). Every attempt,
answered or not, ends in exactly one CDR handed to accounting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nuage.shared.clock import Clock
from nuage.sip.accounting import Accounting, billable_seconds
from nuage.sip.b2bua.events import Connect, Disconnect, Fail, LegEvent, Ring
from nuage.sip.b2bua.legs import CalleeLeg, CallerLeg, Leg, LegHost, Target
from nuage.sip.b2bua.states import CallState, LegState
from nuage.sip.message import NameAddr, SipRequest, SipResponse, SipUri
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CallPolicy,
    CdrRecord,
    Destination,
    DeviceDestination,
    DialPlan,
    Direction,
    ExternalDestination,
    Refusal,
    SipAccount,
    UserDestination,
)
from nuage.sip.registrar import Registrar
from nuage.sip.responses import refusal_status, warning_header
from nuage.sip.transactions import ServerTransaction, new_tag
from nuage.sip.transport import Address

log = logging.getLogger("nuage.sip.calls")


@dataclass(frozen=True, slots=True)
class CallSettings:
    """Timers and limits of calls (seconds)."""

    domain: str  # our SIP domain (the realm), used in From/To we create
    no_answer_timeout_s: float = 60.0
    max_call_duration_s: float | None = 4 * 3600.0  # hard ceiling whatever the policy allows
    min_session_expires_s: int = 90  # RFC 4028 Min-SE we accept


@dataclass(slots=True)
class CallServices:
    """What a call needs from the server."""

    host: LegHost
    registrar: Registrar
    dial_plan: DialPlan
    policy: CallPolicy
    accounting: Accounting
    clock: Clock
    settings: CallSettings
    on_started: Callable[[CallController], None]
    on_finished: Callable[[CallController], None]


@dataclass(frozen=True, slots=True)
class CallInfo:
    """A current call, for introspection."""

    call_id: str
    state: CallState
    direction: Direction
    caller: str
    callee: str
    account_id: str | None
    started_at: datetime
    answered_at: datetime | None


_NO_ANSWER = frozenset({408, 480})
_RETRY_NEXT_ROUTE = frozenset({408, 500, 502, 503, 504})


def _outcome(status: int) -> CallOutcome:
    if status < 300:
        return CallOutcome.ANSWERED
    if status in (486, 600):
        return CallOutcome.BUSY
    if status == 487:
        return CallOutcome.CANCELLED
    if status in _NO_ANSWER:
        return CallOutcome.NO_ANSWER
    if status in (404, 604):
        return CallOutcome.NOT_FOUND
    return CallOutcome.FAILED


async def admit(services: CallServices, tx: ServerTransaction) -> CallController | None:
    """Authenticate an initial INVITE, resolve what was dialled, and start a call for it."""
    request = tx.request
    settings = services.settings
    session_expires = request.int_header("session-expires")
    if session_expires is not None and session_expires < settings.min_session_expires_s:
        tx.reply(422, headers=[("min-se", str(settings.min_session_expires_s))])
        return None
    max_forwards = request.int_header("max-forwards")
    if max_forwards is not None and max_forwards <= 0:
        tx.reply(483)
        return None
    dialled = request.uri.user or ""
    source = tx.source
    trunk = await services.dial_plan.find_carrier(source.host, source.port)
    account: SipAccount | None = None
    if trunk is not None:
        destination = await services.dial_plan.resolve_inbound(trunk, dialled)
        direction = Direction.INBOUND
    else:
        account = await services.registrar.authenticate(tx, proxy=True)
        if account is None:
            return None
        destination = await services.dial_plan.resolve(account, dialled)
        direction = Direction.OUTBOUND if isinstance(destination, ExternalDestination) else Direction.INTERNAL
    call = CallController(services, tx, account=account, direction=direction)
    if destination is None:
        call.finish_early(404, CallOutcome.NOT_FOUND)
        return None
    emergency = isinstance(destination, ExternalDestination) and destination.emergency
    trunk_id = trunk.trunk_id if trunk is not None else None
    if isinstance(destination, ExternalDestination):
        trunk_id = destination.trunk.trunk_id
    attempt = CallAttempt(
        call_id=request.call_id,
        direction=direction,
        account_id=account.account_id if account else _account_of(destination),
        device_id=account.device_id if account else None,
        user_id=account.user_id if account else None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=source.host,
        source_port=source.port,
        dialled=dialled,
        destination=destination,
        emergency=emergency,
        trunk_id=trunk_id,
    )
    await call.start(attempt)
    return call


def _account_of(destination: Destination) -> str | None:
    if isinstance(destination, UserDestination | DeviceDestination):
        return destination.account_id
    return None


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
        self.callee_leg: CalleeLeg | None = None
        self._routes: list[Destination] = []
        self._last_failure: Fail | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._status = 0
        self._outcome: CallOutcome | None = None
        self._refusal_rule: str | None = None
        self._relay_ack: tuple[Leg, int] | None = None
        self._session_interval: int | None = None
        self._max_duration: float | None = None
        self._timers_fired = False
        self._request = tx.request
        self._log = logging.LoggerAdapter(log, {"call_id": self.call_id})
        services.on_started(self)

    # -- introspection ------------------------------------------------------------------
    def info(self) -> CallInfo:
        """A snapshot for the introspection API."""
        return CallInfo(
            call_id=self.call_id,
            state=self.state,
            direction=self.direction,
            caller=self._request.from_addr.uri.user or "",
            callee=self._request.uri.user or "",
            account_id=self.attempt.account_id
            if self.attempt
            else (self.account.account_id if self.account else None),
            started_at=self.started_at,
            answered_at=self.answered_at,
        )

    # -- admission ------------------------------------------------------------------------
    async def start(self, attempt: CallAttempt) -> None:
        """Ask the policy, then try the routes it gives."""
        self.attempt = attempt
        if self.caller_leg.tx.cancelled:  # CANCEL came while we looked the caller up
            self.caller_leg.on_cancel()
            return
        self.state = CallState.WAIT_ROUTE
        verdict = await self.services.policy.authorize(attempt)
        if self.state is not CallState.WAIT_ROUTE:
            return  # cancelled while the policy thought
        match verdict:
            case Refusal(rule_id=rule_id):
                status, reason = refusal_status(rule_id)
                self._refusal_rule = rule_id
                warning = warning_header(verdict, self.services.settings.domain)
                self.caller_leg.send(Fail(status, reason, warning))
                self._end(status, CallOutcome.REFUSED)
            case Authorization(routes=routes, max_duration=max_duration):
                ceiling = self.services.settings.max_call_duration_s
                limits = [s for s in (ceiling, max_duration.total_seconds() if max_duration else None) if s]
                if attempt.emergency:
                    limits = []  # EMG-4: an emergency call is never cut
                self._max_duration = min(limits) if limits else None
                self._routes = list(routes)
                self.state = CallState.ROUTING
                self._arm("no-answer", self.services.settings.no_answer_timeout_s, self._no_answer)
                self._next_route()

    def finish_early(self, status: int, outcome: CallOutcome) -> None:
        """Answer the INVITE with a final status and write the CDR (nothing was routed)."""
        self.caller_leg.send(Fail(status, SipResponse(status).reason))
        self._end(status, outcome)

    def _next_route(self) -> None:
        while self._routes:
            route = self._routes.pop(0)
            targets = self._targets(route)
            if not targets:
                self._last_failure = Fail(480, "Temporarily Unavailable")
                continue
            self._place(route, targets)
            return
        failure = self._last_failure or Fail(480, "Temporarily Unavailable")
        self.caller_leg.send(failure)
        outcome = (
            CallOutcome.UNAVAILABLE
            if failure.status == 480 and not self._timers_fired
            else _outcome(failure.status)
        )
        self._end(failure.status, outcome)

    def _targets(self, route: Destination) -> list[Target]:
        registrar = self.services.registrar
        if isinstance(route, ExternalDestination):
            trunk = route.trunk
            uri = SipUri("sip", trunk.host, user=route.e164, port=trunk.port)
            return [Target(uri, Address(trunk.transport, trunk.host, trunk.port))]
        device_ids = route.device_ids if isinstance(route, UserDestination) else (route.device_id,)
        targets = []
        for device_id in device_ids:
            for binding in registrar.contacts(device_id):
                try:
                    uri = SipUri.parse(binding.contact)
                except ValueError:
                    continue
                flow = Address(binding.source_transport, binding.source_host, binding.source_port)
                targets.append(Target(uri, flow))
        return targets

    def _place(self, route: Destination, targets: list[Target]) -> None:
        request = self._request
        domain = self.services.settings.domain
        account = self.account
        if isinstance(route, ExternalDestination):
            caller_user = (account.caller_id_e164 if account else None) or (
                account.username if account else "anonymous"
            )
            from_addr = NameAddr(
                SipUri("sip", domain, user=caller_user), display=account.display_name if account else None
            )
            to_addr = NameAddr(SipUri("sip", route.trunk.host, user=route.e164))
        else:
            if account is not None:
                from_addr = NameAddr(
                    SipUri("sip", domain, user=account.username), display=account.display_name or None
                )
            else:
                original = request.from_addr
                from_addr = NameAddr(
                    SipUri("sip", domain, user=original.uri.user or "anonymous"), display=original.display
                )
            to_addr = NameAddr(SipUri("sip", domain, user=request.uri.user))
        extra: list[tuple[str, str]] = []
        for name in ("session-expires", "min-se", "supported", "allow"):
            for value in request.headers.get_all(name):
                extra.append((name, value))
        self.callee_leg = CalleeLeg(
            self.services.host,
            self,
            targets=targets,
            from_addr=from_addr,
            to_addr=to_addr,
            body=request.body,
            content_type=request.headers.get("content-type"),
            extra_headers=extra,
            call_id=new_tag() + new_tag(),
        )
        self.callee_leg.start()

    # -- events from legs -----------------------------------------------------------------
    def on_event(self, leg: Leg, event: LegEvent) -> None:
        """The heart of the B2BUA: what one leg's event means for the other and the call."""
        if self.state is CallState.DEAD:
            if isinstance(event, Connect):
                leg.bye()  # answered after we gave up: hang it up
            return
        if leg is self.caller_leg:
            if isinstance(event, Disconnect):
                if self.callee_leg is not None:
                    self.callee_leg.send(Disconnect(event.reason))
                if self.state is CallState.CONNECTED:
                    self._end(200, CallOutcome.ANSWERED)
                else:
                    self._end(487, CallOutcome.CANCELLED)
            return
        if leg is not self.callee_leg:
            return
        match event:
            case Ring():
                if self.state is CallState.ROUTING:
                    self.caller_leg.send(event)
            case Connect():
                if self.state is not CallState.ROUTING:
                    leg.bye()
                    return
                self.state = CallState.CONNECTED
                self.answered_at = self.services.clock.now()
                self._cancel_timer("no-answer")
                self.caller_leg.send(event)
                if self._max_duration is not None:
                    self._arm("max-duration", self._max_duration, self._max_duration_reached)
                self._session_refreshed(dict(event.headers).get("session-expires"))
                self._log.debug("call %s answered", self.call_id)
            case Fail(status=status):
                if self.state is not CallState.ROUTING:
                    return
                self.callee_leg = None
                if self._timers_fired:
                    event = Fail(480, "No Answer")
                elif status in _RETRY_NEXT_ROUTE and self._routes:
                    self._last_failure = event
                    self._next_route()
                    return
                self.caller_leg.send(Fail(event.status, event.reason))
                self._end(event.status, _outcome(event.status))
            case Disconnect():
                self.caller_leg.send(Disconnect(event.reason))
                self._end(200, CallOutcome.ANSWERED)

    def on_ack(self, leg: Leg, request: SipRequest) -> None:
        """An ACK for a 2xx we sent: forward the answer where an offer is waiting for it."""
        if leg is self.caller_leg and self.callee_leg is not None and self.callee_leg.answer_offer_pending:
            self.callee_leg.ack_with(request.body, request.headers.get("content-type"))
        pending = self._relay_ack
        if pending is not None and pending[0] is not leg:
            other, cseq = pending
            self._relay_ack = None
            other.send_ack(cseq, request.body, request.headers.get("content-type"))

    # -- in-dialog relay (re-INVITE, UPDATE, INFO...) -------------------------------------
    def relay(self, from_leg: Leg, tx: ServerTransaction) -> None:
        """Pass an in-dialog request to the other leg and its answer back."""
        other: Leg | None = self.callee_leg if from_leg is self.caller_leg else self.caller_leg
        request = tx.request
        if other is None or other.state is not LegState.CONNECTED or self.state is not CallState.CONNECTED:
            tx.reply(481 if request.method != "INVITE" else 491)
            from_leg._pending_reinvite = False
            return
        extra = [
            (name, value)
            for name in ("session-expires", "min-se", "supported")
            for value in request.headers.get_all(name)
        ]
        is_invite = request.method == "INVITE"
        if is_invite:
            other._outgoing_reinvite = True

        def answered(response: SipResponse | None) -> None:
            if response is not None and response.status < 200:
                return
            if is_invite:
                other._outgoing_reinvite = False
            if response is None:
                tx.reply(408)
                from_leg._pending_reinvite = False
                return
            if response.status >= 300:
                tx.reply(response.status, response.reason)
                from_leg._pending_reinvite = False
                return
            if other.dialog is not None:
                other.dialog.update_target(response)
            passed = [
                (name, value)
                for name in ("session-expires", "require", "supported")
                for value in response.headers.get_all(name)
            ]
            answer = tx.response(response.status, response.reason, body=response.body, headers=passed)
            if response.body:
                answer.headers.add("content-type", response.headers.get("content-type") or "application/sdp")
            answer.headers.add("contact", self.services.host.contact(from_leg.transport))
            if is_invite:
                if sent is not None and sent.body:
                    other.send_ack(sent.cseq.number)
                elif sent is not None:
                    self._relay_ack = (other, sent.cseq.number)
                from_leg.respond_2xx(tx, answer)
            else:
                tx.respond(answer)
            if request.method in ("INVITE", "UPDATE"):
                self._session_refreshed(response.headers.get("session-expires"))

        sent = other.send_in_dialog(
            request.method,
            answered,
            body=request.body,
            content_type=request.headers.get("content-type"),
            extra=extra,
        )

    # -- timers ---------------------------------------------------------------------------
    def _arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer(name)
        self._timers[name] = self.services.host.loop.call_later(delay, callback)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _no_answer(self) -> None:
        self._timers.pop("no-answer", None)
        if self.state is CallState.ROUTING and self.callee_leg is not None:
            self._timers_fired = True
            self._routes.clear()
            self.callee_leg.cancel()

    def _max_duration_reached(self) -> None:
        self._timers.pop("max-duration", None)
        self._hang_up_both("max duration")

    def _session_refreshed(self, header: str | None) -> None:
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
        self._hang_up_both("session expired")

    def abort(self, status: int, reason: str) -> None:
        """End the call now whatever its state (server shutdown): BYE, CANCEL or a final error."""
        if self.state is CallState.CONNECTED:
            self._hang_up_both(reason)
            return
        if self.state is CallState.DEAD:
            return
        self.caller_leg.send(Fail(status, reason))
        if self.callee_leg is not None:
            self.callee_leg.send(Disconnect(reason))
        self._end(status, CallOutcome.FAILED)

    def _hang_up_both(self, reason: str) -> None:
        if self.state is not CallState.CONNECTED:
            return
        self._log.info("hanging up call %s: %s", self.call_id, reason)
        self.caller_leg.bye()
        if self.callee_leg is not None:
            self.callee_leg.bye()
        self._end(200, CallOutcome.ANSWERED)

    # -- end --------------------------------------------------------------------------------
    def _end(self, status: int, outcome: CallOutcome) -> None:
        if self.state is CallState.DEAD:
            return
        self.state = CallState.DEAD
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        ended_at = self.services.clock.now()
        attempt = self.attempt
        account = self.account
        request = self._request
        record = CdrRecord(
            call_id=self.call_id,
            caller=(attempt.presented_caller_id if attempt else request.from_addr.uri.user) or "",
            callee=attempt.dialled if attempt else (request.uri.user or ""),
            account_id=attempt.account_id if attempt else (account.account_id if account else None),
            device_id=account.device_id if account else None,
            trunk_id=attempt.trunk_id if attempt else None,
            direction=self.direction,
            started_at=self.started_at,
            answered_at=self.answered_at,
            ended_at=ended_at,
            billable_seconds=billable_seconds(self.answered_at, ended_at),
            outcome=outcome,
            sip_status=status,
            refusal_rule_id=self._refusal_rule,
            emergency=attempt.emergency if attempt else False,
        )
        self._log.info(
            "call %s ended: %s %s after %ss billed",
            self.call_id,
            outcome.value,
            status,
            record.billable_seconds,
        )
        self.services.accounting.call_ended(record)
        self.services.on_finished(self)
