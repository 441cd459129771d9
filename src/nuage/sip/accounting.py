"""Accounting: every attempt ends in a CDR, written in batches to the CdrSink port."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from nuage.sip.ports import CdrRecord, CdrSink

log = logging.getLogger("nuage.sip.accounting")


class Accounting(Protocol):
    """What the B2BUA tells accounting (STYLE §2.7.4)."""

    def call_ended(self, record: CdrRecord) -> None:
        """An attempt or call ended; ``record`` is its CDR."""
        ...


class NullAccounting:
    """Records nothing; for tests and lab set-ups."""

    def call_ended(self, record: CdrRecord) -> None:
        """Drop the record."""


def billable_seconds(answered_at: datetime | None, ended_at: datetime) -> int:
    """Answered duration rounded up to a whole second (a started second counts); 0 if unanswered."""
    if answered_at is None:
        return 0
    return max(0, math.ceil((ended_at - answered_at).total_seconds()))


class CdrWriter:
    """Batches CDRs: flushes every ``batch_size`` records or ``flush_interval_ms``, and on close.

    A failing sink keeps the batch and retries at the next flush, so a database hiccup loses
    nothing while the process lives. ``on_written`` hears of every batch stored (the crash
    journal forgets those calls then); ``on_ended`` of every call's end, before its CDR is queued.
    """

    def __init__(
        self,
        sink: CdrSink,
        *,
        batch_size: int = 100,
        flush_interval_ms: int = 1000,
        on_ended: Callable[[CdrRecord], None] | None = None,
    ) -> None:
        self._sink = sink
        self._on_ended = on_ended
        self._batch_size = batch_size
        self._interval = flush_interval_ms / 1000
        self._pending: list[CdrRecord] = []
        self._flush_lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.written = 0
        self.on_written: Callable[[Sequence[CdrRecord]], None] | None = None

    def call_ended(self, record: CdrRecord) -> None:
        """Tell ``on_ended``, queue the CDR (whatever ``on_ended`` did), schedule a flush."""
        try:
            if self._on_ended is not None:
                self._on_ended(record)
        finally:
            self._queue(record)

    def _queue(self, record: CdrRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self._batch_size:
            self._spawn_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._spawn_flush)

    @property
    def pending(self) -> int:
        """CDRs not yet written."""
        return len(self._pending)

    def _spawn_flush(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Write everything pending now."""
        async with self._flush_lock:
            while self._pending:
                batch = self._pending[: self._batch_size]
                try:
                    await self._sink.write(batch)
                except Exception:
                    log.exception("CDR sink failed; %d records kept for the next flush", len(self._pending))
                    if self._timer is None:
                        self._timer = asyncio.get_running_loop().call_later(self._interval, self._spawn_flush)
                    return
                del self._pending[: len(batch)]
                self.written += len(batch)
                if self.on_written is not None:
                    self.on_written(batch)

    async def close(self) -> None:
        """Flush everything (clean shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
