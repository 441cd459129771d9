"""The interpreter's thread switch interval, shortened while a streaming bulk job runs.

A streaming job (rating: ``services.jobs``) computes in one thread while others wait on the
database: the writer for the server to take the next statement or the next piece of a ``COPY``,
the reader for the next rows. When one of them has its answer it must take the interpreter lock
back from the computing thread, which gives it up only every switch interval (5 ms by default).
Meanwhile the server has nothing to do: a rating pass makes a few such round trips per batch of
cost records, and its writing session sat "idle in transaction" for 17-24 % of a pass (sampled
from ``pg_stat_activity``), 9-14 % with a 1 ms interval (docs/benchmarks/pg-rating.md).
``switch_often`` lowers the interval for the job and restores it once the last of several
overlapping jobs ends.

Process-wide, like ``collector.collector_paused``: only entry points that run a bulk job in a
process of their own apply it (the ``nuage billing`` commands, the benchmarks), never the use
cases themselves.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager

from nuage.shared.process_wide import ProcessWide

JOB_SWITCH_INTERVAL = 0.001
"""Seconds: how long a thread computing for a bulk job keeps the interpreter lock from the others."""

_LOWERED = ProcessWide(sys.getswitchinterval, sys.setswitchinterval)


def switch_often(interval: float = JOB_SWITCH_INTERVAL) -> AbstractContextManager[None]:
    """Lower the thread switch interval to ``interval`` for the ``with`` block (never raise it;
    reentrant, thread-safe: restored when the last overlapping block ends)."""
    return _LOWERED.held(lambda: sys.setswitchinterval(min(interval, sys.getswitchinterval())))
