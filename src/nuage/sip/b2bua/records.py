"""What a call writes: its one CDR at the end, and the journal entry that stands in for it meanwhile.

Owns how a call's state reads as a record: the outcome a final SIP status means, what the CDR
shows as called (the E.164 number rating prices, RAT-2), and what a crash would need
(``nuage.sip.journal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from nuage.sip.accounting import billable_seconds
from nuage.sip.b2bua.states import CallState
from nuage.sip.ports import (
    NOT_ACKNOWLEDGED,
    CallAttempt,
    CallOutcome,
    CdrRecord,
    Direction,
    ExternalDestination,
    JournalEntry,
)

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

_NO_ANSWER = frozenset({408, 480})


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
    forwarded_legs: tuple[str, ...] = ()  # the channel holders of its forwarded external legs (CAP-3)


def call_info(call: CallController) -> CallInfo:
    """A snapshot of ``call`` for the introspection API."""
    attempt, account = call.attempt, call.account
    return CallInfo(
        call_id=call.call_id,
        state=call.state,
        direction=call.direction,
        caller=call.request.from_addr.uri.user or "",
        callee=call.shown_callee or call.request.uri.user or "",
        account_id=attempt.account_id if attempt else (account.account_id if account else None),
        started_at=call.started_at,
        answered_at=call.answered_at,
        forwarded_legs=call.hunt.legs_in_progress,
    )


def outcome_of(status: int) -> CallOutcome:
    """The outcome a final status means for the CDR."""
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


def called(attempt: CallAttempt) -> str:
    """What a CDR records as called: for the public network the E.164 number (or the emergency
    short number) rating prices (RAT-2 prefixes are E.164), otherwise what was dialled."""
    destination = attempt.destination
    return destination.e164 if isinstance(destination, ExternalDestination) else attempt.dialled


def call_record(call: CallController, status: int, outcome: CallOutcome, ended_at: datetime) -> CdrRecord:
    """The call's CDR, ended now with ``status`` and ``outcome``."""
    billed = outcome is not CallOutcome.NO_ACK
    attempt = call.attempt
    account = call.account
    request = call.request
    return CdrRecord(
        call_id=call.call_id,
        caller=(attempt.presented_caller_id if attempt else request.from_addr.uri.user) or "",
        callee=called(attempt) if attempt else (call.shown_callee or request.uri.user or ""),
        account_id=attempt.account_id if attempt else (account.account_id if account else None),
        device_id=account.device_id if account else None,
        trunk_id=attempt.trunk_id if attempt else None,
        direction=call.direction,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=ended_at,
        billable_seconds=billable_seconds(call.answered_at, ended_at) if billed else 0,
        outcome=outcome,
        sip_status=status,
        refusal_rule_id=call.refusal_rule,
        emergency=attempt.emergency if attempt else False,
        customer_trunk_id=attempt.customer_trunk_id if attempt else None,
        disposition=call.disposition if billed else NOT_ACKNOWLEDGED,
    )


def journal_entry(call: CallController) -> JournalEntry | None:
    """What a CDR would need if the node died now (None before the policy authorised the call)."""
    attempt = call.attempt
    if attempt is None:
        return None
    callee = call.callee_leg
    account = call.account
    return JournalEntry(
        call_id=call.call_id,
        caller_tag=call.caller_leg.local_tag,
        callee_call_id=callee.call_id if callee is not None else None,
        callee_tag=callee.local_tag if callee is not None else None,
        started_at=call.started_at,
        answered_at=call.answered_at,
        caller=attempt.presented_caller_id,
        callee=called(attempt),
        account_id=attempt.account_id,
        device_id=account.device_id if account else None,
        trunk_id=attempt.trunk_id,
        customer_trunk_id=attempt.customer_trunk_id,
        direction=call.direction,
        emergency=attempt.emergency,
    )
