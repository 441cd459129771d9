"""A value read from the database in a worker thread and kept current in the background.

The data plane decides from such snapshots so that a call never waits on the database; a failed
reload keeps the last good value (logged) and is retried at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

S = TypeVar("S")

log = logging.getLogger("nuage.storage.snapshots")


class RefreshedSnapshot(Generic[S]):
    """``load()`` run in a worker thread at start, then every ``refresh_s`` seconds."""

    def __init__(
        self,
        load: Callable[[], S],
        initial: S,
        *,
        name: str,
        refresh_s: float = 2.0,
        on_load: Callable[[S], None] | None = None,
    ) -> None:
        self._load = load
        self._on_load = on_load
        self._value = initial
        self._name = name
        self._refresh_s = refresh_s
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def value(self) -> S:
        """The latest value loaded."""
        return self._value

    async def reload(self) -> None:
        """Read again now (in a worker thread)."""
        async with self._lock:
            self._value = await asyncio.to_thread(self._load)
        if self._on_load is not None:
            self._on_load(self._value)

    async def start(self) -> None:
        """Load the first value and keep it current."""
        await self.reload()
        self._task = asyncio.create_task(self._refresh_forever(), name=f"{self._name}-refresh")

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
            except Exception:  # a database hiccup keeps the last good value; logged, retried
                log.exception("%s refresh failed; keeping the previous snapshot", self._name)
