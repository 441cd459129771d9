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
400; a Replaces naming no dialog Nuage has 481; a REFER while another transfer runs 491. A call
already transferred blind may be transferred blind again by either party of the joined call (its
new leg a call of that party's account, with its own CDR); an attended transfer of a joined call
is refused 403. An INVITE carrying ``Replaces`` is
``nuage.sip.b2bua.replaces``'; the call-control API's transfer is ``transfer_live``.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nuage.sip.b2bua.bridge import Phase, Transfer
from nuage.sip.b2bua.callee import CalleeLeg
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.media import spawn
from nuage.sip.b2bua.refer import MalformedRefer, ReferSubscription, Replaces, refer_to
from nuage.sip.b2bua.states import CallState, LegState
from nuage.sip.b2bua.transfer_leg import (
    journal_leg,
    leg_attempt,
    leg_identity,
    leg_outcome,
    leg_targets,
    record_leg,
)
from nuage.sip.identifiers import new_tag
from nuage.sip.media import Side
from nuage.sip.message import SipRequest, SipResponse
from nuage.sip.ports import (
    CallOutcome,
    ExternalDestination,
    Refusal,
    SipAccount,
)
from nuage.sip.responses import warning_header
from nuage.sip.transactions import ServerTransaction
from nuage.sip.transport import Address

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.transfer")

RULE = "TEN-4"
"""The rule a transfer outside the transferor's account breaks."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A transfer not taken: the SIP status and reason; ``refusal`` when a rule of the terms said no."""

    status: int
    reason: str
    refusal: Refusal | None = None


def _outside(reason: str = "transfer target outside the account") -> Refused:
    """TEN-4: a transfer reaching outside the transferor's account is refused (403, Warning citing it)."""
    return Refused(403, "Transfer Refused", Refusal(RULE, reason))


def take_request(call: CallController, from_leg: Leg, tx: ServerTransaction) -> bool:
    """Controller hook for in-dialog requests: a REFER is acted on here, a joined call's requests
    go to its bridge (True: taken; False: relayed as usual)."""
    if call.transfer is not None and call.transfer.relay(from_leg, tx):
        return True
    if call.transfer is None and call.media is not None and call.media.take_request(from_leg, tx):
        return True  # an application's own offer (a fax switching to T.38)
    if tx.request.method != "REFER":
        return False
    spawn(refer(call, from_leg, tx), answering=tx)
    return True


def transferee_of(call: CallController, transferor: Leg) -> Leg | None:
    """The other party of ``call``'s answered legs, or of its joined call when it was transferred
    (None: the call is not answered, or a transfer is under way)."""
    joined = call.transfer
    if joined is not None:
        return joined.other(transferor)
    other: Leg | None = call.callee_leg if transferor is call.caller_leg else call.caller_leg
    if call.state is not CallState.CONNECTED or transferor.state is not LegState.CONNECTED:
        return None
    return other if other is not None and other.state is LegState.CONNECTED else None


async def refer(call: CallController, transferor: Leg, tx: ServerTransaction) -> None:
    """Act on a REFER ``transferor`` sent in ``call``: refuse it, or accept it and transfer."""
    domain = call.services.settings.domain
    if call.transfer is not None and call.transfer.phase is not Phase.BRIDGED:
        tx.reply(491)  # one transfer at a time
        return
    transferee = transferee_of(call, transferor)
    if transferee is None:
        tx.reply(481, "Call Not Answered")
        return
    try:
        wanted = refer_to(tx.request)
    except MalformedRefer as exc:
        tx.reply(400, "Bad Refer-To", headers=[("warning", warning_text(domain, str(exc)))])
        return
    account = await transferor_account(call, transferor)
    refused: Refused | None = None
    if account is None:
        refused = _outside("the transferor is not a phone of an account")
    elif wanted.uri.host.lower() not in _our_hosts(call, transferor):
        refused = _outside()
    elif wanted.replaces is not None and call.transfer is not None:
        refused = Refused(403, "Call Already Transferred")  # a joined call is transferred blind only
    elif wanted.replaces is not None:
        attended(call, transferor, transferee, tx, wanted.replaces, account)
    else:
        refused = await blind(
            call,
            transferor,
            wanted.target,
            account,
            origin=tx.source,
            number=str(tx.request.cseq.number),
            accept=lambda: _accept(tx, transferor),
            request=tx.request,
        )
    if refused is not None:
        _answer(tx, domain, refused)


async def transfer_live(
    calls: Iterable[CallController], call_id: str, dialled: str, *, keep: str
) -> Refused | None:
    """The call-control API: blind-transfer the live call ``call_id``, keeping its ``keep`` party
    (``caller`` or ``callee``) and releasing the other, as if that one had sent a REFER."""
    call = next((c for c in calls if c.call_id == call_id), None)
    if call is None:
        return Refused(404, "No Such Call")
    transferor = call.callee_leg if keep == "caller" else call.caller_leg
    if transferor is None or transferee_of(call, transferor) is None:
        return Refused(409, "Call Not Answered")
    if call.transfer is not None:
        return Refused(409, "Transfer In Progress")
    account = await transferor_account(call, transferor)
    if account is None:
        return _outside(f"the {'callee' if keep == 'caller' else 'caller'} is not a phone of an account")
    assert transferor.dialog is not None
    origin = transferor.dialog.destination()
    number = f"api-{new_tag()}"
    return await blind(
        call,
        transferor,
        dialled,
        account,
        origin=origin,
        number=number,
        accept=lambda: None,
        request=call.request,
    )


async def blind(
    call: CallController,
    transferor: Leg,
    dialled: str,
    account: SipAccount,
    *,
    origin: Address,
    number: str,
    accept: Callable[[], ReferSubscription | None],
    request: SipRequest,
) -> Refused | None:
    """A blind transfer to ``dialled``, placed and paid as a call of the transferor's ``account``;
    ``accept`` answers the request once authorised (the REFER's 202 and first NOTIFY)."""
    services = call.services
    previous = call.transfer  # a joined call transferred again (None: the first transfer)
    if previous is not None:
        number = f"{number}-{previous.depth + 1}"  # the CDR's Call-ID stays unique in the call
    destination = await services.dial_plan.resolve(account, dialled)
    if destination is None:
        return Refused(404, "Transfer Target Not Found")
    if not isinstance(destination, ExternalDestination) and destination.account_id != account.account_id:
        return _outside()
    attempt = leg_attempt(call, origin, number, account, dialled, destination)
    accepted_at = services.clock.now()
    verdict = await services.policy.authorize(attempt)
    transferee = transferee_of(call, transferor)
    if isinstance(verdict, Refusal):
        record_leg(call, attempt, accepted_at, None, 403, CallOutcome.REFUSED, verdict.rule_id)
        return Refused(403, "Transfer Refused", verdict)
    if transferee is None or call.transfer is not previous:  # hung up while the policy thought
        record_leg(call, attempt, accepted_at, None, 487, CallOutcome.CANCELLED)
        return Refused(481, "Call Gone") if transferee is None else Refused(491, "Request Pending")
    subscription = accept()
    transfer = Transfer(
        [call],
        transferee=transferee,
        transferors=[transferor],
        subscription=subscription,
        media=call.media,
        side=side_of(call, transferee),
    )
    if previous is not None:
        transfer.follows(previous)
    transfer.on_over = lambda status: record_leg(
        call, attempt, accepted_at, transfer.answered_at, status, leg_outcome(transfer.answered_at, status)
    )
    call.transfer = transfer
    if verdict.max_duration is not None:  # SIP-5: the leg lasts as long as the budget left buys
        services.host.scheduler.call_later(
            verdict.max_duration.total_seconds(), transfer.hang_up, "max duration"
        )
    route, targets = leg_targets(call, verdict)
    if route is None:
        transfer.fail(480, "Temporarily Unavailable")
        return None
    from_addr, to_addr, extra = leg_identity(call, transferee, route, request, account, verdict, dialled)
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
    transfer.on_answered = lambda: journal_leg(call, attempt, leg, accepted_at, transfer.answered_at)
    log.info("call %s: blind transfer to %s", call.call_id, dialled)
    leg.start()
    journal_leg(call, attempt, leg, accepted_at, None)
    return None


def attended(
    call: CallController,
    transferor: Leg,
    transferee: Leg,
    tx: ServerTransaction,
    replaces: Replaces,
    account: SipAccount,
) -> None:
    """An attended transfer: join ``transferee`` to the other party of the call ``replaces`` names."""
    found = find_leg((c for c in call.services.live_calls() if c is not call), replaces)
    if found is None:
        tx.reply(481, "Replaced Dialog Not Found")
        return
    other_call, consulted_leg = found
    other_account = other_call.attempt.account_id if other_call.attempt is not None else None
    if other_account != account.account_id:
        refuse(tx, call.services.settings.domain, Refusal(RULE, "the replaced call is not of the account"))
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
        side=side_of(call, transferee),
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


def find_leg(calls: Iterable[CallController], replaces: Replaces) -> tuple[CallController, Leg] | None:
    """The live call, and its leg, whose dialog ``replaces`` names."""
    for other in calls:
        for leg in (other.caller_leg, other.callee_leg):
            if leg is not None and replaces.names(leg):
                return other, leg
    return None


async def transferor_account(call: CallController, leg: Leg) -> SipAccount | None:
    """Who refers: the caller's device, or the device that answered (found by the binding its
    answer came through); None for the carrier or a party Nuage cannot name."""
    if leg is call.caller_leg:
        return call.account
    callee = leg if isinstance(leg, CalleeLeg) else None  # the callee, or a transfer's target
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


def side_of(call: CallController, transferee: Leg) -> Side:
    """The transferee's side of the call's media session (in a joined call, the side its party
    took: the target took the transferor's)."""
    joined = call.transfer
    if joined is not None and transferee is joined.target:
        return joined.side.other
    if joined is not None and transferee is joined.transferee:
        return joined.side
    return Side.CALLER if transferee is call.caller_leg else Side.CALLEE


def _accept(tx: ServerTransaction, transferor: Leg) -> ReferSubscription:
    subscription = ReferSubscription(transferor, tx.request)
    headers = [("contact", transferor.own_contact)]
    if not subscription.wanted:
        headers.append(("refer-sub", "false"))
    tx.reply(202, headers=headers)
    subscription.progress(100)
    return subscription


def refuse(tx: ServerTransaction, domain: str, refusal: Refusal) -> None:
    _answer(tx, domain, Refused(403, "Transfer Refused", refusal))


def _answer(tx: ServerTransaction, domain: str, refused: Refused) -> None:
    refusal = refused.refusal
    if refusal is None:
        tx.reply(refused.status, refused.reason)
        return
    log.info("transfer refused: %s %s", refusal.rule_id, refusal.reason)
    tx.reply(refused.status, refused.reason, headers=[("warning", warning_header(refusal, domain))])


def warning_text(domain: str, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'399 {domain} "{escaped}"'
