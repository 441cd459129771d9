"""The call policy's snapshot over SQL storage, reloaded in the background.

Like ``SqlSipDirectory``, ``SqlPolicySnapshot`` reads what the terms-based call policy needs
(account status, capacity inputs, numbers, devices) in a worker thread every few seconds, so a
call's decision never waits on the database; a failed reload keeps the previous snapshot.
"""

from __future__ import annotations

from sqlalchemy import Engine

from nuage.policy.snapshot import PolicySnapshot, build_snapshot
from nuage.shared.clock import Clock, SystemClock, business_date
from nuage.storage.sql.snapshots import RefreshedSnapshot
from nuage.storage.sql.unit_of_work import SqlUnitOfWork


class SqlPolicySnapshot:
    """SnapshotSource of ``nuage.policy`` over the database."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None, refresh_s: float = 2.0) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._view = RefreshedSnapshot(self._load, PolicySnapshot(), name="call-policy", refresh_s=refresh_s)

    @property
    def snapshot(self) -> PolicySnapshot:
        """The latest snapshot loaded."""
        return self._view.value

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
        await self._view.reload()

    async def start(self) -> None:
        """Load the first snapshot and keep it current."""
        await self._view.start()

    async def stop(self) -> None:
        """Stop refreshing."""
        await self._view.stop()
