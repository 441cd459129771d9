"""A limiter that holds requests: API-2's real limiter, whose granted requests then wait, their slot
held, while the test says so. Requests truly overlap, without slowing the application down by a
setting or a clock; ``create_app(platform, limiter=...)`` takes it in place of the configured one."""

from __future__ import annotations

from collections.abc import Callable

from nuage.api.limits import Access, ConcurrencyLimiter
from waiting import wait_for_condition


class HoldingLimiter:
    """Delegates to ``inner``; while ``holding()`` is true, a granted request waits before it runs."""

    def __init__(self, inner: ConcurrencyLimiter, holding: Callable[[], bool] | None = None) -> None:
        self.inner = inner
        self._held = False
        self.holding = holding or (lambda: self._held)
        self.waiting = 0  # requests granted a slot and held right now

    def hold(self) -> None:
        """From now on, granted requests wait (with the default ``holding``)."""
        self._held = True

    def let_go(self) -> None:
        """Let the held requests (and all later ones) run."""
        self._held = False

    async def acquire(self, account_id: str, access: Access, limit: int) -> str | None:
        slot = await self.inner.acquire(account_id, access, limit)
        if slot is not None and self.holding():
            self.waiting += 1
            try:
                await wait_for_condition(lambda: not self.holding(), timeout=60, what="the test to let go")
            finally:
                self.waiting -= 1
        return slot

    async def release(self, account_id: str, access: Access, slot: str) -> None:
        await self.inner.release(account_id, access, slot)

    async def in_flight(self, account_id: str, access: Access) -> int:
        return await self.inner.in_flight(account_id, access)

    async def close(self) -> None:
        await self.inner.close()
