"""Users (CFG-1, CFG-2): declare, change and remove the people of an account."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nuage.directory.model import Role, User
from nuage.directory.rules import (
    check_extension,
    check_no_service_change,
    check_no_service_role,
    clean_email,
    clean_name,
)
from nuage.errors import Conflict
from nuage.services.context import Context
from nuage.services.directory.changes import UNSET, Unset, given
from nuage.services.directory.forwarding import forget_forwarding
from nuage.services.directory.ring_groups import extension_taken, leave_groups
from nuage.services.hot_desk import end_sessions
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer
from nuage.shared.ids import new_id
from nuage.terms.emergency import EMERGENCY_NUMBERS


@dataclass(frozen=True, kw_only=True)
class UserChanges:
    """What a change of a user sets; ``UNSET`` fields stay as they are."""

    name: str | Unset = UNSET
    role: Role | Unset = UNSET
    no_service: bool | Unset = UNSET
    email: str | None | Unset = UNSET
    extension: str | None | Unset = UNSET
    language: str | None | Unset = UNSET
    emergency_number_id: str | None | Unset = UNSET


def _check_free_extension(uow: UnitOfWork, account_id: str, extension: str, user_id: str | None) -> None:
    """EMG-4 (built in or listed by the operator), then one user or room per extension in an account."""
    check_extension(
        extension, extension in EMERGENCY_NUMBERS or uow.emergency_numbers.find(extension) is not None
    )
    other = uow.users.find_by(account_id=account_id, extension=extension)
    if (other is not None and other.id != user_id) or extension_taken(uow, account_id, extension):
        raise Conflict(f"Extension {extension} is taken", field="extension")
    if uow.conference_rooms.find_by(account_id=account_id, extension=extension) is not None:
        raise Conflict(f"Extension {extension} is a conference room's", field="extension")


def _check_free_email(uow: UnitOfWork, email: str | None, user_id: str | None, message: str) -> None:
    other = uow.users.find_by(email=email) if email else None
    if other is not None and other.id != user_id:
        raise Conflict(message, field="email")


def add_user(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    name: str,
    *,
    role: Role = Role.USER,
    no_service: bool = False,
    email: str | None = None,
    extension: str | None = None,
    language: str | None = None,
    communal_room_id: str | None = None,
) -> User:
    """CFG-1: declare a user; CFG-2: administrators and supervisors may be no-service."""
    get_customer(uow, ctx, account_id)
    role = Role(role)
    check_no_service_role(role, no_service)
    if extension is not None:
        _check_free_extension(uow, account_id, extension, None)
    email = clean_email(email)
    _check_free_email(uow, email, None, f"E-mail {email} is already used by a user")
    if communal_room_id is not None:
        get_visible(uow.rooms, ctx, communal_room_id, account_id=account_id)
    user = User(
        id=new_id("usr"),
        account_id=account_id,
        name=clean_name(name),
        created_at=ctx.clock.now(),
        role=role,
        no_service=no_service,
        email=email,
        extension=extension,
        language=language,
        communal_room_id=communal_room_id,
    )
    uow.users.add(user)
    return user


def update_user(uow: UnitOfWork, ctx: Context, user_id: str, change: UserChanges) -> User:
    """Change a user; CFG-2: switching to no-service requires owning no device."""
    user = get_visible(uow.users, ctx, user_id)
    values = given(change)
    if isinstance(change.name, str):
        values["name"] = clean_name(change.name)
    if isinstance(change.role, str):
        values["role"] = Role(change.role)
    if not isinstance(change.email, Unset):
        values["email"] = clean_email(change.email)
        _check_free_email(uow, values["email"], user.id, "E-mail already used by a user")
    if isinstance(change.extension, str):
        _check_free_extension(uow, user.account_id, change.extension, user.id)
    if isinstance(change.emergency_number_id, str):
        get_visible(uow.numbers, ctx, change.emergency_number_id, account_id=user.account_id)
    updated = replace(user, **values)
    check_no_service_role(updated.role, updated.no_service)
    check_no_service_change(updated, uow.devices.count(user_id=user.id))
    if updated.no_service:
        end_sessions(uow, user_id=user.id)  # CFG-2: no telephony, so no hot-desk login either
    uow.users.update(updated)
    return updated


def remove_user(uow: UnitOfWork, ctx: Context, user_id: str) -> None:
    """Remove a user; their devices stay, unlinked, and numbers are unassigned (a CNT-4 audit shows them)."""
    user = get_visible(uow.users, ctx, user_id)
    for device in uow.devices.list(user_id=user.id):
        uow.devices.update(replace(device, user_id=None))
    for number in uow.numbers.list(user_id=user.id):
        uow.numbers.update(replace(number, user_id=None))
    end_sessions(uow, user_id=user.id)  # CFG-13: logged out of any shared phone
    forget_forwarding(uow, user.id)
    leave_groups(uow, user.account_id, user.id)
    uow.users.remove(user.id)
