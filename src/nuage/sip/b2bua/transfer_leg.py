"""The leg a blind transfer places: the attempt the call policy weighs, where it rings, who it
shows, its crash-journal entry (issue #20: a node that dies mid-call still closes its CDR) and its
CDR (a call of the transferor's account: it pays that leg, rated like any call), as a forwarded
external leg has.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from nuage.sip.accounting import billable_seconds
from nuage.sip.b2bua.callee import Target
from nuage.sip.b2bua.identity import towards_carrier
from nuage.sip.b2bua.legs import Leg
from nuage.sip.b2bua.records import called, outcome_of
from nuage.sip.b2bua.targets import targets_of
from nuage.sip.message import NameAddr, SipRequest, SipUri
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CdrRecord,
    Destination,
    Direction,
    ExternalDestination,
    JournalEntry,
    SipAccount,
)
from nuage.sip.transport import Address

if TYPE_CHECKING:
    from nuage.sip.b2bua.callee import CalleeLeg
    from nuage.sip.b2bua.controller import CallController

TRANSFER_LEG = "placed by a transfer"
"""The disposition of the CDR of the leg a blind transfer placed (the transferor's account pays)."""


def leg_attempt(
    call: CallController,
    origin: Address,
    number: str,
    account: SipAccount,
    dialled: str,
    destination: Destination,
) -> CallAttempt:
    external = isinstance(destination, ExternalDestination)
    return CallAttempt(
        call_id=f"{call.call_id[:200]}/transfer-{number}",  # the REFER's CSeq (or the API's): unique
        direction=Direction.OUTBOUND if external else Direction.INTERNAL,
        account_id=account.account_id,
        device_id=account.device_id if account.trunk_id is None else None,
        user_id=account.user_id,
        presented_caller_id=account.username,  # SIP-2: the transferor's own identity, never the transferee's
        source_host=origin.host,
        source_port=origin.port,
        dialled=dialled,
        destination=destination,
        emergency=isinstance(destination, ExternalDestination) and destination.emergency,
        trunk_id=destination.trunk.trunk_id if isinstance(destination, ExternalDestination) else None,
        customer_trunk_id=account.trunk_id,
    )


def leg_targets(call: CallController, verdict: Authorization) -> tuple[Destination | None, list[Target]]:
    for route in verdict.routes:
        dialled = route.e164 if isinstance(route, ExternalDestination) else None
        targets = targets_of(route, call.services.registrar, dialled)
        if targets:
            return route, targets
    return None, []


def leg_identity(
    call: CallController,
    transferee: Leg,
    route: Destination,
    request: SipRequest,
    account: SipAccount,
    verdict: Authorization,
    dialled: str,
) -> tuple[NameAddr, NameAddr, list[tuple[str, str]]]:
    """From, To and identity headers of the new leg: towards the carrier the transferor's number
    (SIP-2); towards a phone of the account, the party it is about to talk with."""
    domain = call.services.settings.domain
    if isinstance(route, ExternalDestination):
        from_addr, headers = towards_carrier(
            route, request, account=account, domain=domain, caller_id=verdict.caller_id
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


def journal_leg(
    call: CallController,
    attempt: CallAttempt,
    leg: CalleeLeg,
    started_at: datetime,
    answered_at: datetime | None,
) -> None:
    """Journal the leg as it is now (placed, then answered) until its CDR is stored (issue #20)."""
    journal = call.services.journal
    if journal is None:
        return
    journal.update(
        JournalEntry(
            call_id=attempt.call_id,
            caller_tag=call.caller_leg.local_tag,
            callee_call_id=leg.call_id,
            callee_tag=leg.local_tag,
            started_at=started_at,
            answered_at=answered_at,
            caller=attempt.presented_caller_id,
            callee=called(attempt),
            account_id=attempt.account_id,
            device_id=attempt.device_id,
            trunk_id=attempt.trunk_id,
            customer_trunk_id=attempt.customer_trunk_id,
            direction=attempt.direction,
            emergency=attempt.emergency,
        )
    )


def leg_outcome(answered_at: datetime | None, status: int) -> CallOutcome:
    return CallOutcome.ANSWERED if answered_at is not None else outcome_of(status)


def record_leg(
    call: CallController,
    attempt: CallAttempt,
    started_at: datetime,
    answered: datetime | None,
    status: int,
    outcome: CallOutcome,
    rule: str | None = None,
    disposition: str = TRANSFER_LEG,
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
        disposition=disposition,
    )
    services = call.services
    services.accounting.call_ended(record)
    if services.journal is not None:  # its entry goes once the CDR is stored
        services.journal.ended((attempt.call_id, call.caller_leg.local_tag), record)
