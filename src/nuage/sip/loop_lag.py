"""The event loop's lateness, measured in the running server (issue #22): ``LoopLagProbe``.

Off unless ``sip.loop_lag_report_s`` is set (the SIP benchmark turns it on). A callback asks to
run every ``tick_s``; how late it runs is what any call waiting on the loop waited at that moment
(a long callback, a collection of the garbage collector, a worker thread holding the GIL). Every
``report_s`` one log line gives the ticks of that window, their p50/p99/max lateness and a count per
bucket (``le_ms=count`` pairs, each tick counted in the first bucket it fits), so that a reader can
add windows up and take quantiles over any span, and what tells a stall of ours from one of the
machine: ``worst_cpu_ms``, the processor time the loop's thread used during the worst tick's wait
(near its lateness: our own work held the loop; near 0: the process waited for a CPU or for the
GIL), and ``gc_max_ms``, the longest garbage collection of the window; after the buckets,
``full_gcs``, the window's collections of the oldest generation, and ``tracked``, the objects the
collector tracked in that generation after the last of them (counted then, a walk over them: a
few ms per full collection, only while the probe runs), the heap each full collection scans;
then ``gcs``, the window's collections of each generation (young/middle/oldest), and ``gc_ms``,
the time all of them took: the collector's share of the loop.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import logging
import time

log = logging.getLogger("nuage.sip.loop_lag")

BUCKETS_MS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, float("inf"))


class LoopLagProbe:
    """Measures the loop's lateness every ``tick_s`` and logs a summary every ``report_s``."""

    def __init__(self, report_s: float, *, tick_s: float = 0.01) -> None:
        self._report_s = report_s
        self._tick_s = tick_s
        self._late_ms: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._window_start = 0.0
        self._cpu = 0.0  # the loop thread's processor time when the tick was armed
        self._worst = (0.0, 0.0)  # the window's worst lateness, and the thread's CPU during it (ms)
        self._gc_started = 0.0
        self._gc_max_ms = 0.0
        self._full_gcs = 0
        self._tracked = -1
        self._gcs = [0, 0, 0]  # the window's collections per generation
        self._gc_ms = 0.0  # and their total time

    def start(self) -> None:
        """Start ticking (on the running loop); the probe's lines are logged whatever the log level."""
        log.setLevel(logging.INFO)
        gc.callbacks.append(self._on_gc)
        now = time.perf_counter()
        self._window_start = now
        self._arm(now)

    def stop(self) -> None:
        """Stop ticking."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            took = (time.perf_counter() - self._gc_started) * 1000
            self._gc_max_ms = max(self._gc_max_ms, took)
            self._gc_ms += took
            generation = info.get("generation", 0)
            self._gcs[min(max(generation, 0), 2)] += 1
            if generation == 2:
                self._full_gcs += 1
                self._tracked = len(gc.get_objects(generation=2))

    def _arm(self, now: float) -> None:
        self._due = now + self._tick_s
        self._cpu = time.thread_time()
        self._handle = asyncio.get_running_loop().call_later(self._tick_s, self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, (now - self._due) * 1000)
        self._late_ms.append(late)
        if late >= self._worst[0]:
            self._worst = (late, (time.thread_time() - self._cpu) * 1000)
        if now - self._window_start >= self._report_s:
            self._report(now - self._window_start)
            self._window_start = now
        self._arm(now)

    def _report(self, window_s: float) -> None:
        late, self._late_ms = sorted(self._late_ms), []
        (_, worst_cpu), self._worst = self._worst, (0.0, 0.0)
        gc_max, self._gc_max_ms = self._gc_max_ms, 0.0
        full_gcs, self._full_gcs = self._full_gcs, 0
        gcs, self._gcs = self._gcs, [0, 0, 0]
        gc_ms, self._gc_ms = self._gc_ms, 0.0
        if not late:
            return
        counts = [0] * len(BUCKETS_MS)
        for value in late:
            counts[bisect.bisect_left(BUCKETS_MS, value)] += 1
        buckets = " ".join(
            f"{int(b) if b != float('inf') else 'inf'}={n}"
            for b, n in zip(BUCKETS_MS, counts, strict=True)
            if n
        )
        log.info(
            "loop lag over %.1f s: ticks=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f worst_cpu_ms=%.1f "
            "gc_max_ms=%.1f buckets %s; full_gcs=%d tracked=%d gcs=%d/%d/%d gc_ms=%.1f",
            window_s,
            len(late),
            late[len(late) // 2],
            late[min(len(late) - 1, int(len(late) * 0.99))],
            late[-1],
            worst_cpu,
            gc_max,
            buckets,
            full_gcs,
            self._tracked,
            *gcs,
            gc_ms,
        )
