"""The cyclic garbage collector, paused while a bulk job builds millions of short tuples.

Rating and the monthly run allocate millions of small objects (CDR and cost-record tuples,
BIL-10 source references) that never form reference cycles: reference counting frees them.
The cyclic collector still walks the young ones every 700 allocations and, as the heap grows,
the old ones too, a sizeable share of such a job's time. ``collector_paused`` stops it for the
job and restarts it afterwards (once the last of several overlapping jobs of the process ends);
what little cyclic garbage the job made is collected then.

The pause is process-wide: only entry points that run a bulk job in a process of their own
(the ``nuage billing`` commands, the benchmarks) apply it, or a process whose entry point tuned
its collector (``nuage serve``'s SIP runtime, while it builds a whole snapshot), never the use
cases themselves (a job the API starts would stop the collector for the whole server, SIP
included)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_jobs = 0
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block (reentrant, thread-safe)."""
    global _jobs, _was_enabled
    with _lock:
        if _jobs == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _jobs += 1
    try:
        yield
    finally:
        with _lock:
            _jobs -= 1
            if _jobs == 0 and _was_enabled:
                gc.enable()
