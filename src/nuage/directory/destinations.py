"""Where an automated route sends a call: an auto-attendant option, a schedule's branch, a number.

A destination is written ``kind:target`` (``user:usr_1``, ``extension:201``, ``menu:ivr_1``,
``external:+3222555123``) or just ``kind`` for those without a target (``hangup``,
``dial_by_extension``), so it is one bounded string in storage, the API and the CLI. This module
only reads and checks the form; whether the target exists in the account is the use cases' check,
and the SIP plane applies its own rules when it places the call (CAP-3 capacity, SIP-2: a call
sent out to an external number presents a number of the account).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from nuage.shared.phone import dialled_to_e164


class DestinationKind(StrEnum):
    """What a destination leads to."""

    USER = "user"  # a user's phones ring
    EXTENSION = "extension"  # an extension of the account, as dialled
    GROUP = "group"  # a ring group of the account
    VOICEMAIL = "voicemail"  # a user's voicemail box
    MENU = "menu"  # another auto-attendant menu
    SCHEDULE = "schedule"  # a schedule chooses by the time of the call
    CONFERENCE = "conference"  # a conference room (its PIN is asked)
    MEETING = "meeting"  # a Web Meeting room's sound (MTG-1: its PIN is asked, then the phone is in)
    EXTERNAL = "external"  # a number of the public network (CAP-3 and SIP-2 apply)
    DIAL_BY_EXTENSION = "dial_by_extension"  # the caller keys an extension
    HANGUP = "hangup"  # the call ends


#: kinds that name no target
TARGETLESS = frozenset({DestinationKind.DIAL_BY_EXTENSION, DestinationKind.HANGUP})
#: kinds whose target is the id of an item of the account
BY_ID = frozenset(
    {
        DestinationKind.USER,
        DestinationKind.GROUP,
        DestinationKind.VOICEMAIL,
        DestinationKind.MENU,
        DestinationKind.SCHEDULE,
        DestinationKind.CONFERENCE,
        DestinationKind.MEETING,
    }
)
MAX_LENGTH = 80
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EXTENSION = re.compile(r"^[0-9]{1,8}$")


@dataclass(frozen=True, slots=True)
class Destination:
    """One place a call can be sent."""

    kind: DestinationKind
    target: str | None = None

    @classmethod
    def parse(cls, text: str) -> Destination:
        """Read ``kind[:target]``; ValueError (naming what is wrong) when it is not a destination."""
        if len(text) > MAX_LENGTH:
            raise ValueError(f"a destination has at most {MAX_LENGTH} characters")
        name, _, target = text.strip().partition(":")
        try:
            kind = DestinationKind(name)
        except ValueError:
            kinds = ", ".join(k.value for k in DestinationKind)
            raise ValueError(f"unknown destination kind {name!r} (one of {kinds})") from None
        if kind in TARGETLESS:
            if target:
                raise ValueError(f"{kind.value} takes no target")
            return cls(kind)
        if not target:
            raise ValueError(f"{kind.value} needs a target ({kind.value}:...)")
        if kind in BY_ID and not _ID.match(target):
            raise ValueError(f"{target!r} is not an id")
        if kind is DestinationKind.EXTENSION and not _EXTENSION.match(target):
            raise ValueError(f"{target!r} is not an extension (1 to 8 digits)")
        if kind is DestinationKind.EXTERNAL:
            e164 = dialled_to_e164(target, "BE")
            if e164 is None:
                raise ValueError(f"{target!r} is not a phone number")
            target = e164
        return cls(kind, target)

    def __str__(self) -> str:
        return self.kind.value if self.target is None else f"{self.kind.value}:{self.target}"


@dataclass
class NumberApplication:
    """A number of the account answered by the platform itself: a menu, a schedule, a conference
    room, a Web Meeting room's dial-in (the number is then assigned to no user, device or trunk)."""

    number_id: str
    account_id: str
    destination: str  # ``Destination`` text: menu, schedule or conference
    created_at: datetime


#: what a number may lead to by itself (the other kinds go through a menu or a schedule)
NUMBER_KINDS = frozenset(
    {DestinationKind.MENU, DestinationKind.SCHEDULE, DestinationKind.CONFERENCE, DestinationKind.MEETING}
)
