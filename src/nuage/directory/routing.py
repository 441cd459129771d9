"""Call routing of the directory (issue #15): users' call forwarding and do-not-disturb, ring groups.

A forward's destination is what a phone of the user would dial (an extension, a SIP username, a
ring group's extension, or a number inside or outside the platform); the SIP plane resolves it
with the dial plan of the user's account when a call is forwarded. EMG-2: a forward never leads to
an emergency number (the emergency services would see a caller ID whose address is not where the
caller stands); the rule is checked here when a forward is set, and again when a call is forwarded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nuage.errors import InvalidInput, TermViolation

#: a forward's or a fallback's destination: what a phone would dial (no SIP URI, no spaces)
DESTINATION = re.compile(r"^\+?[A-Za-z0-9._-]{2,32}$")
MIN_NO_ANSWER_S = 5
MAX_NO_ANSWER_S = 120
MAX_MEMBERS = 50
MIN_RING_S = 5
MAX_RING_S = 600


class HuntStrategy(StrEnum):
    """How a ring group rings its members."""

    SIMULTANEOUS = "simultaneous"  # every member at once; the first answer wins
    SEQUENTIAL = "sequential"  # one member after the other, in the group's order
    ROUND_ROBIN = "round-robin"  # one after the other, starting after the member rung first last time


@dataclass(frozen=True)
class CallForwarding:
    """A user's forwarding and do-not-disturb; None: that kind of forward is off.

    ``dnd``: calls to the user get 486 Busy Here, or go to the busy forward when there is one.
    """

    user_id: str
    account_id: str
    updated_at: datetime
    unconditional: str | None = None
    busy: str | None = None
    no_answer: str | None = None
    no_answer_s: int = 20
    unregistered: str | None = None
    dnd: bool = False


@dataclass(frozen=True)
class RingGroup:
    """A ring group (hunt group): its members (user ids, in order) rung by ``strategy``.

    ``member_timeout_s``: how long one member rings (sequential and round-robin); ``timeout_s``:
    how long the group rings in all before the call goes to ``fallback`` (a destination as a phone
    would dial it), or is answered 480 when there is none.
    """

    id: str
    account_id: str
    name: str
    created_at: datetime
    strategy: HuntStrategy = HuntStrategy.SIMULTANEOUS
    members: tuple[str, ...] = ()
    extension: str | None = None
    member_timeout_s: int = 15
    timeout_s: int = 60
    fallback: str | None = None


def check_destination(field: str, destination: str, *, emergency: bool) -> str:
    """A forward's (or fallback's) destination, checked; EMG-2: never an emergency number.

    ``emergency`` says whether the destination is one of the emergency numbers (built in or listed
    by the operator); the caller of this function looks it up.
    """
    text = destination.strip()
    if not DESTINATION.match(text):
        raise InvalidInput(field, "A destination is an extension, a SIP username or a phone number")
    if emergency:
        raise TermViolation(
            "EMG-2",
            "Calls cannot be forwarded to an emergency number: the emergency services would not "
            "see where the caller stands",
            field=field,
        )
    return text


def check_no_answer_seconds(seconds: int) -> int:
    """How long a user's phones ring before the no-answer forward: 5 to 120 seconds."""
    if not MIN_NO_ANSWER_S <= seconds <= MAX_NO_ANSWER_S:
        raise InvalidInput(
            "no_answer_s", f"Ring {MIN_NO_ANSWER_S} to {MAX_NO_ANSWER_S} seconds before forwarding"
        )
    return seconds


def check_ring_seconds(field: str, seconds: int) -> int:
    """A ring group's timeouts: 5 to 600 seconds."""
    if not MIN_RING_S <= seconds <= MAX_RING_S:
        raise InvalidInput(field, f"A ring time is {MIN_RING_S} to {MAX_RING_S} seconds")
    return seconds


def check_members(members: tuple[str, ...]) -> tuple[str, ...]:
    """A ring group's members: at most 50 users, each once."""
    if len(members) > MAX_MEMBERS:
        raise InvalidInput("members", f"A ring group has at most {MAX_MEMBERS} members")
    if len(set(members)) != len(members):
        raise InvalidInput("members", "A user is a member of a ring group once")
    return members
