"""The call controller: admits a call, asks the policy, hunts routes, joins the two legs.

Legs exchange only LegEvents (Try, Ring, Connect, Fail, Disconnect) through this class, which
decides what passes in which CallState (Sippy's B2BUA shape, STYLE §2.7.4). Every attempt,
answered or not, ends in exactly one CDR handed to accounting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    HotDesk,
    Refusal,
    SipAccount,
    TrunkDestination,
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
    hot_desk_login_code: str = "*11"  # CFG-13: dial *11*<extension>*<PIN> on a shared phone
    hot_desk_logout_code: str = "*12"


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
    hot_desk: HotDesk | None = None
    on_auth_failure: Callable[[str], None] | None = None  # SIP-5: a wrong hot-desk PIN counts


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
        # SIP-3: a PBX authenticated by its address; anyone else proves who they are (digest)
        account = await services.dial_plan.find_trunk(source.host, source.port)
        if account is None:
            account = await services.registrar.authenticate(tx, proxy=True)
        if account is None:
            return None
        if account.hot_desk and services.hot_desk is not None and _is_feature(settings, dialled):
            await _hot_desk_feature(services, tx, account, dialled)
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
    customer_trunk = account.trunk_id if account is not None else None
    if isinstance(destination, TrunkDestination) and customer_trunk is None:
        customer_trunk = destination.trunk_id
    attempt = CallAttempt(
        call_id=request.call_id,
        direction=direction,
        account_id=account.account_id if account else _account_of(destination),
        device_id=account.device_id if account and account.trunk_id is None else None,
        user_id=account.user_id if account else None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=source.host,
        source_port=source.port,
        dialled=dialled,
        destination=destination,
        emergency=emergency,
        trunk_id=trunk_id,
        customer_trunk_id=customer_trunk,
    )
    await call.start(attempt)
    return call


def _is_feature(settings: CallSettings, dialled: str) -> bool:
    return dialled == settings.hot_desk_logout_code or dialled.startswith(settings.hot_desk_login_code + "*")


async def _hot_desk_feature(
    services: CallServices, tx: ServerTransaction, phone: SipAccount, dialled: str
) -> None:
    """CFG-13: ``*11*<extension>*<PIN>`` logs a user in on a shared phone, ``*12`` logs out.

    Success answers the call (media declined: port 0, RFC 3264 §6) naming who is now logged in
    in the answer's P-Asserted-Identity, then hangs up on the ACK; a wrong extension or PIN gets
    403 with a Warning citing CFG-13 (one answer for both). The CDR shows the feature code only,
    never the PIN.
    """
    assert services.hot_desk is not None
    settings = services.settings
    logout = dialled == settings.hot_desk_logout_code
    call = CallController(services, tx, account=phone, direction=Direction.INTERNAL)
    call.shown_callee = settings.hot_desk_logout_code if logout else settings.hot_desk_login_code
    if logout:
        await services.hot_desk.log_out(phone)
        shown = f"Logged out: {phone.display_name}"
    else:
        extension, _, pin = dialled[len(settings.hot_desk_login_code) + 1 :].partition("*")
        user = await services.hot_desk.log_in(phone, extension, pin) if extension and pin else None
        if user is None:
            if services.on_auth_failure is not None:
                services.on_auth_failure(tx.source.host)  # SIP-5: PIN guessing is an auth failure
            call.refuse(
                Refusal("CFG-13", "hot-desk login refused: wrong extension or PIN"), "Hot-Desk Login Refused"
            )
            return
        shown = f"Logged in: {user.display_name}"
    identity = NameAddr(SipUri("sip", settings.domain, user=call.shown_callee), display=shown)
    call.answer_feature(
        declined_media(tx.request.body, settings.domain), (("p-asserted-identity", str(identity)),)
    )


def declined_media(offer: bytes, host: str) -> bytes:
    """An SDP answer declining every stream of ``offer`` (port 0), or a bare session without one."""
    lines = ["v=0", f"o=nuage 0 0 IN IP4 {host}", "s=-", f"c=IN IP4 {host}", "t=0 0"]
    for line in offer.decode("utf-8", "replace").splitlines():
        if line.startswith("m="):
            media, _, rest = line[2:].partition(" ")
            fields = rest.split(" ")
            proto = fields[1] if len(fields) > 1 else "RTP/AVP"
            fmt = fields[2] if len(fields) > 2 else "0"
            lines.append(f"m={media} 0 {proto} {fmt}")
    return ("\r\n".join(lines) + "\r\n").encode()


def _callee(attempt: CallAttempt) -> str:
    """What a CDR records as called: for the public network the E.164 number (or the emergency
    short number) rating prices (RAT-2 prefixes are E.164), otherwise what was dialled."""
    destination = attempt.destination
    return destination.e164 if isinstance(destination, ExternalDestination) else attempt.dialled


def _privacy_requested(request: SipRequest) -> bool:
    """RFC 3323/3325: the caller withholds its identity (anonymous From or ``Privacy: id``)."""
    if (request.from_addr.uri.user or "").strip().lower() in ("anonymous", "restricted", "unknown"):
        return True
    values = ";".join(request.headers.get_all("privacy")).lower()
    return any(token.strip() in ("id", "header", "user") for token in values.split(";"))


def _account_of(destination: Destination) -> str | None:
    if isinstance(destination, UserDestination | DeviceDestination | TrunkDestination):
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
        self._caller_id: str | None = None  # SIP-2: the number the policy imposed
        self._hang_up_on_ack = False
        self.shown_callee: str | None = None  # what the CDR and the live view show as dialled
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
            callee=self.shown_callee or self._request.uri.user or "",
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
            case Refusal():
                self.refuse(verdict)
            case Authorization(routes=routes, max_duration=max_duration, caller_id=caller_id):
                self._caller_id = caller_id
                ceiling = self.services.settings.max_call_duration_s
                limits = [s for s in (ceiling, max_duration.total_seconds() if max_duration else None) if s]
                if attempt.emergency:
                    limits = []  # EMG-4: an emergency call is never cut
                self._max_duration = min(limits) if limits else None
                self._routes = list(routes)
                self.state = CallState.ROUTING
                self._arm("no-answer", self.services.settings.no_answer_timeout_s, self._no_answer)
                self._next_route()

    def refuse(self, refusal: Refusal, reason: str | None = None) -> None:
        """Answer the INVITE with the refusal's status and a Warning citing its rule; write the CDR."""
        status, phrase = refusal_status(refusal.rule_id)
        self._refusal_rule = refusal.rule_id
        warning = warning_header(refusal, self.services.settings.domain)
        self.caller_leg.send(Fail(status, reason or phrase, warning))
        self._end(status, CallOutcome.REFUSED)

    def answer_feature(self, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        """A feature code done (CFG-13): answer with ``body`` and hang up once the caller ACKs."""
        if self.caller_leg.tx.cancelled:
            self.caller_leg.on_cancel()
            return
        self.state = CallState.CONNECTED
        self.answered_at = self.services.clock.now()
        self._hang_up_on_ack = True
        self.caller_leg.send(Connect(body, "application/sdp", headers))

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
        did: str | None = None
        if isinstance(route, UserDestination):
            device_ids = route.device_ids
        elif isinstance(route, TrunkDestination):
            # SIP-3: the PBX routes on the number dialled, so it goes in the Request-URI
            did = self.attempt.dialled if self.attempt is not None else self._request.uri.user
            if route.host is not None:
                uri = SipUri("sip", route.host, user=did, port=route.port)
                return [Target(uri, Address(route.transport, route.host, route.port))]
            device_ids = (route.trunk_id,)  # a registered PBX's bindings are kept under its trunk id
        else:
            device_ids = (route.device_id,)
        targets = []
        for device_id in device_ids:
            for binding in registrar.contacts(device_id):
                try:
                    uri = SipUri.parse(binding.contact)
                except ValueError:
                    continue
                if did is not None:
                    uri = replace(uri, user=did)
                flow = Address(binding.source_transport, binding.source_host, binding.source_port)
                targets.append(Target(uri, flow))
        return targets

    def _place(self, route: Destination, targets: list[Target]) -> None:
        request = self._request
        domain = self.services.settings.domain
        account = self.account
        extra: list[tuple[str, str]] = []
        if isinstance(route, ExternalDestination):
            from_addr, extra = self._towards_carrier(route)
            to_addr = NameAddr(SipUri("sip", route.trunk.host, user=route.e164))
        else:
            if account is not None:
                from_addr = NameAddr(
                    SipUri("sip", domain, user=account.username), display=account.display_name or None
                )
            elif _privacy_requested(request):  # RFC 3325 §7: the carrier asked us to hide the caller
                from_addr = NameAddr(
                    SipUri("sip", "anonymous.invalid", user="anonymous"), display="Anonymous"
                )
            else:
                original = request.from_addr
                from_addr = NameAddr(
                    SipUri("sip", domain, user=original.uri.user or "anonymous"), display=original.display
                )
            to_addr = NameAddr(SipUri("sip", domain, user=request.uri.user))
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

    def _towards_carrier(self, route: ExternalDestination) -> tuple[NameAddr, list[tuple[str, str]]]:
        """From and identity headers of a call to the public network (SIP-2, EMG-2, RFC 3325).

        The number presented is, in order: for an emergency call, the caller's emergency caller
        ID (EMG-2: the number whose block address is where the phone or the PBX stands); the
        number the policy authorised (SIP-2: the account's number the caller presented, e.g. a
        PBX its extensions' numbers, or the main number replacing a foreign one); else the
        device's own number. It is asserted to the carrier in P-Asserted-Identity; a caller who
        asked for privacy (anonymous From, or ``Privacy: id``) gets an anonymous From and
        ``Privacy: id`` (RFC 3325 §9.3), except towards emergency services.
        """
        account = self.account
        domain = self.services.settings.domain
        request = self._request
        number: str | None
        if route.emergency:
            number = account.emergency_caller_id or account.caller_id_e164 if account else None
        else:
            number = self._caller_id or (account.caller_id_e164 if account else None)
        if number is None:
            number = account.username if account else "anonymous"
        asserted = NameAddr(
            SipUri("sip", domain, user=number), display=account.display_name if account else None
        )
        headers = [("p-asserted-identity", str(asserted))]
        if _privacy_requested(request) and not route.emergency:
            headers.append(("privacy", "id"))
            anonymous = NameAddr(SipUri("sip", "anonymous.invalid", user="anonymous"), display="Anonymous")
            return anonymous, headers
        return asserted, headers

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
        if self._hang_up_on_ack and leg is self.caller_leg:
            self._hang_up_both("feature done")
            return
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
            callee=_callee(attempt) if attempt else (self.shown_callee or request.uri.user or ""),
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
            customer_trunk_id=attempt.customer_trunk_id if attempt else None,
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
