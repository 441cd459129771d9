"""API-2: per-account limits on requests in flight (10 reads, 1 write by default), refused at once.

Two implementations of one port: :class:`MemoryLimiter` counts in the process (one web node), and
:class:`RedisLimiter` counts in Redis for several web nodes, atomically (one Lua script per
acquisition) and with a lease, so that a node that crashes mid-request cannot keep a slot longer
than ``lease_s``.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal, Protocol

Access = Literal["read", "write"]


class ConcurrencyLimiter(Protocol):
    """Hands out per-account slots; ``acquire`` never waits: it says yes or no at once (API-2)."""

    async def acquire(self, account_id: str, access: Access, limit: int) -> str | None: ...
    async def release(self, account_id: str, access: Access, slot: str) -> None: ...
    async def in_flight(self, account_id: str, access: Access) -> int: ...
    async def close(self) -> None: ...


class MemoryLimiter:
    """API-2 within one process; safe without a lock because it runs on the event loop only."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, Access], int] = {}

    async def acquire(self, account_id: str, access: Access, limit: int) -> str | None:
        key = (account_id, access)
        current = self._counts.get(key, 0)
        if current >= limit:
            return None
        self._counts[key] = current + 1
        return "slot"

    async def release(self, account_id: str, access: Access, slot: str) -> None:
        key = (account_id, access)
        remaining = self._counts.get(key, 0) - 1
        if remaining > 0:
            self._counts[key] = remaining
        else:
            self._counts.pop(key, None)

    async def in_flight(self, account_id: str, access: Access) -> int:
        return self._counts.get((account_id, access), 0)

    async def close(self) -> None:
        self._counts.clear()


# One sorted set per (account, access): members are slots, scores their lease expiry (ms, server time).
_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
"""

_COUNT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
"""


class RedisLimiter:
    """API-2 across web nodes: atomic check-and-take in Redis, each slot leased for ``lease_s``."""

    def __init__(self, url: str, *, prefix: str, lease_s: float) -> None:
        self._url = url
        self._prefix = prefix
        self._lease_ms = int(lease_s * 1000)
        self._client: Any = None
        self._acquire: Any = None
        self._count: Any = None

    def _key(self, account_id: str, access: Access) -> str:
        return f"{self._prefix}slots:{account_id}:{access}"

    def _redis(self) -> Any:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self._url)
            self._acquire = self._client.register_script(_ACQUIRE)
            self._count = self._client.register_script(_COUNT)
        return self._client

    async def acquire(self, account_id: str, access: Access, limit: int) -> str | None:
        self._redis()
        slot = secrets.token_hex(8)
        taken = await self._acquire(keys=[self._key(account_id, access)], args=[limit, self._lease_ms, slot])
        return slot if int(taken) == 1 else None

    async def release(self, account_id: str, access: Access, slot: str) -> None:
        await self._redis().zrem(self._key(account_id, access), slot)

    async def in_flight(self, account_id: str, access: Access) -> int:
        self._redis()
        return int(await self._count(keys=[self._key(account_id, access)]))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
