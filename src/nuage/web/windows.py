"""Sliding-window counters for the public pages (Web Meeting PINs, the click-to-call widget): how many
times a key did something in the last ``window``, on the platform's clock, bounded in memory."""

from __future__ import annotations

import threading
from collections import deque
from datetime import timedelta

from nuage.shared.clock import Clock

MAX_KEYS = 100_000


class SlidingWindow:
    """Events per key over a sliding window (the oldest keys are dropped past ``MAX_KEYS``)."""

    def __init__(self, clock: Clock, *, limit: int, window: timedelta) -> None:
        self._clock = clock
        self.limit = limit
        self.window = window
        self._events: dict[object, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: object) -> deque[float]:
        now = self._clock.now().timestamp()
        found = self._events.get(key, deque())
        while found and found[0] <= now - self.window.total_seconds():
            found.popleft()
        return found

    def full(self, key: object) -> bool:
        """Whether ``key`` has used up its events in the window."""
        with self._lock:
            return len(self._recent(key)) >= self.limit

    def count(self, key: object) -> None:
        """Record one event of ``key``."""
        with self._lock:
            found = self._recent(key)
            found.append(self._clock.now().timestamp())
            self._events[key] = found
            if len(self._events) > MAX_KEYS:
                self._events.pop(next(iter(self._events)))
