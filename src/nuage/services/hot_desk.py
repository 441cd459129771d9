"""CFG-13 hot-desking, the control plane: users' PINs and who is logged in on which shared phone.

A user logs in on a shared phone (a device with ``hot_desk``) of their own account, with a feature
code and their PIN on the phone (the SIP data plane) or through these use cases (the API); the
phone then rings and calls as that user until logout or the timeout. A session belongs to the
account of its phone (TEN-4). EMG-3: the emergency location stays the phone's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from nuage.directory.model import HotDeskSession, User
from nuage.directory.rules import check_hot_desk_pin
from nuage.errors import InvalidInput, NotFound, TermViolation
from nuage.services.access import hash_secret
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible

#: CFG-13: a login ends by itself after this unless the setting ``sip.hot_desk_timeout_hours`` says otherwise
DEFAULT_HOT_DESK_TIMEOUT = timedelta(hours=12)

KIND = "hot-desk session"


# --- PINs -------------------------------------------------------------------------------------------


def set_hot_desk_pin(uow: UnitOfWork, ctx: Context, user_id: str, pin: str) -> User:
    """CFG-13: set the PIN a user logs in on shared phones with (argon2-hashed, never shown)."""
    user = get_visible(uow.users, ctx, user_id)
    if user.no_service:
        raise TermViolation(
            "CFG-2", f"{user.name} is a no-service user: no telephony, so no hot-desk PIN", user_id=user.id
        )
    check_hot_desk_pin(pin, user.extension)
    updated = replace(user, hot_desk_pin_hash=hash_secret(pin))
    uow.users.update(updated)
    return updated


def clear_hot_desk_pin(uow: UnitOfWork, ctx: Context, user_id: str) -> User:
    """CFG-13: remove a user's PIN; the user can no longer log in on a shared phone."""
    user = get_visible(uow.users, ctx, user_id)
    updated = replace(user, hot_desk_pin_hash=None)
    uow.users.update(updated)
    return updated


# --- sessions ---------------------------------------------------------------------------------------


def list_hot_desk_sessions(
    uow: UnitOfWork,
    ctx: Context,
    *,
    account_id: str | None = None,
    user_id: str | None = None,
    device_id: str | None = None,
) -> list[HotDeskSession]:
    """CFG-13: the sessions in force on the shared phones the caller may see (TEN-4), by start."""
    where: dict[str, Any] = {}
    if user_id is not None:
        where["user_id"] = user_id
    if device_id is not None:
        where["device_id"] = device_id
    visible = ctx.scope.visible_ids
    if visible is None and account_id is None:
        sessions = uow.hot_desk_sessions.list(order_by=("started_at", "device_id"), **where)
    else:
        accounts = set(visible) if visible is not None else {account_id}
        if account_id is not None:
            accounts &= {account_id}
        if not accounts:
            return []
        phones = uow.devices.list(account_id=sorted(accounts), hot_desk=True, order_by=("id",))
        if not phones:
            return []
        ids = [phone.id for phone in phones if device_id is None or phone.id == device_id]
        where["device_id"] = ids
        sessions = uow.hot_desk_sessions.list(order_by=("started_at", "device_id"), **where)
    now = ctx.clock.now()
    return [session for session in sessions if session.active_at(now)]


def get_hot_desk_session(uow: UnitOfWork, ctx: Context, device_id: str) -> HotDeskSession:
    """CFG-13: who is logged in on this shared phone; NotFound when nobody is (or it is not visible)."""
    session = uow.hot_desk_sessions.find(device_id)
    phone = uow.devices.find(device_id) if session is not None else None
    if (
        session is None
        or phone is None
        or not ctx.scope.can_see(phone.account_id)
        or not session.active_at(ctx.clock.now())
    ):
        raise NotFound(KIND, device_id)
    return session


def log_in(
    uow: UnitOfWork,
    ctx: Context,
    device_id: str,
    user_id: str,
    *,
    timeout: timedelta = DEFAULT_HOT_DESK_TIMEOUT,
) -> HotDeskSession:
    """CFG-13: log a user in on a shared phone of their account, ending their login elsewhere.

    A user is on one shared phone at a time and a phone has one user: any other session of the
    user, and the phone's previous user, are logged out.
    """
    phone = get_visible(uow.devices, ctx, device_id)
    user = get_visible(uow.users, ctx, user_id)
    if user.account_id != phone.account_id:
        raise InvalidInput("user_id", "The user belongs to another account than the shared phone")
    if not phone.hot_desk:
        raise TermViolation(
            "CFG-13",
            f"{phone.label} is not a shared phone: users log in only on hot-desk phones",
            device_id=phone.id,
        )
    if user.no_service:
        raise TermViolation(
            "CFG-2", f"{user.name} is a no-service user: no telephony, so no hot-desk login", user_id=user.id
        )
    if timeout <= timedelta(0):
        raise InvalidInput("timeout", "The hot-desk timeout is positive")
    for previous in uow.hot_desk_sessions.list(user_id=user.id, order_by=("device_id",)):
        uow.hot_desk_sessions.remove(previous.device_id)
    if uow.hot_desk_sessions.find(phone.id) is not None:
        uow.hot_desk_sessions.remove(phone.id)
    now = ctx.clock.now()
    session = HotDeskSession(phone.id, user.id, now, now + timeout)
    uow.hot_desk_sessions.add(session)
    return session


def log_out(uow: UnitOfWork, ctx: Context, device_id: str) -> None:
    """CFG-13: end the session on a shared phone; it is back to nobody's."""
    session = get_hot_desk_session(uow, ctx, device_id)
    uow.hot_desk_sessions.remove(session.device_id)


def end_sessions(uow: UnitOfWork, *, user_id: str | None = None, device_id: str | None = None) -> None:
    """CFG-13: log out a user (everywhere) or a phone, e.g. when it is removed or changes."""
    if user_id is not None:
        for session in uow.hot_desk_sessions.list(user_id=user_id, order_by=("device_id",)):
            uow.hot_desk_sessions.remove(session.device_id)
    if device_id is not None and uow.hot_desk_sessions.find(device_id) is not None:
        uow.hot_desk_sessions.remove(device_id)
