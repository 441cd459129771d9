"""Ring groups (issue #15): groups of users an extension (or a number's owner) rings together or in turn.

Members are users of the group's account who have telephony (CFG-2); an extension is shared by
users and groups of an account (one owner each) and never an emergency number (EMG-4); the fallback
is a destination as a phone dials it, never an emergency number (EMG-2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.routing import (
    HuntStrategy,
    RingGroup,
    check_destination,
    check_members,
    check_ring_seconds,
)
from nuage.directory.rules import check_extension, clean_name
from nuage.errors import Conflict, InvalidInput, TermViolation
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.directory.forwarding import is_emergency
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id


@dataclass(frozen=True, kw_only=True)
class RingGroupChanges:
    """What a change of a ring group sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    strategy: HuntStrategy | Unset = UNSET
    members: tuple[str, ...] | Unset = UNSET
    extension: str | None | Unset = UNSET
    member_timeout_s: int | Unset = UNSET
    timeout_s: int | Unset = UNSET
    fallback: str | None | Unset = UNSET


def extension_taken(uow: UnitOfWork, account_id: str, extension: str, *, group_id: str | None = None) -> bool:
    """Whether a ring group of the account (other than ``group_id``) has this extension."""
    other = uow.ring_groups.find_by(account_id=account_id, extension=extension)
    return other is not None and other.id != group_id


def _check(uow: UnitOfWork, ctx: Context, group: RingGroup) -> RingGroup:
    check_members(group.members)
    for user_id in group.members:
        user = uow.users.find(user_id)
        if user is None or user.account_id != group.account_id or not ctx.scope.can_see(user.account_id):
            raise InvalidInput("members", f"No such user in the account: {user_id}")
        if user.no_service:
            raise TermViolation(
                "CFG-2", f"{user.name} is a no-service user: no calls to ring", user_id=user.id
            )
    if group.extension is not None:
        check_extension(group.extension, is_emergency(uow, group.extension))
        if uow.users.find_by(account_id=group.account_id, extension=group.extension) is not None or (
            extension_taken(uow, group.account_id, group.extension, group_id=group.id)
        ):
            raise Conflict(f"Extension {group.extension} is taken", field="extension")
    if group.fallback is not None:
        fallback = check_destination("fallback", group.fallback, emergency=is_emergency(uow, group.fallback))
        if fallback == group.extension:
            raise InvalidInput("fallback", "A ring group cannot fall back to itself")
        group = replace(group, fallback=fallback)
    check_ring_seconds("member_timeout_s", group.member_timeout_s)
    check_ring_seconds("timeout_s", group.timeout_s)
    return replace(group, name=clean_name(group.name), strategy=HuntStrategy(group.strategy))


def add_ring_group(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    strategy: HuntStrategy = HuntStrategy.SIMULTANEOUS,
    members: tuple[str, ...] = (),
    extension: str | None = None,
    member_timeout_s: int = 15,
    timeout_s: int = 60,
    fallback: str | None = None,
) -> RingGroup:
    """A new ring group of the account (see the module for what is checked)."""
    get_customer(uow, ctx, account_id)
    group = RingGroup(
        id=new_id("grp"),
        account_id=account_id,
        name=name,
        created_at=ctx.clock.now(),
        strategy=strategy,
        members=tuple(members),
        extension=extension,
        member_timeout_s=member_timeout_s,
        timeout_s=timeout_s,
        fallback=fallback,
    )
    group = _check(uow, ctx, group)
    uow.ring_groups.add(group)
    return group


def update_ring_group(uow: UnitOfWork, ctx: Context, group_id: str, change: RingGroupChanges) -> RingGroup:
    """Change a ring group (checked as a new one)."""
    group = get_visible(uow.ring_groups, ctx, group_id)
    values = given(change)
    if "members" in values:
        values["members"] = tuple(values["members"])
    updated = _check(uow, ctx, replace(group, **values))
    uow.ring_groups.update(updated)
    return updated


def remove_ring_group(uow: UnitOfWork, ctx: Context, group_id: str) -> None:
    """Remove a ring group; its numbers are unassigned (forwards to its extension then get 404)."""
    group = get_visible(uow.ring_groups, ctx, group_id)
    for number in uow.numbers.list(ring_group_id=group.id):
        uow.numbers.update(replace(number, ring_group_id=None))
    uow.ring_groups.remove(group.id)


def leave_groups(uow: UnitOfWork, account_id: str, user_id: str) -> None:
    """A user removed: out of every ring group of the account."""
    for group in uow.ring_groups.list(account_id=account_id):
        if user_id in group.members:
            members = tuple(member for member in group.members if member != user_id)
            uow.ring_groups.update(replace(group, members=members))
