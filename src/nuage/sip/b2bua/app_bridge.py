"""A media application's caller connected onwards by the B2BUA (issue #16): a menu's choice for a
caller with no phone of the platform to transfer (a carrier's caller, a PBX trunk's).

Owns ``connect``: what the caller chose is resolved as the menu's account dials it, then rung by
``nuage.sip.b2bua.app_leg`` (the caller hears ringback, or the destination's early media, then
talks with whoever answers):

- a user rings on all their registered phones; an extension of a device on its bindings. These
  stay within the account whose number was called: the inbound call (already admitted by the
  policy, its channel held) covers them; no other CDR;
- a ring group is hunted as a call dialling it directly is, by its strategy (simultaneous,
  sequential, round-robin; its timeouts; its fallback): ``nuage.sip.b2bua.app_groups``;
- an external number is an outbound call of the menu's account (``placed by a menu``): the policy
  authorises it like any call of the account (CAP-3 takes a channel for it, SIP-2 decides the
  number presented: the account's number the caller called, SIP-5 its budget), its own CDR (Call-ID
  ``<call>/menu-N``) is rated and paid by the account.

The original call's CDR keeps describing the caller's inbound call, disposition ``connected by a
menu``. A destination that rings nowhere, refuses or does not answer within the server's no-answer
time returns False: the application goes on (it says goodbye).
"""

from __future__ import annotations

import itertools
import logging

from nuage.sip.b2bua.app_groups import hunt_group
from nuage.sip.b2bua.app_leg import CONNECTED, LegSpec, ring
from nuage.sip.b2bua.apps import AppCall
from nuage.sip.b2bua.bridge import Transfer
from nuage.sip.b2bua.identity import towards_carrier
from nuage.sip.b2bua.states import CallState
from nuage.sip.b2bua.targets import targets_of
from nuage.sip.b2bua.transfer_leg import leg_outcome, record_leg
from nuage.sip.message import NameAddr, SipUri
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    Direction,
    ExternalDestination,
    GroupDestination,
    Refusal,
    SipAccount,
)

log = logging.getLogger("nuage.sip.apps")

__all__ = ["CONNECTED", "MENU_LEG", "acting_for", "connect", "gone"]

MENU_LEG = "placed by a menu"
"""The disposition of the CDR of an external leg a menu placed (the menu's account pays it)."""

_legs = itertools.count(1)


def acting_for(account_id: str, number: str) -> SipAccount:
    """The menu as the dial plan and the carrier see it: the account, presenting ``number``."""
    return SipAccount(
        device_id="", account_id=account_id, user_id=None, username="", password="", caller_id_e164=number
    )


def gone(session: AppCall) -> bool:
    """Whether the application's caller has left (nothing to connect)."""
    return session.ended or session.call.state is not CallState.CONNECTED


async def connect(session: AppCall, account_id: str, dialled: str) -> bool:
    """Bridge the application's caller to ``dialled`` (an extension, a group's, an E.164 number) of
    ``account_id``; True once they talk (the application must then return without hanging up)."""
    call = session.call
    services = call.services
    if gone(session) or call.transfer is not None:
        return False
    called = call.shown_callee or call.request.uri.user or ""
    route = await services.dial_plan.resolve(acting_for(account_id, called), dialled)
    if route is None:
        return False
    ring_s = services.settings.no_answer_timeout_s
    if isinstance(route, ExternalDestination):
        return await _external(session, account_id, called, route)
    if route.account_id != account_id:
        return False  # TEN-4: a menu leads nowhere outside its account
    original = call.request.from_addr
    spec = LegSpec(
        NameAddr(
            SipUri("sip", services.settings.domain, user=original.uri.user or "anonymous"),
            display=original.display,
        ),
        NameAddr(SipUri("sip", services.settings.domain, user=dialled)),
    )
    if isinstance(route, GroupDestination):
        return await hunt_group(session, route, spec)
    targets = targets_of(route, services.registrar, None)
    if not targets:
        return False
    return (await ring(session, targets, spec, ring_s=ring_s)).failure is None


async def _external(session: AppCall, account_id: str, called: str, route: ExternalDestination) -> bool:
    """An outbound call of the menu's account to ``route`` (CAP-3, SIP-2, SIP-5), its own CDR."""
    call = session.call
    services = call.services
    started = services.clock.now()
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
    if not targets:
        record_leg(call, attempt, started, None, 480, CallOutcome.UNAVAILABLE, None, MENU_LEG)
        return False
    from_addr, extra = towards_carrier(
        route,
        call.request,
        account=acting_for(account_id, called),
        domain=services.settings.domain,
        caller_id=verdict.caller_id,
    )
    spec = LegSpec(from_addr, NameAddr(SipUri("sip", route.trunk.host, user=route.e164)), tuple(extra))

    def over(transfer: Transfer, status: int) -> None:
        answered = transfer.answered_at
        record_leg(call, attempt, started, answered, status, leg_outcome(answered, status), None, MENU_LEG)

    limit = verdict.max_duration.total_seconds() if verdict.max_duration is not None else None
    rang = await ring(
        session, targets, spec, ring_s=services.settings.no_answer_timeout_s, limit=limit, on_over=over
    )
    return rang.failure is None
