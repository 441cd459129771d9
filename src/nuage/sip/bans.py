"""SIP-5: the security guard's bans kept over restarts and shared by the SIP nodes.

``BanKeeper`` hears each ban and lift of the guard (``SecurityGuard.on_change``) and writes it
to the ``BanStore`` behind the receive path, from its own task: nothing on the path of a
message waits on the store. The same task reads the store's bans back every ``sync_s`` and
gives them to the guard, so a node holds the bans of the others (and drops those the operator
lifted through the API or the CLI of another process). A store that cannot be reached is
retried; meanwhile the node goes on with what it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from nuage.shared.clock import Clock, SystemClock
from nuage.sip.ports import BanRecord, BanStore
from nuage.sip.security import SecurityGuard

log = logging.getLogger("nuage.sip.bans")


class MemoryBanStore:
    """Bans in a dict: one process, nothing kept over a restart (tests and labs)."""

    def __init__(self) -> None:
        self.bans: dict[str, BanRecord] = {}

    async def active(self, now: datetime) -> list[BanRecord]:
        """The bans in force at ``now``, the longest remaining first."""
        return sorted((b for b in self.bans.values() if b.until > now), key=lambda b: b.until, reverse=True)

    async def add(self, bans: Sequence[BanRecord]) -> None:
        """Store bans, replacing those of the same addresses."""
        for ban in bans:
            self.bans[ban.address] = ban

    async def lift(self, address: str, now: datetime) -> bool:
        """Remove the ban of ``address``; whether one was in force."""
        found = self.bans.pop(address, None)
        return found is not None and found.until > now


class BanKeeper:
    """Writes the guard's bans behind and keeps the guard in step with the store."""

    def __init__(
        self, guard: SecurityGuard, store: BanStore, *, sync_s: float = 2.0, clock: Clock | None = None
    ) -> None:
        self.guard = guard
        self.store = store
        self.sync_s = sync_s
        self._clock = clock or SystemClock()
        self._pending: dict[str, BanRecord | None] = {}  # address -> ban, or None: lifted
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        guard.on_change = self._changed

    def _changed(self, address: str, record: BanRecord | None) -> None:
        self._pending[address] = record
        self._wake.set()

    async def start(self) -> None:
        """Take the stored bans (those in force survive a restart), then keep in step."""
        try:
            self.guard.replace_bans(await self.store.active(self._clock.now()))
        except Exception as error:  # the SIP edge runs on; the next sync tries again
            log.warning("could not read the stored bans (%s); starting without them", error)
        self._task = asyncio.create_task(self._run(), name="sip-bans")

    async def stop(self) -> None:
        """Stop syncing; write what is still pending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.sync_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.sync()

    async def flush(self) -> bool:
        """Write the bans and lifts not yet stored; False if the store failed (kept for later)."""
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}
        try:
            added = [record for record in batch.values() if record is not None]
            if added:
                await self.store.add(added)
            for address, record in batch.items():
                if record is None:
                    await self.store.lift(address, self._clock.now())
        except Exception as error:
            log.warning("could not store %d ban changes (%s); retrying", len(batch), error)
            for address, record in batch.items():
                self._pending.setdefault(address, record)
            return False
        return True

    async def sync(self) -> None:
        """Store what changed here, then hold what the store holds."""
        if not await self.flush():
            return
        try:
            stored = await self.store.active(self._clock.now())
        except Exception as error:
            log.warning("could not read the stored bans (%s); keeping those held", error)
            return
        if not self._pending:  # nothing changed here meanwhile (else: next round)
            self.guard.replace_bans(stored)
