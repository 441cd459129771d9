"""A ring group chosen in a media application (issue #16): hunted by its strategy, as when dialled.

Owns ``hunt_group``: the group a menu's caller chose is expanded by the B2BUA's own hunting
(``nuage.sip.b2bua.hunt``, the code a call dialling the group directly goes through: simultaneous,
sequential or round-robin members, each member's ring time, the group's timeout, its fallback
dialled as the group's account dials it, members in do-not-disturb skipped), and each step is rung
by ``nuage.sip.b2bua.app_leg`` (ringback or early media, then the caller talks with whoever
answers). A fallback to an external number is a call of the group's account (CAP-3, SIP-2), with
its own CDR, as for a call dialling the group.
"""

from __future__ import annotations

import logging

from nuage.sip.b2bua.app_leg import LegSpec, ring
from nuage.sip.b2bua.apps import AppCall
from nuage.sip.b2bua.bridge import Transfer
from nuage.sip.b2bua.events import Fail
from nuage.sip.b2bua.hunt import Hunt, Step
from nuage.sip.b2bua.identity import callee_identity
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import ExternalDestination, GroupDestination

log = logging.getLogger("nuage.sip.apps")


def _spec(session: AppCall, step: Step, spec: LegSpec) -> LegSpec:
    """The INVITE of ``step``: to a member as the caller to the group; to an external fallback as
    the group's account calls (SIP-2: the number the policy authorised); a fallback's Diversion."""
    if isinstance(step.route, ExternalDestination):
        call = session.call
        from_addr, to_addr, extra = callee_identity(
            step.route,
            call.request,
            account=step.account,
            domain=call.services.settings.domain,
            caller_id=step.caller_id,
        )
        return LegSpec(from_addr, to_addr, (*extra, *step.headers))
    return LegSpec(spec.from_addr, spec.to_addr, (*spec.extra, *step.headers))


async def hunt_group(session: AppCall, route: GroupDestination, spec: LegSpec) -> bool:
    """Hunt ``route`` for the application's caller; True once the caller talks with someone."""
    call = session.call
    services = call.services
    hunt = Hunt(call, active=CallState.CONNECTED)  # the application's call is answered already
    hunt.add((route,))
    no_answer = services.settings.no_answer_timeout_s

    def over(transfer: Transfer, status: int) -> None:
        if transfer.answered_at is not None:  # the joined call ended: a fallback leg's CDR
            hunt.leg_over(status, transfer.answered_at)

    try:
        while not session.ended and call.state is CallState.CONNECTED:
            step = await hunt.next_step()
            if isinstance(step, Fail) or session.ended or call.state is not CallState.CONNECTED:
                return False
            ring_s = min(step.timeout_s, no_answer) if step.timeout_s is not None else no_answer
            rang = await ring(session, step.targets, _spec(session, step, spec), ring_s=ring_s, on_over=over)
            if rang.failure is None:
                return True
            hunt.timed_out = rang.timed_out
            if hunt.after_failure(rang.failure) is not None:
                return False
        return False
    finally:
        hunt.ringing = frozenset()
        if services.ringing.get(call.call_id) is call:
            del services.ringing[call.call_id]  # nothing of this call rings any more (call pickup)
