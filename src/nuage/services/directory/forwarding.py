"""Call forwarding and do-not-disturb of a user (issue #15): read, set and clear.

A user without settings has every forward off and do-not-disturb off. EMG-2: a forward never leads
to an emergency number (``nuage.directory.routing.check_destination``); a forward to the user's own
extension is refused (a loop of one); longer loops are cut when a call is forwarded (the SIP plane
keeps the users a call went through). CFG-2: a no-service user has no telephony to forward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import User
from nuage.directory.routing import CallForwarding, check_destination, check_no_answer_seconds
from nuage.errors import InvalidInput, TermViolation
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.terms.emergency import EMERGENCY_NUMBERS

FORWARDS = ("unconditional", "busy", "no_answer", "unregistered")


@dataclass(frozen=True, kw_only=True)
class ForwardingChanges:
    """What a change of a user's forwarding sets; ``UNSET`` fields stay, ``None`` turns a forward off."""

    unconditional: str | None | Unset = UNSET
    busy: str | None | Unset = UNSET
    no_answer: str | None | Unset = UNSET
    no_answer_s: int | Unset = UNSET
    unregistered: str | None | Unset = UNSET
    dnd: bool | Unset = UNSET


def is_emergency(uow: UnitOfWork, number: str) -> bool:
    """EMG-4: whether ``number`` is an emergency number (built in or listed by the operator)."""
    text = number.strip()
    return text in EMERGENCY_NUMBERS or uow.emergency_numbers.find(text) is not None


def _default(user: User, ctx: Context) -> CallForwarding:
    return CallForwarding(user.id, user.account_id, ctx.clock.now())


def get_forwarding(uow: UnitOfWork, ctx: Context, user_id: str) -> CallForwarding:
    """The user's forwarding (every forward off when the user never set one); TEN-4."""
    user = get_visible(uow.users, ctx, user_id)
    return uow.forwarding.find(user.id) or _default(user, ctx)


def set_forwarding(uow: UnitOfWork, ctx: Context, user_id: str, change: ForwardingChanges) -> CallForwarding:
    """Change the user's forwarding and do-not-disturb (EMG-2, CFG-2; see the module)."""
    user = get_visible(uow.users, ctx, user_id)
    if user.no_service:
        raise TermViolation(
            "CFG-2", f"{user.name} is a no-service user: no calls to forward", user_id=user.id
        )
    values = given(change)
    for name in FORWARDS:
        value = values.get(name)
        if isinstance(value, str):
            values[name] = destination = check_destination(name, value, emergency=is_emergency(uow, value))
            if destination in (user.extension, user.id):
                raise InvalidInput(name, "A user cannot forward calls to themselves")
    if isinstance(change.no_answer_s, int):
        check_no_answer_seconds(change.no_answer_s)
    current = uow.forwarding.find(user.id)
    updated = replace(current or _default(user, ctx), **values, updated_at=ctx.clock.now())
    if current is None:
        uow.forwarding.add(updated)
    else:
        uow.forwarding.update(updated)
    return updated


def forget_forwarding(uow: UnitOfWork, user_id: str) -> None:
    """A user removed: their forwarding goes with them."""
    if uow.forwarding.find(user_id) is not None:
        uow.forwarding.remove(user_id)
