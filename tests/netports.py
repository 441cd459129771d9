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
its neighbours. Another process on the machine may still take one (rarely);
the runners that start servers retry once on a lost bind (``bind_race_lost``).
"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

GUARD = 4
"""Ports kept clear on each side of one handed out (SIPp's media uses mp..mp+3)."""

_LOWEST = 10000
"""Below this, ports belong to well-known and registered services often run locally."""

WIDE_ZONE = 3000
"""The top of the range is kept for wide blocks (a media engine's RTP ports): single ports handed
out by the hundreds in a long run would leave no wide gap anywhere else."""

_issued: set[int] = set()
_lock = threading.Lock()
_draw = random.Random()


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
    if any(p + d in _issued for p in block for d in range(-GUARD, GUARD + 1)):
        return False
    return all(_bindable(p) for p in block)


def free_port(*, span: int = 1) -> int:
    """A port free for UDP and TCP on 127.0.0.1, with the ``span - 1`` ports after it.

    It lies outside the kernel's ephemeral range, and none of the block is within
    ``GUARD`` of a port handed out before in this process. Wide blocks come from the top
    ``WIDE_ZONE`` ports, the others from below it. Random draws first, then in order.
    """
    end = max(_ephemeral_start(), _LOWEST + WIDE_ZONE + 1000)
    wide = span > 2 * GUARD
    low, top = (end - WIDE_ZONE, end - span) if wide else (_LOWEST, end - WIDE_ZONE - span)
    with _lock:
        for _ in range(1000):
            port = _draw.randrange(low, top)
            if _free_block(port, span):
                _issued.update(range(port, port + span))
                return port
        for port in range(low, top, GUARD + 1):
            if _free_block(port, span):
                _issued.update(range(port, port + span))
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def release(port: int, span: int = 1) -> None:
    """Give back a block whose server has stopped, so a long run does not use the range up."""
    with _lock:
        _issued.difference_update(range(port, port + span))


def bind_race_lost(output: str) -> bool:
    """Whether a server (SIPp, ``nuage serve``) stopped because a port it was given was taken first."""
    return "errno = 98" in output or "Address already in use" in output or "address already in use" in output
