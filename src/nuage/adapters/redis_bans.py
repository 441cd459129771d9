"""SIP-5: the SIP edge's bans shared by several SIP nodes in Redis (the ``BanStore`` port of
``nuage.sip.ports``), used when ``sip.bans = "redis"``.

One key per banned address, ``<prefix>ban:<address>``, holds the ban (JSON: since, until,
reason) and expires with it: Redis holds only the bans in force. Each node writes its bans
behind and reads the others' back (``nuage.sip.bans``); the API and the CLI list and lift them
here. A Redis that does not answer within the timeout raises: the caller retries or says so.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nuage.sip.ports import BanRecord

MAX_LOADED = 100_000  # bans read at once: a spoofed flood of distinct addresses stays bounded


class RedisBanStore:
    """Bans in Redis, one expiring key each; one client per store (``close`` releases it)."""

    def __init__(self, url: str, *, prefix: str = "nuage:sip:", timeout_s: float = 2.0) -> None:
        self._url = url
        self._prefix = f"{prefix}ban:"
        self._timeout_s = timeout_s
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                self._url, socket_timeout=self._timeout_s, socket_connect_timeout=self._timeout_s
            )
        return self._client

    async def close(self) -> None:
        """Disconnect."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def active(self, now: datetime) -> list[BanRecord]:
        """The bans in force at ``now``, the longest remaining first."""
        client = self._redis()
        found: list[BanRecord] = []
        async with asyncio.timeout(self._timeout_s):
            keys = [key async for key in client.scan_iter(match=f"{self._prefix}*", count=1000)]
            keys = keys[:MAX_LOADED]
            values = await client.mget(keys) if keys else []
        for key, value in zip(keys, values, strict=True):
            if value is None:  # expired between the scan and the read
                continue
            data = json.loads(value)
            ban = BanRecord(
                key.decode()[len(self._prefix) :],
                datetime.fromisoformat(data["since"]),
                datetime.fromisoformat(data["until"]),
                data["reason"],
            )
            if ban.until > now:
                found.append(ban)
        found.sort(key=lambda b: b.until, reverse=True)
        return found

    async def add(self, bans: Sequence[BanRecord]) -> None:
        """Store bans (replacing those of the same addresses), each key expiring with its ban."""
        client = self._redis()
        async with asyncio.timeout(self._timeout_s):
            async with client.pipeline(transaction=False) as pipe:
                for ban in bans:
                    value = json.dumps(
                        {"since": ban.since.isoformat(), "until": ban.until.isoformat(), "reason": ban.reason}
                    )
                    expires_ms = int(
                        ban.until.timestamp() * 1000
                    )  # absolute: a late write still ends on time
                    pipe.set(f"{self._prefix}{ban.address}", value, pxat=expires_ms)
                await pipe.execute()

    async def lift(self, address: str, now: datetime) -> bool:
        """Remove the ban of ``address``; whether one was in force (an expired key is gone)."""
        async with asyncio.timeout(self._timeout_s):
            return bool(await self._redis().delete(f"{self._prefix}{address}"))
