"""The portal's audit log page (``/audit``): who did what to which object, when, with what outcome,
from where, on which account.

The operator's administrators read every account's events; another administrator those of its
scope (a customer administrator: its own account), newest first, a hundred a page
(``services.security.audit_log``, TEN-4). Actors are shown by name (a user's, an API client's),
the object by its name when it still exists (a device's label, a user's name), else its id; the
request itself stays beside it, for support.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from nuage.api.deps import ApiUnitOfWork
from nuage.services.security import audit_log
from nuage.web.portal.base import Portal, Viewer

PAGE = 100
#: where an object of a kind is found, and what names it
_NAMED = {
    "user": ("users", "name"),
    "device": ("devices", "label"),
    "room": ("rooms", "name"),
    "number": ("numbers", "e164"),
    "customer": ("parties", "name"),
    "partner": ("parties", "name"),
    "party": ("parties", "name"),
}


def _object_name(uow: ApiUnitOfWork, kind: str | None, object_id: str | None) -> str | None:
    """The object's name (its label, its number), if it still exists; None otherwise."""
    if kind not in _NAMED or object_id is None:
        return None
    repository, attribute = _NAMED[kind]
    found: Any = getattr(uow, repository).find(object_id)
    value = getattr(found, attribute, None) if found is not None else None
    return str(value) if value else None


def _before(value: str | None) -> tuple[datetime, str] | None:
    """The ``before`` cursor of an older page: ``<ISO instant>~<id>``."""
    if not value or len(value) > 120:
        return None
    at, _, key = value.partition("~")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    return (moment, key) if moment.tzinfo is not None and key else None


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()

    @routes.get("/audit", include_in_schema=False)
    def audit(request: Request, before: str | None = None) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            events = audit_log.readable_events(
                uow, viewer.ctx, viewer.user.role, limit=PAGE, before=_before(before)
            )
            names: dict[str, str] = {}
            for event in events:
                if event.actor_id in names:
                    continue
                user = uow.users.find(event.actor_id) if event.actor_kind == "user" else None
                client = uow.access.clients.find(event.actor_id) if event.actor_kind == "client" else None
                names[event.actor_id] = user.name if user else client.name if client else event.actor_id
            accounts: dict[str, str] = {}
            for event in events:
                for account_id in (event.account_id, event.actor_account_id):
                    if account_id not in accounts:
                        party = uow.parties.find(account_id)
                        accounts[account_id] = party.name if party else account_id
            subjects: dict[str, tuple[str | None, str | None, str | None, str | None]] = {}
            for event in events:  # events kept before the audit named objects: read from the request
                verb, kind, object_id = event.verb, event.object_type, event.object_id
                if verb is None:
                    verb, kind, object_id = audit_log.subject_of(event.action)
                subjects[event.id] = (verb, kind, object_id, _object_name(uow, kind, object_id))
            older = f"{events[-1].at.isoformat()}~{events[-1].id}" if len(events) == PAGE else None
            return portal.render(
                request,
                "audit.html",
                session=viewer.session,
                viewer=viewer,
                events=events,
                names=names,
                accounts=accounts,
                subjects=subjects,
                older=older,
            )

        return portal.serve(request, work)  # not an administrator: NotFound, the 404 page

    return routes
