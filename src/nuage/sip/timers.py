"""Timers of the SIP stack: RFC 3261 base values, the scheduler port, the coarse wheel, virtual time.

Everything in the SIP plane that must happen later (retransmissions, transaction ends, no-answer,
session and max-duration timers) is scheduled through a ``Scheduler``: the running asyncio loop
in production (its ``time``, ``call_later`` and ``call_at`` fit the port as they are), a
``VirtualScheduler`` in tests and replays, whose time moves only when told, so that timers of
tens of seconds are proven without waiting for them and whatever the machine's load.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("nuage.sip.timers")

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 timer base values in seconds; tests shorten T1 to run timeouts quickly."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def b(self) -> float:
        """Timer B/F/H/J/L/M: 64*T1."""
        return 64 * self.t1

    @property
    def trying(self) -> float:
        """How long an INVITE waits for its first response before its server transaction sends
        100 (Trying) itself: T1/5, 100 ms (RFC 3261 §17.2.1 spares the 100 when the TU answers
        within 200 ms)."""
        return self.t1 / 5


class Cancellable(Protocol):
    """A scheduled callback that can still be called off."""

    def cancel(self) -> None:
        """Do not run it."""
        ...


class Scheduler(Protocol):
    """Where timers are set: an asyncio loop, or a ``VirtualScheduler``."""

    def time(self) -> float:
        """Now, in seconds on this scheduler's monotonic clock."""
        ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        ...

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        """Run ``callback(*args)`` at ``when`` on this scheduler's clock."""
        ...


class CoarseTimer:
    """A timer of the coarse wheel; only ``cancel()`` is offered, like asyncio's handles."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run it (and keep nothing of what it would have run until its slot comes)."""
        self.cancelled = True
        self.callback = _nothing


def _nothing() -> None:
    return None


class CoarseTimers:
    """A timer wheel with a fixed resolution for timers that only end things.

    Each call leaves half a dozen such timers (transaction ends, dialog clean-up) 5 to 32 s
    later. Fired one by one they wake the loop that many times per call; grouped in
    ``resolution``-wide slots they cost one wake-up per slot, however many calls there are.
    """

    def __init__(self, scheduler: Scheduler, resolution: float = 1.0) -> None:
        self._scheduler = scheduler
        self._resolution = resolution
        self._slots: dict[int, list[CoarseTimer]] = {}
        self._handle: Cancellable | None = None
        self._next_slot: int | None = None

    def call_later(self, delay: float, callback: Callable[[], None]) -> CoarseTimer:
        """Run ``callback`` at the end of the slot that holds ``now + delay``."""
        timer = CoarseTimer(callback)
        slot = math.ceil((self._scheduler.time() + delay) / self._resolution)
        bucket = self._slots.get(slot)
        if bucket is None:
            self._slots[slot] = [timer]
            if self._next_slot is None or slot < self._next_slot:
                self._arm(slot)
        else:
            bucket.append(timer)
        return timer

    def _arm(self, slot: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._next_slot = slot
        self._handle = self._scheduler.call_at(slot * self._resolution, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._next_slot = None
        now_slot = math.floor(self._scheduler.time() / self._resolution + 1e-9)
        for slot in sorted(s for s in self._slots if s <= now_slot):
            for timer in self._slots.pop(slot):
                if not timer.cancelled:
                    try:
                        timer.callback()
                    except Exception:
                        log.exception("timer callback failed")
        if self._slots:
            self._arm(min(self._slots))

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._slots.values())


class VirtualTimer:
    """A timer of a ``VirtualScheduler``."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run it, and keep nothing of what it would have run (as asyncio's handles)."""
        self.cancelled = True
        self.callback = _nothing
        self.args = ()


class VirtualScheduler:
    """A ``Scheduler`` (and a ``Clock``) whose time moves only when ``advance`` is called.

    ``advance(seconds)`` runs every timer due within those seconds in the order of their
    instants, the time set to each timer's instant while it runs, so a timer that re-arms
    itself (a retransmission doubling its interval) fires at every instant it would have fired
    at in real time. ``now()`` is ``epoch`` plus the virtual time, for what records instants.
    """

    def __init__(self, epoch: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._now = 0.0
        self._epoch = epoch
        self._queue: list[tuple[float, int, VirtualTimer]] = []
        self._order = itertools.count()

    def time(self) -> float:
        """The virtual time in seconds (0 at creation)."""
        return self._now

    def now(self) -> datetime:
        """The virtual time as an aware instant."""
        return self._epoch + timedelta(seconds=self._now)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> VirtualTimer:
        """Run ``callback(*args)`` once the virtual time has moved ``delay`` seconds on."""
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> VirtualTimer:
        """Run ``callback(*args)`` once the virtual time reaches ``when``."""
        timer = VirtualTimer(when, callback, args)
        heapq.heappush(self._queue, (when, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> int:
        """Move the time ``seconds`` on, running the timers due on the way; how many ran."""
        target = self._now + seconds
        fired = 0
        while self._queue and self._queue[0][0] <= target:
            when, _, timer = heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            fired += 1
            timer.callback(*timer.args)
        self._now = max(self._now, target)
        return fired

    def next_at(self) -> float | None:
        """The instant of the next timer still armed, if any."""
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0][0] if self._queue else None

    @property
    def pending(self) -> int:
        """Timers still armed."""
        return sum(1 for _, _, timer in self._queue if not timer.cancelled)


class ExpiryQueue(Generic[K]):
    """Keys that expire after one of a few fixed delays, in ``resolution``-wide slots (issue #22).

    What lingers after a transaction (timers D, I, J, K, L, M) is a key in a dict of the
    transaction layer; its end needs no timer object of its own: one FIFO per delay (the delays
    are few and fixed, so each FIFO stays in time order) and one scheduler timer for the front.
    The entries are tuples of a float and the key, which the garbage collector stops tracking.
    """

    def __init__(self, scheduler: Scheduler, on_expire: Callable[[K], None], resolution: float = 1.0) -> None:
        self._scheduler = scheduler
        self._on_expire = on_expire
        self._resolution = resolution
        self._fifos: dict[float, deque[tuple[float, K]]] = {}
        self._handle: Cancellable | None = None
        self._armed_at: float | None = None

    def add(self, delay: float, key: K) -> None:
        """Expire ``key`` at the end of the slot that holds ``now + delay``."""
        when = math.ceil((self._scheduler.time() + delay) / self._resolution) * self._resolution
        fifo = self._fifos.get(delay)
        if fifo is None:
            fifo = self._fifos[delay] = deque()
        fifo.append((when, key))
        if self._armed_at is None or when < self._armed_at:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self._scheduler.call_at(when, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_at = None
        now = self._scheduler.time() + 1e-9
        following: float | None = None
        for fifo in self._fifos.values():
            while fifo and fifo[0][0] <= now:
                key = fifo.popleft()[1]
                try:
                    self._on_expire(key)
                except Exception:
                    log.exception("expiry callback failed")
            if fifo and (following is None or fifo[0][0] < following):
                following = fifo[0][0]
        if following is not None:
            self._arm(following)

    def __len__(self) -> int:
        return sum(len(fifo) for fifo in self._fifos.values())
