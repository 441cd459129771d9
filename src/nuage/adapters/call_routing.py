"""The SIP plane's CallRouting port (issue #15), bridged to the directory and the forwarding use cases.

Reads (a user's forwarding, the user, a ring group) come from the SIP directory's snapshot in
memory; a feature code's change goes through the use case (``nuage.services.directory.forwarding``)
in one unit of work, checked as the API checks it (EMG-2, CFG-2), and the directory is read again
at once so the next call sees it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine

from nuage.errors import NuageError, TermViolation
from nuage.services.context import Context
from nuage.services.directory.forwarding import ForwardingChanges, set_forwarding
from nuage.shared.clock import Clock
from nuage.sip.ports import SipAccount
from nuage.sip.routing import ForwardingRule, HuntGroup, RoutedUser
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.unit_of_work import SqlUnitOfWork
from nuage.tenancy.rules import TenantScope

log = logging.getLogger("nuage.adapters.call_routing")


class RoutingBridge:
    """CallRouting over the SIP directory (reads) and the forwarding use case (feature codes)."""

    def __init__(self, engine: Engine, directory: SqlSipDirectory, clock: Clock) -> None:
        self._engine = engine
        self._directory = directory
        self._clock = clock

    def forwarding(self, user_id: str) -> ForwardingRule | None:
        """See ``CallRouting``."""
        return self._directory.forwarding(user_id)

    def user(self, user_id: str) -> RoutedUser | None:
        """See ``CallRouting``."""
        return self._directory.user(user_id)

    def group(self, group_id: str) -> HuntGroup | None:
        """See ``CallRouting``."""
        return self._directory.group(group_id)

    async def set_forwarding(self, phone: SipAccount, **change: str | bool | float | None) -> str | None:
        """See ``CallRouting``: stored through the use case, then shown by the directory at once."""
        if phone.user_id is None:
            return "invalid"
        values: dict[str, Any] = dict(change)
        if "no_answer_s" in values and values["no_answer_s"] is not None:
            values["no_answer_s"] = int(values["no_answer_s"])
        refused = await asyncio.to_thread(self._store, phone, phone.user_id, ForwardingChanges(**values))
        if refused is None:
            await self._directory.reload()
        return refused

    def _store(self, phone: SipAccount, user_id: str, change: ForwardingChanges) -> str | None:
        """The phone acts within its own account (TEN-4)."""
        scope = TenantScope(phone.account_id, frozenset({phone.account_id}))
        with SqlUnitOfWork(self._engine) as uow:
            try:
                set_forwarding(uow, Context(scope, self._clock), user_id, change)
            except TermViolation as refused:
                log.info("forwarding of user %s refused: %s", user_id, refused)
                return refused.rule_id
            except NuageError as refused:
                log.info("forwarding of user %s refused: %s", user_id, refused)
                return "invalid"
            uow.commit()
        log.info("forwarding of user %s changed from device %s", user_id, phone.device_id)
        return None
