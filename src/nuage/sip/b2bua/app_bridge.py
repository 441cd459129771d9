"""A media application's caller connected onwards by the B2BUA (issue #16): a menu's choice for a
caller with no phone of the platform to transfer (a carrier's caller, a PBX trunk's).

Owns ``connect``: the application's call is left by the application and bridged to what the caller
chose, as a blind transfer the application makes (``nuage.sip.b2bua.bridge``): a new leg rings the
destination with a delayed offer, the target's offer goes to the caller by re-INVITE through the
call's media session (the application's side of it now leads to the target), and the two talk.

- a user rings on all their registered phones; a ring group on all its members' phones at once;
  an extension of a device on its bindings. These stay within the account whose number was called:
  the inbound call (already admitted by the policy, its channel held) covers them; no other CDR;
- an external number is an outbound call of the menu's account (``placed by a menu``): the policy
  authorises it like any call of the account (CAP-3 takes a channel for it, SIP-2 decides the
  number presented: the account's number the caller called, SIP-5 its budget), its own CDR (Call-ID
  ``<call>/menu-N``) is rated and paid by the account.

The original call's CDR keeps describing the caller's inbound call, disposition ``connected by a
menu``. A destination that rings nowhere, refuses or does not answer within the server's no-answer
time returns False: the application goes on (it says goodbye).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime

from nuage.sip.b2bua.apps import AppCall
from nuage.sip.b2bua.bridge import Phase, Transfer
from nuage.sip.b2bua.callee import CalleeLeg, Target
from nuage.sip.b2bua.identity import towards_carrier
from nuage.sip.b2bua.states import CallState
from nuage.sip.b2bua.targets import targets_of
from nuage.sip.b2bua.transfer_leg import leg_outcome, record_leg
from nuage.sip.media import Side
from nuage.sip.message import NameAddr, SipUri
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    Destination,
    Direction,
    ExternalDestination,
    GroupDestination,
    Refusal,
    SipAccount,
)
from nuage.sip.transactions import new_tag

log = logging.getLogger("nuage.sip.apps")

MENU_LEG = "placed by a menu"
"""The disposition of the CDR of an external leg a menu placed (the menu's account pays it)."""

CONNECTED = "connected by a menu"
"""The disposition of the CDR of an application's call the B2BUA bridged to the caller's choice."""

_legs = itertools.count(1)


def acting_for(account_id: str, number: str) -> SipAccount:
    """The menu as the dial plan and the carrier see it: the account, presenting ``number``."""
    return SipAccount(
        device_id="", account_id=account_id, user_id=None, username="", password="", caller_id_e164=number
    )


def gone(session: AppCall) -> bool:
    """Whether the application's caller has left (nothing to connect)."""
    return session.ended or session.call.state is not CallState.CONNECTED


def internal_targets(session: AppCall, route: Destination) -> list[Target]:
    """Where an internal destination rings now: a group's members all at once."""
    services = session.call.services
    routing = services.routing
    if isinstance(route, GroupDestination):
        group = routing.group(route.group_id) if routing is not None else None
        targets: list[Target] = []
        for member in group.members if group is not None else ():
            user = routing.user(member) if routing is not None else None
            if user is not None and user.destination is not None:
                targets.extend(targets_of(user.destination, services.registrar, None))
        return targets
    return targets_of(route, services.registrar, None)


async def connect(session: AppCall, account_id: str, dialled: str) -> bool:
    """Bridge the application's caller to ``dialled`` (an extension, a group's, an E.164 number) of
    ``account_id``; True once they talk (the application must then return without hanging up)."""
    call = session.call
    services = call.services
    if gone(session) or call.transfer is not None:
        return False
    called = call.shown_callee or call.request.uri.user or ""
    menu = acting_for(account_id, called)
    route = await services.dial_plan.resolve(menu, dialled)
    if route is None:
        return False
    attempt: CallAttempt | None = None
    started = services.clock.now()
    if isinstance(route, ExternalDestination):
        source = call.caller_leg.tx.source
        attempt = CallAttempt(
            call_id=f"{call.call_id[:200]}/menu-{next(_legs)}",
            direction=Direction.OUTBOUND,
            account_id=account_id,
            device_id=None,
            user_id=None,
            presented_caller_id=called,  # SIP-2: the account's number the caller called
            source_host=source.host,
            source_port=source.port,
            dialled=route.e164,
            destination=route,
            emergency=route.emergency,
            trunk_id=route.trunk.trunk_id,
        )
        verdict = await services.policy.authorize(attempt)
        if isinstance(verdict, Refusal):
            record_leg(call, attempt, started, None, 403, CallOutcome.REFUSED, verdict.rule_id, MENU_LEG)
            return False
        assert isinstance(verdict, Authorization)
        if gone(session):  # the caller hung up while the policy thought
            record_leg(call, attempt, started, None, 487, CallOutcome.CANCELLED, None, MENU_LEG)
            return False
        targets = targets_of(route, services.registrar, route.e164)
        from_addr, extra = towards_carrier(
            route, call.request, account=menu, domain=services.settings.domain, caller_id=verdict.caller_id
        )
        to_addr = NameAddr(SipUri("sip", route.trunk.host, user=route.e164))
        limit = verdict.max_duration.total_seconds() if verdict.max_duration is not None else None
    elif route.account_id != account_id:
        return False  # TEN-4: a menu leads nowhere outside its account
    else:
        targets = internal_targets(session, route)
        original = call.request.from_addr
        from_addr = NameAddr(
            SipUri("sip", services.settings.domain, user=original.uri.user or "anonymous"),
            display=original.display,
        )
        to_addr, extra = NameAddr(SipUri("sip", services.settings.domain, user=dialled)), []
        limit = None
    if not targets:
        if attempt is not None:
            record_leg(call, attempt, started, None, 480, CallOutcome.UNAVAILABLE, None, MENU_LEG)
        return False
    return await _bridge(session, attempt, started, targets, from_addr, to_addr, extra, limit)


async def _bridge(
    session: AppCall,
    attempt: CallAttempt | None,
    started: datetime,
    targets: list[Target],
    from_addr: NameAddr,
    to_addr: NameAddr,
    extra: list[tuple[str, str]],
    limit: float | None,
) -> bool:
    call = session.call
    services = call.services
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    caller = call.caller_leg
    transfer = Transfer(
        [call], transferee=caller, transferors=[], subscription=None, media=call.media, side=Side.CALLER
    )

    def bridged() -> None:
        call.disposition = CONNECTED
        if not outcome.done():
            outcome.set_result(True)

    def over(status: int) -> None:
        if attempt is not None:
            answered = transfer.answered_at
            outcome_ = leg_outcome(answered, status)
            record_leg(call, attempt, started, answered, status, outcome_, None, MENU_LEG)
        if not outcome.done():
            outcome.set_result(False)

    transfer.on_bridged = bridged
    transfer.on_over = over
    call.transfer = transfer
    scheduler = services.host.scheduler
    timers = [scheduler.call_later(services.settings.no_answer_timeout_s, _unanswered, transfer)]
    if limit is not None:  # SIP-5: the external leg lasts as long as the budget left buys
        timers.append(scheduler.call_later(limit, transfer.hang_up, "max duration"))
    leg = CalleeLeg(
        services.host,
        call,
        targets=targets,
        from_addr=from_addr,
        to_addr=to_addr,
        body=b"",  # delayed offer: the target's offer goes to the caller (RFC 3725 flow I)
        content_type=None,
        extra_headers=extra,
        call_id=new_tag() + new_tag(),
    )
    transfer.target = transfer.new_leg = leg
    log.info("call %s: the application connects the caller to %s", call.call_id, to_addr.uri.user)
    leg.start()
    try:
        result = await outcome
    finally:
        timers[0].cancel()
    if not result:
        for timer in timers[1:]:
            timer.cancel()
    return result


def _unanswered(transfer: Transfer) -> None:
    if transfer.phase is Phase.PENDING and transfer.answered_at is None:
        transfer.fail(480, "No Answer")
