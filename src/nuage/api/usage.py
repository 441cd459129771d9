"""API-3: requests, errors and refusals counted per client and per account, for the operator to see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Outcome = Literal["ok", "error", "refused"]
_FIELD = {"ok": "requests", "error": "errors", "refused": "refusals"}


@dataclass(frozen=True)
class UsageRow:
    """What one client (or portal user) of one account did since the counters started."""

    account_id: str
    client_id: str
    requests: int
    errors: int
    refusals: int


class UsageMeter(Protocol):
    """Counts each authenticated request once; errors and refusals are counted among requests."""

    async def record(self, account_id: str, client_id: str, outcome: Outcome) -> None: ...
    async def rows(self) -> list[UsageRow]: ...
    async def close(self) -> None: ...


class MemoryUsageMeter:
    """API-3 counters of one web node."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}

    async def record(self, account_id: str, client_id: str, outcome: Outcome) -> None:
        counts = self._counts.setdefault((account_id, client_id), [0, 0, 0])
        counts[0] += 1
        if outcome == "error":
            counts[1] += 1
        elif outcome == "refused":
            counts[2] += 1

    async def rows(self) -> list[UsageRow]:
        return [UsageRow(a, c, *counts) for (a, c), counts in sorted(self._counts.items())]

    async def close(self) -> None:
        return None


class RedisUsageMeter:
    """API-3 counters shared by every web node, in one Redis hash."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self._url = url
        self._key = f"{prefix}usage"
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self._url)
        return self._client

    async def record(self, account_id: str, client_id: str, outcome: Outcome) -> None:
        pipe = self._redis().pipeline(transaction=False)
        pipe.hincrby(self._key, f"{account_id}|{client_id}|requests", 1)
        if outcome != "ok":
            pipe.hincrby(self._key, f"{account_id}|{client_id}|{_FIELD[outcome]}", 1)
        await pipe.execute()

    async def rows(self) -> list[UsageRow]:
        raw: dict[bytes, bytes] = await self._redis().hgetall(self._key)
        table: dict[tuple[str, str], dict[str, int]] = {}
        for field, value in raw.items():
            account_id, client_id, metric = field.decode().rsplit("|", 2)
            table.setdefault((account_id, client_id), {})[metric] = int(value)
        return [
            UsageRow(a, c, m.get("requests", 0), m.get("errors", 0), m.get("refusals", 0))
            for (a, c), m in sorted(table.items())
        ]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
