"""The SIP plane's HotDesk port (CFG-13), bridged to the control plane's hot-desk use cases.

A login by feature code on a shared phone follows the same rules as through the API
(``nuage.services.hot_desk``, in one unit of work); it is stored before it is confirmed and then
applies at once in the SIP directory's memory (``SqlSipDirectory.record_hot_desk``). The PIN check
and the database work run in a worker thread: nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Engine

from nuage.directory.model import HotDeskSession
from nuage.errors import NuageError
from nuage.services import hot_desk
from nuage.services.access import verify_secret
from nuage.services.context import Context
from nuage.shared.clock import Clock
from nuage.sip.ports import SipAccount
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.unit_of_work import SqlUnitOfWork
from nuage.tenancy.rules import TenantScope

log = logging.getLogger("nuage.adapters.hot_desk")


class HotDeskBridge:
    """HotDesk over the use cases and the unit of work; the SIP directory shows the result at once."""

    def __init__(
        self,
        engine: Engine,
        directory: SqlSipDirectory,
        clock: Clock,
        *,
        timeout: timedelta = hot_desk.DEFAULT_HOT_DESK_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._clock = clock
        self._timeout = timeout

    async def log_in(self, phone: SipAccount, extension: str, pin: str) -> SipAccount | None:
        """CFG-13: the user with this extension and PIN now uses ``phone`` (see ``HotDesk``)."""
        if not phone.hot_desk:
            return None
        candidate = self._directory.login_candidate(phone.account_id, extension)
        pin_hash = candidate[1] if candidate is not None else None
        if not await asyncio.to_thread(verify_secret, pin_hash, pin) or candidate is None:
            return None
        user_id = candidate[0]
        ended = self._directory.phones_of(user_id)  # one shared phone at a time (the use case ends them)
        session = await asyncio.to_thread(self._store_login, phone, user_id)
        if session is None:
            return None
        self._directory.record_hot_desk(phone.device_id, session, ended)
        log.info("hot desk: user %s logged in on device %s", user_id, phone.device_id)
        return self._directory.as_logged_in(phone)

    async def log_out(self, phone: SipAccount) -> bool:
        """CFG-13: end the session on ``phone``."""
        if self._directory.session(phone.device_id) is None:
            return False
        await asyncio.to_thread(self._store_logout, phone.device_id)
        self._directory.record_hot_desk(phone.device_id, None)
        log.info("hot desk: logged out of device %s", phone.device_id)
        return True

    def _store_login(self, phone: SipAccount, user_id: str) -> HotDeskSession | None:
        """The phone acts within its own account (TEN-4); None when a rule of the use case says no."""
        scope = TenantScope(phone.account_id, frozenset({phone.account_id}))
        with SqlUnitOfWork(self._engine) as uow:
            try:
                session = hot_desk.log_in(
                    uow, Context(scope, self._clock), phone.device_id, user_id, timeout=self._timeout
                )
            except NuageError as refused:
                log.info("hot desk: login on device %s refused: %s", phone.device_id, refused)
                return None
            uow.commit()
        return session

    def _store_logout(self, device_id: str) -> None:
        with SqlUnitOfWork(self._engine) as uow:
            hot_desk.end_sessions(uow, device_id=device_id)
            uow.commit()
