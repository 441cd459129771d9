"""Users (CFG-1, CFG-2) and their portal passwords: ``/users``, ``/users/{id}/password``.

Customers' users are directory users; operator staff and partner administrators are users of the
operator's or the partner's own account (administrators with no telephony, CFG-2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import StringConstraints

from nuage.api.caching import write_response
from nuage.api.crud import FORBIDDEN, ID, INVALID, NOT_FOUND, Resource, described, register, responses
from nuage.api.deps import Call, call
from nuage.api.errors import Forbidden
from nuage.api.schemas import Email, Id, Input, Name, Output, changes
from nuage.directory.model import Role
from nuage.errors import InvalidInput
from nuage.services import access as a
from nuage.services import directory as d
from nuage.tenancy.model import PartyKind

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^(en|fr|nl)$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]


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
    """A new portal password (at least 10 varied characters), stored as an argon2 hash."""

    password: Password


class UserOut(Output):
    """A user (never its password hash)."""

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
    created_at: datetime


def _create(c: Call, body: UserCreate) -> Any:
    account_id = body.account_id or c.claims.account_id
    party = c.uow.parties.find(account_id) if c.ctx.scope.can_see(account_id) else None
    if party is not None and party.kind is not PartyKind.CUSTOMER:
        if body.email is None:
            raise InvalidInput("email", "Staff users log in with their e-mail address")
        user = a.add_staff_user(c.uow, c.ctx, account_id, body.name, email=body.email, language=body.language)
    else:
        user = d.add_user(
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


def _update(c: Call, key: str, body: UserUpdate) -> Any:
    fields = changes(body, "name", "role", "no_service")
    if not c.claims.role == "administrator" and set(fields) - {"name", "language"}:
        raise Forbidden("directory.users.update")  # users change only their own name and language
    return d.update_user(c.uow, c.ctx, key, **fields)


def _delete(c: Call, key: str) -> None:
    d.remove_user(c.uow, c.ctx, key)
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
        "Set the portal password (argon2-hashed). Users may set their own (`directory.users.{id}.update`).",
    ),
)
def set_password(id: ID, body: PasswordChange, c: Call = Depends(call)) -> Response:
    USERS.fetch(c, id)
    c.require("directory.users.update", self_id=id)
    a.set_password(c.uow, c.ctx, id, body.password)
    c.uow.commit()
    return write_response(None, 204)
