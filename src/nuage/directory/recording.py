"""Which calls of an account are recorded, and for how long recordings are kept (CFG-9).

The administrator who switched recording on chooses what is recorded: every call of the account,
the calls of selected users, or the calls of selected numbers; calls made, received, or both. A
retention period (in days) bounds how long a recording is held: older ones are deleted (file and
row) and leave the recording volume billed. Pure rules: the SIP plane describes a call's parties
(``CallParties``), the account's choice is resolved to a ``RecordingRule``, and ``records_call``
decides. A selected number is matched whatever form the call carries it in (``+32 2...``,
``0032 2...``, the national ``02...`` of the operator's home region, ``322...``): both sides are
read through the platform's one E.164 normaliser (``nuage.shared.phone``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from nuage.errors import InvalidInput
from nuage.shared.phone import DEFAULT_REGION, dialled_to_e164

#: CFG-9 bounds: how long a recording may be kept, and how many users/numbers a selection names
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650
MAX_SELECTED = 500


class RecordingScope(StrEnum):
    """CFG-9: whose calls are recorded."""

    ALL = "all"  # every call of the account
    USERS = "users"  # the calls of the selected users
    NUMBERS = "numbers"  # the calls on the selected numbers of the account


class RecordingDirection(StrEnum):
    """CFG-9: which calls of the selected parties: those they make, receive, or both."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """CFG-9: an account's choice, resolved for the SIP plane (the numbers as E.164)."""

    active: bool  # switched on, the legal duties acknowledged
    scope: RecordingScope = RecordingScope.ALL
    direction: RecordingDirection = RecordingDirection.BOTH
    user_ids: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    region: str = DEFAULT_REGION  # how a national number a call carries is read (the home region)


@dataclass(frozen=True, slots=True)
class CallParties:
    """CFG-9: a call of the account, as the recording rule sees it.

    ``made``: one of the account's users, phones or PBX placed it; ``received``: it rings one of
    the account's users or numbers (an internal call is both). ``numbers_called`` are the
    account's numbers it arrived on, ``numbers_presented`` those it presents going out.
    """

    made: bool
    received: bool
    caller_user_id: str | None = None
    callee_user_ids: frozenset[str] = frozenset()
    numbers_called: frozenset[str] = frozenset()
    numbers_presented: frozenset[str] = frozenset()


def as_e164(numbers: Iterable[str], region: str = DEFAULT_REGION) -> frozenset[str]:
    """CFG-9: numbers as a call carries them, in E.164 through the platform's one normaliser:
    ``+32 2 300 01 01``, ``0032 2...``, the national ``02 300 01 01`` (read in ``region``) and the
    international digits without ``+`` are one number; what is no number (an extension, a SIP
    username) is left out."""
    return frozenset(e164 for number in numbers if (e164 := dialled_to_e164(number, region)) is not None)


def records_call(rule: RecordingRule, parties: CallParties | None) -> bool:
    """CFG-9: whether this call is recorded: recording is on and one of its parties or numbers is
    selected, in a direction the administrator chose. ``parties`` None is a call of no single
    party (a conference room's mix): recorded only when every call of the account is."""
    if not rule.active:
        return False
    if parties is None:
        return rule.scope is RecordingScope.ALL
    made = rule.direction in (RecordingDirection.OUTBOUND, RecordingDirection.BOTH) and parties.made
    received = rule.direction in (RecordingDirection.INBOUND, RecordingDirection.BOTH) and parties.received
    match rule.scope:
        case RecordingScope.ALL:
            return made or received
        case RecordingScope.USERS:
            return (made and parties.caller_user_id in rule.user_ids) or (
                received and bool(parties.callee_user_ids & rule.user_ids)
            )
        case RecordingScope.NUMBERS:
            selected = as_e164(rule.numbers, rule.region)
            return (made and bool(as_e164(parties.numbers_presented, rule.region) & selected)) or (
                received and bool(as_e164(parties.numbers_called, rule.region) & selected)
            )


def check_retention_days(days: int | None) -> None:
    """CFG-9: a retention period is a whole number of days, 1 to 3650 (None: kept until deleted)."""
    if days is not None and not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(
            "retention_days", f"A retention period is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days"
        )


def check_selection(scope: RecordingScope, user_ids: tuple[str, ...], number_ids: tuple[str, ...]) -> None:
    """CFG-9: a selection names at most 500 users and 500 numbers, and the scope's own list is not
    empty (recording "the selected users" with none selected would record nothing)."""
    for name, items in (("user_ids", user_ids), ("number_ids", number_ids)):
        if len(items) > MAX_SELECTED:
            raise InvalidInput(name, f"A recording selection names at most {MAX_SELECTED} items")
    if scope is RecordingScope.USERS and not user_ids:
        raise InvalidInput("user_ids", "Select at least one user whose calls are recorded")
    if scope is RecordingScope.NUMBERS and not number_ids:
        raise InvalidInput("number_ids", "Select at least one number whose calls are recorded")


def expired(created_at: datetime, now: datetime, retention_days: int | None) -> bool:
    """CFG-9: a recording older than its account's retention period is deleted."""
    return retention_days is not None and now - created_at > timedelta(days=retention_days)
