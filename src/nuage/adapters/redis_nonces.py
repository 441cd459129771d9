"""Digest nonce counts shared by several SIP nodes in Redis (the ``NonceCounts`` port of
``nuage.sip.digest``), so an answer accepted by one node cannot be replayed to another.

One key per nonce, ``<prefix>nc:<nonce>``, holds the highest count accepted, and expires with the
nonce: Redis holds at most the nonces answered within one nonce lifetime. One Lua script,
atomic in Redis, compares and raises the count. When Redis does not answer in time the node
falls back to its own bounded in-memory counts (replay across nodes is then possible until
Redis answers again; replay to the same node never is).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from nuage.sip.digest import NONCE_COUNTS_MAX, MemoryNonceCounts

log = logging.getLogger("nuage.adapters.redis_nonces")

# KEYS[1]: the nonce's key. ARGV: the count, the time to live in ms.
_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
"""


class RedisNonceCounts:
    """NonceCounts in Redis, with a local fallback while Redis is unreachable."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "nuage:sip:",
        timeout_s: float = 0.2,
        retry_s: float = 1.0,
        local_max: int = NONCE_COUNTS_MAX,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self.local = MemoryNonceCounts(local_max)  # while Redis is unreachable
        self._client: Any = None
        self._advance: Any = None
        self._down_until = 0.0

    async def start(self) -> None:
        """Connect (lazily: the first command opens the connection)."""
        from redis.asyncio import Redis

        self._client = Redis.from_url(
            self._url,
            socket_timeout=max(self._timeout_s, 0.5),
            socket_connect_timeout=max(self._timeout_s, 0.5),
        )
        self._advance = self._client.register_script(_ADVANCE)

    async def stop(self) -> None:
        """Disconnect."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def advance(self, nonce: str, count: int, ttl_s: float) -> bool:
        """Record ``count`` for ``nonce`` if higher than the count recorded by any node."""
        if self._client is None or time.monotonic() < self._down_until:
            return await self.local.advance(nonce, count, ttl_s)
        key = f"{self._prefix}nc:{nonce}"
        try:
            async with asyncio.timeout(self._timeout_s):
                result = await self._advance(keys=[key], args=[count, max(1, int(ttl_s * 1000))])
        except Exception as error:  # Redis down or slow: this node decides alone for a while
            log.warning(
                "nonce counts: Redis unavailable (%s); counting locally for %.0fs", error, self._retry_s
            )
            self._down_until = time.monotonic() + self._retry_s
            return await self.local.advance(nonce, count, ttl_s)
        return bool(result)
