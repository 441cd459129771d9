"""The API's side of the audit log: every write request the API accepted (a 2xx or 3xx answer) is
kept as who (the token's client or user, and its account), when, what (method and path), from
where (the client's address) and on which account (``services.security.audit_log``).

Recorded by the gate once the answer was sent, in a transaction of its own: a failure to record is
logged, never turned into the client's error after its change was committed.
"""

from __future__ import annotations

import logging

from fastapi.concurrency import run_in_threadpool

from nuage.api.deps import ApiRuntime
from nuage.api.tokens import Claims
from nuage.services.security import audit_log

log = logging.getLogger(__name__)


class AuditTrail:
    """Records the API's accepted changes."""

    def __init__(self, runtime: ApiRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, claims: Claims, method: str, path: str, status: int, address: str) -> None:
        try:
            await run_in_threadpool(self._record, claims, method, path, status, address)
        except Exception:  # the change is done and answered: its record must not fail the request
            log.exception("audit: could not record %s %s by %s", method, path, claims.subject)

    def _record(self, claims: Claims, method: str, path: str, status: int, address: str) -> None:
        rt = self.runtime
        with rt.uow() as uow:
            audit_log.record(
                uow,
                at=rt.platform.clock.now(),
                actor_id=claims.subject,
                actor_kind=claims.kind,
                actor_account_id=claims.account_id,
                action=f"{method} {path}",
                address=address,
                account_id=audit_log.account_of_path(uow, path, claims.account_id),
                status=status,
            )
            uow.commit()
