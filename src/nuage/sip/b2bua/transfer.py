"""Call transfer (RFC 3515 REFER, RFC 3891 Replaces): the B2BUA acts on a REFER itself.

Either party of an answered call may refer the other: the REFER is checked, answered 202 and its
progress reported by NOTIFY (``nuage.sip.b2bua.refer``), and the transfer runs in the B2BUA
(``nuage.sip.b2bua.bridge``), never relayed to the other party:

- blind: Refer-To names a target (an extension, user or number of the transferor's account, or an
  external number) that the dial plan resolves for the transferor and the call policy authorises
  as a call of the transferor's account (CAP-3 channels, SIP-2 caller ID, SIP-5, EMG-4 all apply);
  a new leg rings it and the transferee is reconnected to it;
- attended: Refer-To embeds ``Replaces`` naming another call of the transferor through Nuage: the
  two remote parties are joined, the transferor's two legs released.

Refusals (TEN-4: nothing crosses tenants through SIP): a target on another host, or resolving to
another account, or a transferor that is not a phone of an account (the carrier) gets 403 with a
Warning citing TEN-4; a policy's refusal 403 with a Warning citing its rule; a malformed Refer-To
400; a Replaces naming no dialog Nuage has 481; a REFER while another transfer runs 491.

The call records stay honest (who pays which leg): the original call's CDR keeps describing the
call its first parties set up, until the remaining party hangs up (disposition ``transferred``):
its account pays the leg it paid for before, for as long as that leg lasts. The new leg a blind
transfer places is a call of the transferor's account, with its own CDR (Call-ID of the original
with ``/transfer-N``, disposition ``placed by a transfer``): outbound (rated) to an external
number, internal otherwise, answered or not, so that its channels and budget are given back like
any call's. An attended transfer places no leg: both calls' CDRs run until the joined call ends.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from nuage.sip.accounting import billable_seconds
from nuage.sip.b2bua.bridge import Transfer
from nuage.sip.b2bua.callee import CalleeLeg, Target
from nuage.sip.b2bua.identity import towards_carrier
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import spawn
from nuage.sip.b2bua.records import called, outcome_of
from nuage.sip.b2bua.refer import MalformedRefer, ReferSubscription, Replaces, refer_to
from nuage.sip.b2bua.states import CallState, LegState
from nuage.sip.b2bua.targets import targets_of
from nuage.sip.media import Side
from nuage.sip.message import NameAddr, SipResponse, SipUri
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CdrRecord,
    Destination,
    Direction,
    ExternalDestination,
    Refusal,
    SipAccount,
)
from nuage.sip.responses import warning_header
from nuage.sip.transactions import ServerTransaction, new_tag
from nuage.sip.transport import Address

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.transfer")

TRANSFER_LEG = "placed by a transfer"
"""The disposition of the CDR of the leg a blind transfer placed (the transferor's account pays)."""

RULE = "TEN-4"
"""The rule a transfer outside the transferor's account breaks."""


def take_request(call: CallController, from_leg: Leg, tx: ServerTransaction) -> bool:
    """Controller hook for in-dialog requests: a REFER is acted on here, a joined call's requests
    go to its bridge (True: taken; False: relayed as usual)."""
    if call.transfer is not None and call.transfer.relay(from_leg, tx):
        return True
    if tx.request.method != "REFER":
        return False
    spawn(refer(call, from_leg, tx))
    return True


def transferee_of(call: CallController, transferor: Leg) -> Leg | None:
    """The other party of ``call``'s answered legs (None: the call is not answered)."""
    other: Leg | None = call.callee_leg if transferor is call.caller_leg else call.caller_leg
    if call.state is not CallState.CONNECTED or transferor.state is not LegState.CONNECTED:
        return None
    return other if other is not None and other.state is LegState.CONNECTED else None


async def refer(call: CallController, transferor: Leg, tx: ServerTransaction) -> None:
    """Act on a REFER ``transferor`` sent in ``call``: refuse it, or accept it and transfer."""
    domain = call.services.settings.domain
    transferee = transferee_of(call, transferor)
    if transferee is None:
        tx.reply(481, "Call Not Answered")
        return
    if call.transfer is not None:
        tx.reply(491)  # one transfer at a time
        return
    try:
        wanted = refer_to(tx.request)
    except MalformedRefer as exc:
        tx.reply(400, "Bad Refer-To", headers=[("warning", _warning(domain, str(exc)))])
        return
    account = await transferor_account(call, transferor)
    if account is None:
        _refuse(tx, domain, Refusal(RULE, "the transferor is not a phone of an account"))
        return
    if wanted.uri.host.lower() not in _our_hosts(call, transferor):
        _refuse(tx, domain, Refusal(RULE, "transfer target outside the account"))
        return
    if wanted.replaces is not None:
        attended(call, transferor, transferee, tx, wanted.replaces, account)
        return
    await blind(call, transferor, tx, wanted.target, account)


async def blind(
    call: CallController, transferor: Leg, tx: ServerTransaction, dialled: str, account: SipAccount
) -> None:
    """A blind transfer to ``dialled``, placed and paid as a call of the transferor's ``account``."""
    services = call.services
    domain = services.settings.domain
    destination = await services.dial_plan.resolve(account, dialled)
    if destination is None:
        tx.reply(404, "Transfer Target Not Found")
        return
    if not isinstance(destination, ExternalDestination) and destination.account_id != account.account_id:
        _refuse(tx, domain, Refusal(RULE, "transfer target outside the account"))
        return
    attempt = _attempt(call, tx, account, dialled, destination)
    accepted_at = services.clock.now()
    verdict = await services.policy.authorize(attempt)
    transferee = transferee_of(call, transferor)
    if isinstance(verdict, Refusal):
        _refuse(tx, domain, verdict)
        _record(call, attempt, accepted_at, None, 403, CallOutcome.REFUSED, verdict.rule_id)
        return
    if transferee is None or call.transfer is not None:  # hung up while the policy thought
        tx.reply(481 if transferee is None else 491)
        _record(call, attempt, accepted_at, None, 487, CallOutcome.CANCELLED)
        return
    subscription = _accept(tx, transferor)
    transfer = Transfer(
        [call],
        transferee=transferee,
        transferors=[transferor],
        subscription=subscription,
        media=call.media,
        side=_side(call, transferee),
    )
    transfer.on_over = lambda status: _record(
        call, attempt, accepted_at, transfer.answered_at, status, _outcome(transfer.answered_at, status)
    )
    call.transfer = transfer
    route, targets = _targets(call, verdict)
    if route is None:
        transfer.fail(480, "Temporarily Unavailable")
        return
    from_addr, to_addr, extra = _identity(call, transferee, route, tx, account, verdict, dialled)
    leg = CalleeLeg(
        services.host,
        call,
        targets=targets,
        from_addr=from_addr,
        to_addr=to_addr,
        body=b"",  # delayed offer: the target's offer goes to the transferee (RFC 3725 flow I)
        content_type=None,
        extra_headers=extra,
        call_id=new_tag() + new_tag(),
    )
    transfer.target = transfer.new_leg = leg
    log.info("call %s: blind transfer to %s", call.call_id, dialled)
    leg.start()


def attended(
    call: CallController,
    transferor: Leg,
    transferee: Leg,
    tx: ServerTransaction,
    replaces: Replaces,
    account: SipAccount,
) -> None:
    """An attended transfer: join ``transferee`` to the other party of the call ``replaces`` names."""
    found = find_leg(call, replaces)
    if found is None:
        tx.reply(481, "Replaced Dialog Not Found")
        return
    other_call, consulted_leg = found
    other_account = other_call.attempt.account_id if other_call.attempt is not None else None
    if other_account != account.account_id:
        _refuse(tx, call.services.settings.domain, Refusal(RULE, "the replaced call is not of the account"))
        return
    target = transferee_of(other_call, consulted_leg)
    if target is None or other_call.transfer is not None:
        tx.reply(481 if target is None else 491)
        return
    subscription = _accept(tx, transferor)
    transfer = Transfer(
        [call, other_call],
        transferee=transferee,
        transferors=[transferor, consulted_leg],
        subscription=subscription,
        media=call.media,
        side=_side(call, transferee),
    )
    transfer.target = target
    call.transfer = other_call.transfer = transfer
    log.info("call %s: attended transfer joining call %s", call.call_id, other_call.call_id)
    target.begin_outgoing_reinvite()
    sent: list[int] = []

    def answered(response: SipResponse | None) -> None:
        if response is not None and response.status < 200:
            return
        target.end_outgoing_reinvite()
        if response is None or response.status >= 300 or not response.body:
            if response is not None and response.status < 300 and sent:
                target.send_ack(sent[0])
            transfer.fail(response.status if response is not None else 408, "the target refused")
            return
        target.update_target(response)
        cseq = sent[0] if sent else 0
        ctype = response.headers.get("content-type")
        transfer.join(response.body, lambda answer: target.send_ack(cseq, answer, ctype if answer else None))

    request = target.send_in_dialog("INVITE", answered)  # no offer: the target makes one (RFC 3725)
    if request is not None:
        sent.append(request.cseq.number)


def find_leg(call: CallController, replaces: Replaces) -> tuple[CallController, Leg] | None:
    """The other live call, and its leg, whose dialog ``replaces`` names."""
    for other in call.services.live_calls():
        if other is call:
            continue
        for leg in (other.caller_leg, other.callee_leg):
            if leg is not None and replaces.names(leg):
                return other, leg
    return None


async def transferor_account(call: CallController, leg: Leg) -> SipAccount | None:
    """Who refers: the caller's device, or the device that answered (found by the binding its
    answer came through); None for the carrier or a party Nuage cannot name."""
    if leg is call.caller_leg:
        return call.account
    callee = call.callee_leg
    answered = callee.answered_target if callee is not None else None
    if answered is None:
        return None
    registrar = call.services.registrar
    for binding in registrar.registrations():
        flow = Address(binding.source_transport, binding.source_host, binding.source_port)
        if flow == answered.destination:
            return await registrar.find_account(binding.username)
    return None


def _our_hosts(call: CallController, leg: Leg) -> set[str]:
    return {call.services.settings.domain.lower(), call.services.host.via(leg.transport)[0].lower()}


def _side(call: CallController, transferee: Leg) -> Side:
    return Side.CALLER if transferee is call.caller_leg else Side.CALLEE


def _accept(tx: ServerTransaction, transferor: Leg) -> ReferSubscription:
    subscription = ReferSubscription(transferor, tx.request)
    headers = [("contact", transferor.own_contact)]
    if not subscription.wanted:
        headers.append(("refer-sub", "false"))
    tx.reply(202, headers=headers)
    subscription.progress(100)
    return subscription


def _refuse(tx: ServerTransaction, domain: str, refusal: Refusal) -> None:
    log.info("transfer refused: %s %s", refusal.rule_id, refusal.reason)
    tx.reply(403, "Transfer Refused", headers=[("warning", warning_header(refusal, domain))])


def _warning(domain: str, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'399 {domain} "{escaped}"'


def _attempt(
    call: CallController, tx: ServerTransaction, account: SipAccount, dialled: str, destination: Destination
) -> CallAttempt:
    external = isinstance(destination, ExternalDestination)
    return CallAttempt(
        call_id=f"{call.call_id[:200]}/transfer-{tx.request.cseq.number}",  # the REFER's CSeq: unique
        direction=Direction.OUTBOUND if external else Direction.INTERNAL,
        account_id=account.account_id,
        device_id=account.device_id if account.trunk_id is None else None,
        user_id=account.user_id,
        presented_caller_id=account.username,  # SIP-2: the transferor's own identity, never the transferee's
        source_host=tx.source.host,
        source_port=tx.source.port,
        dialled=dialled,
        destination=destination,
        emergency=isinstance(destination, ExternalDestination) and destination.emergency,
        trunk_id=destination.trunk.trunk_id if isinstance(destination, ExternalDestination) else None,
        customer_trunk_id=account.trunk_id,
    )


def _targets(call: CallController, verdict: Authorization) -> tuple[Destination | None, list[Target]]:
    for route in verdict.routes:
        dialled = route.e164 if isinstance(route, ExternalDestination) else None
        targets = targets_of(route, call.services.registrar, dialled)
        if targets:
            return route, targets
    return None, []


def _identity(
    call: CallController,
    transferee: Leg,
    route: Destination,
    tx: ServerTransaction,
    account: SipAccount,
    verdict: Authorization,
    dialled: str,
) -> tuple[NameAddr, NameAddr, list[tuple[str, str]]]:
    """From, To and identity headers of the new leg: towards the carrier the transferor's number
    (SIP-2); towards a phone of the account, the party it is about to talk with."""
    domain = call.services.settings.domain
    if isinstance(route, ExternalDestination):
        from_addr, headers = towards_carrier(
            route, tx.request, account=account, domain=domain, caller_id=verdict.caller_id
        )
        return from_addr, NameAddr(SipUri("sip", route.trunk.host, user=route.e164)), headers
    if transferee is call.caller_leg:
        original = call.request.from_addr
        shown = NameAddr(
            SipUri("sip", domain, user=original.uri.user or "anonymous"), display=original.display
        )
    else:
        shown = NameAddr(
            SipUri("sip", domain, user=call.shown_callee or call.request.uri.user or "anonymous")
        )
    return shown, NameAddr(SipUri("sip", domain, user=dialled)), []


def _outcome(answered_at: datetime | None, status: int) -> CallOutcome:
    return CallOutcome.ANSWERED if answered_at is not None else outcome_of(status)


def _record(
    call: CallController,
    attempt: CallAttempt,
    started_at: datetime,
    answered: datetime | None,
    status: int,
    outcome: CallOutcome,
    rule: str | None = None,
) -> None:
    """The CDR of the leg a blind transfer placed (or tried to): a call of the transferor's account."""
    now = call.services.clock.now()
    record = CdrRecord(
        call_id=attempt.call_id,
        caller=attempt.presented_caller_id,
        callee=called(attempt),
        account_id=attempt.account_id,
        device_id=attempt.device_id,
        trunk_id=attempt.trunk_id,
        direction=attempt.direction,
        started_at=started_at,
        answered_at=answered,
        ended_at=now,
        billable_seconds=billable_seconds(answered, now),
        outcome=outcome,
        sip_status=200 if answered is not None else status,
        refusal_rule_id=rule,
        emergency=attempt.emergency,
        customer_trunk_id=attempt.customer_trunk_id,
        disposition=TRANSFER_LEG,
    )
    call.services.accounting.call_ended(record)
