"""Calls answered by a media application, admitted under the call policy like any call (issue #16).

Owns ``answer_admitted``: whoever calls an application (a carrier's caller to a number routed to a
menu, a schedule, a room or a virtual fax; a phone or a customer's PBX trunk dialling a feature
code, a room's extension or a fax number), the policy is asked first with the call's attempt, then
the application answers (``nuage.sip.b2bua.apps.answer_with``):

- from a carrier, an inbound call of the number's account, on the carrier trunk it arrived by;
- from a phone or a PBX trunk (SIP-3: ``customer_trunk_id``), an internal call of its account to
  the application (``ApplicationDestination``, or the ``FaxDestination`` of a fax number).

So CAP-3 takes one of the account's (and the trunk's) channels, given back when the CDR is
written; PAY-3, CTR-2 and CTR-4 refuse a suspended, bankrupt or terminated account's calls with the
rule's status and Warning (PAY-3: emergency calls only, so no application either). The call is
journaled once answered and lasts at most the server's ``max_application_duration_s`` (less when
the policy says): then the application's caller gets a BYE and the CDR says ``maximum duration
reached``. The CDR shows the number or code called, never a PIN. Internal calls are not rated;
an inbound call's CDR is the account's like any inbound call's.

A menu choice leading to a user, an extension, a group or an external number is bridged there by
the B2BUA (``nuage.sip.b2bua.app_bridge``: no phone of the platform to REFER); a voicemail choice
runs the box's deposit on the call (``nuage.sip.attendant``).
"""

from __future__ import annotations

from nuage.sip.b2bua.apps import MediaApplication, NumberApp, answer_with
from nuage.sip.b2bua.controller import CallController
from nuage.sip.b2bua.services import CallServices
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import (
    ApplicationDestination,
    CallAttempt,
    CarrierTrunk,
    Direction,
    FaxDestination,
    Refusal,
    SipAccount,
)
from nuage.sip.transactions import ServerTransaction


async def number_application(services: CallServices, dialled: str) -> NumberApp | None:
    """The application the platform number ``dialled`` is routed to (None: none, or no router)."""
    applications = services.applications
    router = applications.numbers if applications is not None else None
    return await router(dialled) if router is not None else None


def application_attempt(
    tx: ServerTransaction,
    destination: ApplicationDestination | FaxDestination,
    *,
    account: SipAccount | None,
    trunk: CarrierTrunk | None,
    shown_callee: str,
    web_channel: tuple[str, int] | None = None,
) -> CallAttempt:
    """The attempt the policy weighs for a call to an application: inbound from ``trunk`` (a
    carrier) or from a widget (``web_channel``, CFG-10: no trunk), else internal from ``account``
    (a phone, or a customer's PBX trunk). What it records as dialled is ``shown_callee`` (a code,
    never its argument or a PIN)."""
    request = tx.request
    return CallAttempt(
        call_id=request.call_id,
        direction=Direction.INTERNAL if account is not None else Direction.INBOUND,
        account_id=account.account_id if account is not None else destination.account_id,
        device_id=account.device_id if account is not None and account.trunk_id is None else None,
        user_id=account.user_id if account is not None else None,
        presented_caller_id=request.from_addr.uri.user or "",
        source_host=tx.source.host,
        source_port=tx.source.port,
        dialled=shown_callee,
        destination=destination,
        emergency=False,
        trunk_id=trunk.trunk_id if trunk is not None and account is None else None,
        customer_trunk_id=account.trunk_id if account is not None else None,
        web_channel=web_channel,
    )


async def answer_admitted(
    services: CallServices,
    tx: ServerTransaction,
    app: MediaApplication,
    attempt: CallAttempt,
    *,
    account: SipAccount | None,
    shown_callee: str,
) -> CallController:
    """Ask the policy about ``attempt``; refused, the caller gets the rule's status and Warning;
    authorised, ``app`` answers (its channels held until the CDR is written)."""
    call = CallController(services, tx, account=account, direction=attempt.direction)
    call.shown_callee = shown_callee
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
    call.limit_duration(verdict.max_duration)
    await answer_with(call, app)
    return call


async def answer_inbound(
    services: CallServices,
    tx: ServerTransaction,
    trunk: CarrierTrunk | None,
    found: NumberApp,
    *,
    web_channel: tuple[str, int] | None = None,
) -> CallController:
    """A carrier's call to ``found``'s number: an inbound call of its account, if the policy agrees.
    A widget's call (CFG-10) comes by no trunk: it carries its web channel instead."""
    destination = ApplicationDestination(found.account_id)
    attempt = application_attempt(
        tx, destination, account=None, trunk=trunk, shown_callee=found.shown_callee, web_channel=web_channel
    )
    return await answer_admitted(
        services, tx, found.app, attempt, account=None, shown_callee=found.shown_callee
    )
