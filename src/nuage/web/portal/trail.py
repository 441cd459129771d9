"""The portal's side of the audit log: each accepted form (and each login, second-factor and
password-reset event) is kept as who, when, what and from where (``services.security.audit_log``)."""

from __future__ import annotations

from fastapi import Request

from nuage.services.security import audit_log
from nuage.services.security.ports import SecurityUnitOfWork
from nuage.shared.clock import Clock


def address_of(request: Request) -> str:
    """The client's IP address, as the server saw it."""
    return request.client.host if request.client else "unknown"


def record(
    uow: SecurityUnitOfWork,
    clock: Clock,
    request: Request,
    *,
    user_id: str,
    account_id: str,
    action: str | None = None,
    status: int = 200,
) -> None:
    """Keep an event for this request (by default ``POST /its/path``) and commit it."""
    path = request.url.path[:250]
    audit_log.record(
        uow,
        at=clock.now(),
        actor_id=user_id,
        actor_kind="user",
        actor_account_id=account_id,
        action=action or f"{request.method} {path}",
        address=address_of(request),
        account_id=audit_log.account_of_path(uow, path, account_id),
        status=status,
    )
    uow.commit()
