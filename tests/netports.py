"""Free loopback ports for the tests, never handed out twice in one run.

A port probed free is only free until someone binds it. Two things can take it
in between:

- the kernel, which hands out ports of its ephemeral range to every outgoing
  connection (to PostgreSQL, Redis, a SIP peer...) and to every bind on port 0;
- SIPp, which binds the ports it is given plus the media ports after ``-mp``
  (RTP, RTCP, video), so two ports probed one after the other may collide when
  one falls next to the other.

So ports are drawn at random *below* the kernel's ephemeral range, where it
never allocates on its own, and every port handed out is remembered with a
guard band around it, so no later port of this test process lands on it or
its neighbours. A long run would use its range up that way: when no room is left,
the ports handed out long enough ago that their tests have ended
(``STALE_AFTER``) and that nothing holds any more are handed out again.

When the suite runs on several processes (pytest-xdist workers), each worker draws
from a slice of the range of its own: a port one worker probed free and handed out,
but whose server has not bound it yet, can never be handed out by another worker.
Another process on the machine may still take one (rarely); the runners that start
servers retry once on a lost bind (``bind_race_lost``).
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

GUARD = 4
"""Ports kept clear on each side of one handed out (SIPp's media uses mp..mp+3)."""

_LOWEST = 10000
"""Below this, ports belong to well-known and registered services often run locally."""

WIDE_ZONE = 3000
"""The top of the range is kept for wide blocks (a media engine's RTP ports): single ports handed
out by the hundreds in a long run would leave no wide gap anywhere else."""

STALE_AFTER = 180.0
"""Seconds after which a port handed out belongs to a test that has ended (pytest-timeout stops a
test after 120 s), so that it may be handed out again once nothing is bound to it."""

REFUSED_BY_BROWSERS = frozenset({10080})
"""Ports above ``_LOWEST`` that Chromium and Firefox refuse to load a page from
(``ERR_UNSAFE_PORT``); a web server the browser tests open must never get one."""

_issued: dict[int, float] = {}
"""Every port handed out and not given back, with the (monotonic) time it was handed out."""
_lock = threading.Lock()
_draw = random.Random()
_now = time.monotonic


def _ephemeral_start() -> int:
    """First port of the kernel's ephemeral range (Linux); 32768 when it cannot be read."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _free_block(port: int, span: int) -> bool:
    block = range(port, port + span)
    if not REFUSED_BY_BROWSERS.isdisjoint(block):
        return False
    if any(p + d in _issued for p in block for d in range(-GUARD, GUARD + 1)):
        return False
    return all(_bindable(p) for p in block)


def worker_share(environ: Mapping[str, str] = os.environ) -> tuple[int, int]:
    """This process's share of the ports: its pytest-xdist worker's number and the number of
    workers (``gw1`` of 2 is (1, 2)); (0, 1) for a run on one process."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    try:
        index, count = int(worker.removeprefix("gw")), int(environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    except ValueError:
        return 0, 1
    return (index, count) if 0 <= index < count else (0, 1)


def port_slice(share: tuple[int, int] | None = None) -> tuple[int, int, int]:
    """The ports a process may hand out, as (lowest, start of its wide zone, end (excluded)).

    The range below the kernel's ephemeral ports is cut into one slice per worker, with
    ``GUARD`` ports left between two slices; each slice keeps its top ports for wide blocks
    (``WIDE_ZONE``, or a quarter of the slice when the slices are narrow: single ports are what a
    worker hands out by the hundreds).
    """
    index, count = worker_share() if share is None else share
    end = max(_ephemeral_start(), _LOWEST + count * (WIDE_ZONE + 1000))
    size = (end - _LOWEST) // count
    low = _LOWEST + index * size
    top = low + size - (GUARD if index < count - 1 else 0)
    return low, top - min(WIDE_ZONE, size // 4), top


def free_port(*, span: int = 1) -> int:
    """A port free for UDP and TCP on 127.0.0.1, with the ``span - 1`` ports after it.

    It lies outside the kernel's ephemeral range, in this process's slice of the ports
    (``port_slice``), and none of the block is within ``GUARD`` of a port handed out before in
    this process. Wide blocks come from the slice's wide zone, the others from below it.
    When the slice has no room left, the ports handed out more than ``STALE_AFTER`` seconds ago
    are forgotten and the search runs once more (the probe still skips those bound).
    """
    with _lock:
        port = _search(span)
        if port is None:
            stale = _now() - STALE_AFTER
            for old in [p for p, issued in _issued.items() if issued < stale]:
                del _issued[old]
            port = _search(span)
        if port is None:
            raise RuntimeError("no free port on 127.0.0.1")
        _issued.update(dict.fromkeys(range(port, port + span), _now()))
        return port


def _search(span: int) -> int | None:
    """Random draws first, then in order; a wide block the wide zone has no room for (other
    processes of the machine bind there too) is looked for in the whole slice."""
    lowest, wide_start, end = port_slice()
    wide = span > 2 * GUARD
    low, top = (wide_start, end - span) if wide else (lowest, wide_start - span)
    for _ in range(1000):
        port = _draw.randrange(low, top)
        if _free_block(port, span):
            return port
    ranges = [range(low, top, GUARD + 1)]
    if wide:
        ranges.append(range(lowest, end - span, GUARD + 1))
    for candidates in ranges:
        for port in candidates:
            if _free_block(port, span):
                return port
    return None


def release(port: int, span: int = 1) -> None:
    """Give back a block whose server has stopped, so a long run does not use the range up."""
    with _lock:
        for given in range(port, port + span):
            _issued.pop(given, None)


def bind_race_lost(output: str) -> bool:
    """Whether a server (SIPp, ``nuage serve``) stopped because a port it was given was taken first."""
    return "errno = 98" in output or "Address already in use" in output or "address already in use" in output
