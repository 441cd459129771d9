"""Forwarded external legs (issue #15): a call forwarded outside the platform is, for its second leg,
a call of the forwarding user's account.

Owns that leg's own attempt (the policy authorises it as an outbound call of that account: CAP-3
counts its channel, SIP-2 decides the number presented, SIP-5 its budget), its CDR (Call-ID
``<call>;fwd-N``, billed to that account) and its crash-journal entry (issue #20). The hunt
(``nuage.sip.b2bua.hunt``) decides when such a leg is rung.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from nuage.sip.accounting import billable_seconds
from nuage.sip.b2bua.records import outcome_of
from nuage.sip.ports import (
    Authorization,
    CallAttempt,
    CallOutcome,
    CdrRecord,
    Direction,
    ExternalDestination,
    JournalEntry,
    Refusal,
)
from nuage.sip.routing import RoutedUser

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController


@dataclass(frozen=True)
class ForwardedLeg:
    """A forwarded external leg the policy authorised: its attempt, when it started, what it presents."""

    attempt: CallAttempt
    started_at: datetime
    caller_id: str | None  # SIP-2: the number the policy authorised (None: the user's own)


async def authorise(
    call: CallController, by: RoutedUser, route: ExternalDestination, number: int
) -> ForwardedLeg | Refusal:
    """Ask the policy for the ``number``-th forwarded leg of ``call``, as a call of ``by``'s account."""
    source = call.caller_leg.tx.source
    attempt = CallAttempt(
        call_id=f"{call.call_id};fwd-{number}",
        direction=Direction.OUTBOUND,
        account_id=by.account_id,
        device_id=None,
        user_id=by.user_id,
        presented_caller_id=by.caller_id or "",
        source_host=source.host,
        source_port=source.port,
        dialled=route.e164,
        destination=route,
        emergency=False,
        trunk_id=route.trunk.trunk_id,
    )
    verdict = await call.services.policy.authorize(attempt)
    if isinstance(verdict, Refusal):
        return verdict
    assert isinstance(verdict, Authorization)
    return ForwardedLeg(attempt, call.services.clock.now(), verdict.caller_id)


def leg_ended(
    call: CallController, leg: ForwardedLeg, status: int, answered_at: datetime | None, ended_at: datetime
) -> None:
    """The leg ended: its CDR to accounting (its channel given back), its journal entry forgotten."""
    attempt = leg.attempt
    record = CdrRecord(
        call_id=attempt.call_id,
        caller=attempt.presented_caller_id or attempt.user_id or "",
        callee=attempt.dialled,
        account_id=attempt.account_id,
        device_id=None,
        trunk_id=attempt.trunk_id,
        direction=Direction.OUTBOUND,
        started_at=leg.started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        billable_seconds=billable_seconds(answered_at, ended_at),
        outcome=CallOutcome.ANSWERED if answered_at else outcome_of(status),
        sip_status=200 if answered_at else status,
        refusal_rule_id=None,
        emergency=False,
    )
    services = call.services
    services.accounting.call_ended(record)
    if services.journal is not None:
        services.journal.ended((attempt.call_id, call.caller_leg.local_tag), record)


def journal_entry(call: CallController, leg: ForwardedLeg) -> JournalEntry:
    """What the leg needs of a CDR if the node died now (issue #20)."""
    attempt, callee = leg.attempt, call.callee_leg
    return JournalEntry(
        call_id=attempt.call_id,
        caller_tag=call.caller_leg.local_tag,
        callee_call_id=callee.call_id if callee is not None else None,
        callee_tag=callee.local_tag if callee is not None else None,
        started_at=leg.started_at,
        answered_at=call.answered_at,
        caller=attempt.presented_caller_id or attempt.user_id or "",
        callee=attempt.dialled,
        account_id=attempt.account_id,
        device_id=None,
        trunk_id=attempt.trunk_id,
        customer_trunk_id=None,
        direction=Direction.OUTBOUND,
        emergency=False,
    )
