"""Users (CFG-1, CFG-2), their portal passwords and hot-desk PINs (CFG-13).

``/users``, ``/users/{id}/password``, ``/users/{id}/hot-desk-pin``.

Customers' users are directory users; operator staff and partner administrators are users of the
operator's or the partner's own account (administrators with no telephony, CFG-2).

A change of role and a new password take effect on the user's existing tokens at once on this node
(a demoted administrator's token is refused by the next request), and on the other web nodes within
``api.state_refresh_s`` plus one refresh (``nuage.api.state``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import StringConstraints

from nuage.api.caching import write_response
from nuage.api.crud import FORBIDDEN, ID, INVALID, NOT_FOUND, Resource, described, register, responses
from nuage.api.deps import Call, call
from nuage.api.errors import Forbidden, unprocessable
from nuage.api.schemas import Email, Id, Input, Name, Output, changes
from nuage.directory.model import Role, User
from nuage.directory.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from nuage.errors import InvalidInput
from nuage.services import access as a
from nuage.services import hot_desk as h
from nuage.services.directory.users import UserChanges, add_user, remove_user, update_user
from nuage.tenancy.model import PartyKind

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^(en|fr|nl)$")]
Password = Annotated[str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class UserCreate(Input):
    """CFG-1: one user per person, whatever the number of devices; CFG-2: no-service option.

    ``account_id`` defaults to the caller's account. On the operator's or a partner's account the
    user is a staff administrator (portal access, no telephony).
    """

    account_id: Id | None = None
    name: Name
    role: Role = Role.USER
    no_service: bool = False
    email: Email | None = None
    extension: Extension | None = None
    language: LanguageCode | None = None
    communal_room_id: Id | None = None
    password: Password | None = None


class UserUpdate(Input):
    """Change a user; CFG-2: a no-service user may own no device."""

    name: Name | None = None
    role: Role | None = None
    no_service: bool | None = None
    email: Email | None = None
    extension: Extension | None = None
    language: LanguageCode | None = None
    emergency_number_id: Id | None = None


class PasswordChange(Input):
    """A new portal password, stored as an argon2 hash: 10 to 200 characters, not common or breached
    (zxcvbn's lists and patterns), not the user's e-mail address or name. Ends the user's tokens."""

    password: Password


class HotDeskPin(Input):
    """CFG-13: 4 to 8 digits, not one digit repeated, not a run (1234, 4321, 2468), not the extension."""

    pin: Pin


class UserOut(Output):
    """A user (never its password hash nor its hot-desk PIN)."""

    id: str
    account_id: str
    name: str
    role: Role
    no_service: bool
    email: str | None
    extension: str | None
    language: str | None
    emergency_number_id: str | None
    communal_room_id: str | None
    has_hot_desk_pin: bool  # CFG-13: the PIN itself is never shown
    created_at: datetime


def _create(c: Call, body: UserCreate) -> Any:
    account_id = body.account_id or c.claims.account_id
    party = c.uow.parties.find(account_id) if c.ctx.scope.can_see(account_id) else None
    if party is not None and party.kind is not PartyKind.CUSTOMER:
        if body.email is None:
            raise InvalidInput("email", "Staff users log in with their e-mail address")
        user = a.add_staff_user(c.uow, c.ctx, account_id, body.name, email=body.email, language=body.language)
    else:
        user = add_user(
            c.uow,
            c.ctx,
            account_id,
            body.name,
            role=body.role,
            no_service=body.no_service,
            email=body.email,
            extension=body.extension,
            language=body.language,
            communal_room_id=body.communal_room_id,
        )
    if body.password is not None:
        user = a.set_password(c.uow, c.ctx, user.id, body.password)
    return user


def _hold(c: Call, user: User) -> None:
    """Commit, then make this node refuse the user's tokens that no longer match (role, account, password)."""
    c.uow.commit()
    c.runtime.state.set_holder(user.id, (user.account_id, user.role.value, user.token_generation))


def _update(c: Call, key: str, body: UserUpdate) -> Any:
    fields = changes(body, "name", "role", "no_service")
    if not c.claims.role == "administrator" and set(fields) - {"name", "language"}:
        raise Forbidden("directory.users.update")  # users change only their own name and language
    user = update_user(c.uow, c.ctx, key, UserChanges(**fields))
    _hold(c, user)
    return user


def _delete(c: Call, key: str) -> None:
    remove_user(c.uow, c.ctx, key)
    c.runtime.state.block_user(key)


USERS = Resource(
    path="/users",
    area="directory",
    name="users",
    tag="directory",
    noun="user",
    out=UserOut,
    repo=lambda uow: uow.users,
    filters={"account_id": Id, "role": Role, "no_service": bool, "email": Email, "extension": Extension},
    order_fields=("name", "created_at", "extension", "email"),
    create_body=UserCreate,
    create=_create,
    update_body=UserUpdate,
    update=_update,
    delete=_delete,
    self_access=True,
    rules="CFG-1, CFG-2.",
    refused_by=("CFG-2", "EMG-4"),
)

router = APIRouter()
register(router, USERS)


@router.put(
    "/users/{id}/password",
    status_code=204,
    response_class=Response,
    summary="Set a user's portal password",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described(
        "directory.users.update",
        "Set the portal password (argon2-hashed): 10 to 200 characters, refused when common, breached or "
        "easy to guess (zxcvbn) or when it is the user's e-mail address or name (422 `invalid-input`, "
        "`details.field` = `password`). The user's existing tokens stop working at once. Users may set "
        "their own (`directory.users.{id}.update`).",
    ),
)
def set_password(id: ID, body: PasswordChange, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.update", self_id=id)
    _hold(c, a.set_password(c.uow, c.ctx, id, body.password))
    return write_response(None, 204)


@router.put(
    "/users/{id}/hot-desk-pin",
    status_code=204,
    response_class=Response,
    summary="Set a user's hot-desk PIN",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("CFG-2")),
    **described(
        "directory.users.update",
        "CFG-13: the PIN the user logs in on shared phones with (`*11*<extension>*<PIN>`), "
        "argon2-hashed and never shown. Users may set their own (`directory.users.{id}.update`).",
    ),
)
def set_hot_desk_pin(id: ID, body: HotDeskPin, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.update", self_id=id)
    h.set_hot_desk_pin(c.uow, c.ctx, id, body.pin)
    c.uow.commit()
    return write_response(None, 204)


@router.delete(
    "/users/{id}/hot-desk-pin",
    status_code=204,
    response_class=Response,
    summary="Clear a user's hot-desk PIN",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, INVALID),
    **described(
        "directory.users.update",
        "CFG-13: the user can no longer log in on shared phones. Users may clear their own "
        "(`directory.users.{id}.update`).",
    ),
)
def clear_hot_desk_pin(id: ID, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.update", self_id=id)
    h.clear_hot_desk_pin(c.uow, c.ctx, id)
    c.uow.commit()
    return write_response(None, 204)
