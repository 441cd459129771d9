"""The call policy's snapshot over SQL storage, reloaded in the background.

Like ``SqlSipDirectory``, ``SqlPolicySnapshot`` reads what the terms-based call policy needs
(account status, capacity inputs, numbers, devices) in a worker thread every few seconds, so a
call's decision never waits on the database; a failed reload keeps the previous snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from nuage.policy.snapshot import PolicySnapshot, build_snapshot
from nuage.shared.clock import Clock, SystemClock, business_date
from nuage.storage.sql.unit_of_work import SqlUnitOfWork

log = logging.getLogger("nuage.storage.policy")


class SqlPolicySnapshot:
    """SnapshotSource of ``nuage.policy`` over the database."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None, refresh_s: float = 2.0) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._refresh_s = refresh_s
        self._snapshot = PolicySnapshot()
        self._task: asyncio.Task[None] | None = None
        self._reload_lock = asyncio.Lock()

    @property
    def snapshot(self) -> PolicySnapshot:
        """The latest snapshot loaded."""
        return self._snapshot

    def _load(self) -> PolicySnapshot:
        with SqlUnitOfWork(self._engine) as uow:
            return build_snapshot(
                uow.parties.list(),
                uow.users.list(),
                uow.packs.list(),
                uow.numbers.list(),
                uow.devices.list(),
                business_date(self._clock.now()),
            )

    async def reload(self) -> None:
        """Read the database again (in a worker thread)."""
        async with self._reload_lock:
            self._snapshot = await asyncio.to_thread(self._load)

    async def start(self) -> None:
        """Load the first snapshot and keep it current."""
        await self.reload()
        self._task = asyncio.create_task(self._refresh_forever(), name="call-policy-refresh")

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
            except Exception:  # a database hiccup keeps the last good snapshot; logged, retried
                log.exception("call policy refresh failed; keeping the previous snapshot")
