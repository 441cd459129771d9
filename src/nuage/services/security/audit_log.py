"""The audit log: every change, who made it (a user or an API client, and its account), when, what
(the request: method and path, or a named security event), to which object (its kind and id, read
from the path: :func:`subject_of`), with what outcome (the answer's status), from where (the
client's IP address), and on which account.

The API's and the portal's edges record each change they accepted; logins, second-factor changes
and password resets are recorded by name. The operator reads every account's events; another
administrator reads those of the accounts in its scope (a customer administrator: its own account).
"""

from __future__ import annotations

import re
from datetime import datetime

from nuage.directory.model import Role
from nuage.errors import NotFound
from nuage.services.context import Context
from nuage.services.security.ports import AuditEvent, SecurityUnitOfWork
from nuage.shared.ids import new_ordered_id

MAX_ACTION = 300
PAGE = 100
#: a path's segment that names an account (the id follows it)
_ACCOUNT_SEGMENTS = frozenset({"customers", "accounts", "partners"})
#: a path's segment that names an object of an account, and the repository that finds it
_OBJECT_SEGMENTS = {"users": "users", "devices": "devices", "numbers": "numbers", "rooms": "rooms"}
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: an object's id in a path (``usr_8f3k...``, an ordered id, a billing run's), not a word of it
_OBJECT_ID = re.compile(r"^[a-z][a-z0-9]{1,7}_[0-9a-f]{8,40}$")
#: a path's segment naming a collection of objects, and the kind of object it holds
KINDS = {
    "accounts": "customer",
    "customers": "customer",
    "partners": "partner",
    "parties": "party",
    "users": "user",
    "devices": "device",
    "hot-desks": "device",
    "numbers": "number",
    "rooms": "room",
    "sound-files": "sound file",
    "faxes": "fax",
    "boxes": "voicemail box",
    "messages": "voicemail message",
    "runs": "billing run",
    "invoices": "invoice",
    "payments": "payment",
    "tickets": "ticket",
    "clients": "API client",
    "conferences": "conference room",
    "meetings": "meeting room",
    "trunks": "trunk",
    "emergency-numbers": "emergency number",
    "tariffs": "tariff",
    "plans": "plan",
    "contracts": "contract",
}
_REMOVALS = frozenset({"remove", "delete"})
CREATED, CHANGED, REMOVED = "created", "changed", "removed"


def subject_of(action: str) -> tuple[str | None, str | None, str | None]:
    """What a request did, to what: (verb, kind of object, its id) from ``METHOD /path``.

    ``POST`` on a collection (``/accounts/{id}/devices``, ``.../users/new``) created one of its
    kind; ``DELETE`` or a path ending in ``remove``/``delete`` removed the object it names; any
    other change changed it (the last object the path names, e.g. a user's hot-desk PIN: the user).
    A named event (``login``) has none of them.
    """
    method, _, path = action.partition(" ")
    if method not in {"POST", "PUT", "PATCH", "DELETE"} or not path.startswith("/"):
        return None, None, None
    parts = [p for p in path.split("/") if p][:16]
    if parts[:2] == ["api", "v1"]:
        parts = parts[2:]
    kind = object_id = None
    for index, part in enumerate(parts):
        following = parts[index + 1] if index + 1 < len(parts) else None
        if part in KINDS and following is not None and _OBJECT_ID.match(following):
            kind, object_id = KINDS[part], following
    last = parts[-1] if parts else ""
    if last == "new" and len(parts) > 1 and parts[-2] in KINDS:
        return CREATED, KINDS[parts[-2]], None
    if last in KINDS and method == "POST":
        return CREATED, KINDS[last], None
    if method == "DELETE" or last in _REMOVALS:
        return REMOVED, kind, object_id
    return CHANGED, kind, object_id


def account_of_path(uow: SecurityUnitOfWork, path: str, fallback: str) -> str:
    """The account a request's path changes: named in it (``/customers/{id}/...``), or the account of
    the object it names (``/users/{id}``), else ``fallback`` (the actor's)."""
    parts = [p for p in path.split("/") if p][:12]
    for index, part in enumerate(parts[:-1]):
        key = parts[index + 1]
        if not _ID.match(key):
            continue
        if part in _ACCOUNT_SEGMENTS and uow.parties.find(key) is not None:
            return key
        repository = _OBJECT_SEGMENTS.get(part)
        if repository is not None:
            found = getattr(uow, repository).find(key)
            account = getattr(found, "account_id", None)
            if isinstance(account, str):
                return account
    return fallback


def record(
    uow: SecurityUnitOfWork,
    *,
    at: datetime,
    actor_id: str,
    actor_kind: str,
    actor_account_id: str,
    action: str,
    address: str,
    account_id: str | None = None,
    status: int = 200,
) -> AuditEvent:
    """Keep one event (commit the unit of work); what it did to which object is read from the
    request (:func:`subject_of`)."""
    verb, kind, object_id = subject_of(action)
    event = AuditEvent(
        id=new_ordered_id("aud"),
        at=at,
        actor_id=actor_id[:64],
        actor_kind=actor_kind,
        actor_account_id=actor_account_id,
        account_id=account_id or actor_account_id,
        action=action[:MAX_ACTION],
        address=address[:64],
        status=status,
        verb=verb,
        object_type=kind,
        object_id=object_id,
    )
    uow.security.record(event)
    return event


def readable_events(
    uow: SecurityUnitOfWork,
    ctx: Context,
    role: Role,
    *,
    limit: int = PAGE,
    before: tuple[datetime, str] | None = None,
) -> list[AuditEvent]:
    """The events the viewer may read, newest first: the operator's staff every account's, an
    administrator those of its scope (TEN-4). Others have no audit log (NotFound)."""
    if role is not Role.ADMINISTRATOR:
        raise NotFound("audit log", ctx.scope.viewer_id)
    accounts = None if ctx.scope.is_operator else ctx.scope.visible_ids
    return uow.security.events(accounts, limit=max(1, min(limit, 500)), before=before)
