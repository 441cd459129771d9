"""Waiting on a condition, never on the clock: tests pass on a quiet and on a loaded machine alike.

A test that waits for a server, a peer (SIPp, baresip) or a background flush polls what it waits
for, with a generous deadline that only a real failure reaches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def wait_until(
    predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.02, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what or predicate!r}")
        time.sleep(interval)


async def wait_for_condition(
    predicate: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30.0,
    interval: float = 0.02,
    what: str = "",
) -> None:
    """Poll ``predicate`` (plain or async) without blocking the loop, until it holds or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what or predicate!r}")
        await asyncio.sleep(interval)
