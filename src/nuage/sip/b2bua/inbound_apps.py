"""Calls from the public network answered by a media application (issue #16).

Owns ``answer_inbound``: a carrier's INVITE to a platform number routed to a menu, a schedule or a
conference room (``Applications.numbers``) is an inbound call of the number's account like any
other. The policy is asked first, with the attempt of an inbound call to that account (CAP-3: it
takes one of the account's channels, given back when the CDR is written; PAY-3 and CTR-2/CTR-4:
a suspended or terminated account's number is refused with the rule's status and Warning), then
the application answers the caller (``nuage.sip.b2bua.apps.answer_with``). The CDR is the
account's, inbound, on the carrier trunk the call arrived by, showing the number called.

A menu choice leading to a user, an extension, a group or an external number is bridged there by
the B2BUA (``nuage.sip.b2bua.app_bridge``: no phone of the platform to REFER); a voicemail choice
runs the box's deposit on the call (``nuage.sip.attendant``).
Like every application's call, it is not journaled and has no maximum duration of its own.
"""

from __future__ import annotations

from nuage.sip.b2bua.apps import NumberApp, answer_with
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import ApplicationDestination, CallAttempt, CarrierTrunk, Direction, Refusal
from nuage.sip.transactions import ServerTransaction


async def number_application(services: CallServices, dialled: str) -> NumberApp | None:
    """The application the platform number ``dialled`` is routed to (None: none, or no router)."""
    applications = services.applications
    router = applications.numbers if applications is not None else None
    return await router(dialled) if router is not None else None


async def answer_inbound(
    services: CallServices, tx: ServerTransaction, trunk: CarrierTrunk, found: NumberApp
) -> CallController:
    """Admit the carrier's call to ``found``'s number as an inbound call of its account (the
    policy decides: CAP-3 channels, the account's status), then let the application answer it."""
    request = tx.request
    call = CallController(services, tx, account=None, direction=Direction.INBOUND)
    call.shown_callee = found.shown_callee
    attempt = CallAttempt(
        call_id=request.call_id,
        direction=Direction.INBOUND,
        account_id=found.account_id,
        device_id=None,
        user_id=None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=tx.source.host,
        source_port=tx.source.port,
        dialled=request.uri.user or "",
        destination=ApplicationDestination(found.account_id),
        emergency=False,
        trunk_id=trunk.trunk_id,
    )
    call.attempt = attempt
    if call.caller_leg.cancelled:
        call.caller_leg.on_cancel()
        return call
    verdict = await services.policy.authorize(attempt)
    if call.state is CallState.DEAD:
        return call  # cancelled while the policy thought
    if isinstance(verdict, Refusal):
        call.refuse(verdict)
        return call
    await answer_with(call, found.app)
    return call
