"""The routing ports of the SIP data plane (issue #15): users' forwarding and do-not-disturb, ring groups.

``CallRouting`` is what the hunt (``nuage.sip.b2bua.hunt``) and the feature codes
(``nuage.sip.b2bua.forwarding``) need: the rules are read from the adapter's snapshot in memory
(a call's set-up never waits on the database); a feature code stores a change through it.
``MemoryRouting`` is the in-memory implementation for tests and lab set-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from nuage.sip.ports import SipAccount, UserDestination


@dataclass(frozen=True, slots=True)
class ForwardingRule:
    """A user's forwards (what a phone of the user would dial; None: off) and do-not-disturb."""

    unconditional: str | None = None
    busy: str | None = None
    no_answer: str | None = None
    no_answer_s: float = 20.0
    unregistered: str | None = None
    dnd: bool = False


@dataclass(frozen=True, slots=True)
class HuntGroup:
    """A ring group as the hunt rings it: member user ids in order, ``strategy`` one of
    ``simultaneous``, ``sequential``, ``round-robin``; timeouts in seconds."""

    group_id: str
    account_id: str
    strategy: str
    members: tuple[str, ...]
    member_timeout_s: float = 15.0
    timeout_s: float = 60.0
    fallback: str | None = None
    caller_id: str | None = None  # SIP-2: the account's main number, presented when the fallback is external


@dataclass(frozen=True, slots=True)
class RoutedUser:
    """A user a call may be forwarded from: who they are and where they ring."""

    user_id: str
    account_id: str
    name: str
    caller_id: str | None  # SIP-2: the user's own number, presented on a forwarded external leg
    destination: UserDestination | None  # None: the user has no device

    def as_caller(self) -> SipAccount:
        """The user as the caller of a forwarded leg (what the dial plan resolves a forward for)."""
        return SipAccount(
            device_id=f"forward:{self.user_id}",
            account_id=self.account_id,
            user_id=self.user_id,
            username=self.user_id,
            password="",
            display_name=self.name,
            caller_id_e164=self.caller_id,
        )


class CallRouting(Protocol):
    """Users' forwarding and ring groups, read from memory; feature codes store changes."""

    def forwarding(self, user_id: str) -> ForwardingRule | None:
        """The user's forwarding, or None (nothing set)."""
        ...

    def user(self, user_id: str) -> RoutedUser | None:
        """The user (None: unknown)."""
        ...

    def group(self, group_id: str) -> HuntGroup | None:
        """The ring group (None: unknown)."""
        ...

    async def set_forwarding(self, phone: SipAccount, **change: str | bool | float | None) -> str | None:
        """Store a change of the forwarding of ``phone``'s user (fields of ``ForwardingRule``).

        Returns None when stored, else the ID of the rule that refused it (EMG-2: an emergency
        number; CFG-2: no telephony) or ``"invalid"``.
        """
        ...


class MemoryRouting:
    """``CallRouting`` from plain data (tests and lab set-ups); EMG-2 checked against ``emergency``."""

    def __init__(self, emergency: frozenset[str] = frozenset({"112", "100", "101"})) -> None:
        self.rules: dict[str, ForwardingRule] = {}
        self.users: dict[str, RoutedUser] = {}
        self.groups: dict[str, HuntGroup] = {}
        self.emergency = emergency

    def forwarding(self, user_id: str) -> ForwardingRule | None:
        """See ``CallRouting``."""
        return self.rules.get(user_id)

    def user(self, user_id: str) -> RoutedUser | None:
        """See ``CallRouting``."""
        return self.users.get(user_id)

    def group(self, group_id: str) -> HuntGroup | None:
        """See ``CallRouting``."""
        return self.groups.get(group_id)

    async def set_forwarding(self, phone: SipAccount, **change: str | bool | float | None) -> str | None:
        """See ``CallRouting``."""
        if phone.user_id is None:
            return "invalid"
        if any(value in self.emergency for value in change.values() if isinstance(value, str)):
            return "EMG-2"
        current = self.rules.get(phone.user_id, ForwardingRule())
        self.rules[phone.user_id] = replace(current, **change)  # type: ignore[arg-type]
        return None
