"""Throttling of ``POST /oauth/token``: failed logins slow their account and their address down.

Three counters of failures (a wrong password or secret, an unknown user or client) are kept: per
account *and* address, per account (from any address), and per address (any account). Each allows
some failures free; every further failure doubles the wait before the next attempt of that
counter is even looked at (1 s, 2 s, 4 s ...), up to a ceiling. An attempt that comes too early
is answered 429 with ``Retry-After``, without checking the password, and is not counted. An
attempt is counted as a failure *before* its password is checked and given back if it succeeds,
so that many attempts sent at once cannot all slip through before the first failure is counted.

Never a lock-out for good: every wait has a ceiling, the per-account ceiling is short (one minute
by default, so that an attacker elsewhere cannot keep a real user out longer than that between two
of the attacker's own attempts), a counter is forgotten after a quiet spell, and a success clears
the account's counters (and gives the address its attempt back). Time is the platform's clock.

:class:`MemoryThrottle` keeps the counters in the process (one web node); :class:`RedisThrottle`
shares them between the web nodes (an atomic script per failure, keys expiring by themselves).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nuage.config import LoginThrottleSettings

Scope = Literal["account-and-address", "account", "address"]
#: each counter's key: the account name (e-mail or client id) and the address, as the counter needs
Keys = Mapping[Scope, str]


@dataclass(frozen=True)
class Policy:
    """One counter's rule: free failures, then a doubling wait up to ``max_delay_s``."""

    free_failures: int
    max_delay_s: float
    forget_after_s: float

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row."""
        extra = failures - self.free_failures
        if extra <= 0:
            return 0.0
        return min(self.max_delay_s, 2.0 ** min(extra - 1, 30))


def policies(settings: LoginThrottleSettings) -> dict[Scope, Policy]:
    """The three counters' rules from the settings (``[api.login]``)."""
    forget = settings.forget_after_s
    return {
        "account-and-address": Policy(
            settings.free_failures_per_account_and_address, settings.max_delay_s, forget
        ),
        "account": Policy(settings.free_failures_per_account, settings.max_delay_account_s, forget),
        "address": Policy(settings.free_failures_per_address, settings.max_delay_s, forget),
    }


def login_keys(account: str, address: str) -> dict[Scope, str]:
    """The counters' keys of an attempt on ``account`` (an e-mail or client id) from ``address``."""
    name = account.strip().casefold()[:320]
    return {"account-and-address": f"{name}|{address}", "account": name, "address": address}


@dataclass(frozen=True)
class Wait:
    """How long the attempt must wait, and which counter says so."""

    seconds: float
    scope: Scope

    @property
    def retry_after(self) -> int:
        """Whole seconds for ``Retry-After`` (never 0)."""
        return max(1, math.ceil(self.seconds))


class LoginThrottle(Protocol):
    """Where the counters live; ``now`` is the platform clock's Unix time."""

    async def wait(self, keys: Keys, now: float) -> Wait | None: ...
    async def failed(self, keys: Keys, now: float) -> None: ...
    async def succeeded(self, keys: Keys) -> None: ...
    async def close(self) -> None: ...


def _longest(waits: list[Wait]) -> Wait | None:
    waits = [w for w in waits if w.seconds > 0]
    return max(waits, key=lambda w: w.seconds) if waits else None


class MemoryThrottle:
    """The counters of one web node, bounded in size (the oldest forgotten first)."""

    def __init__(self, settings: LoginThrottleSettings, *, max_entries: int = 100_000) -> None:
        self._policies = policies(settings)
        self._max_entries = max_entries
        self._entries: dict[tuple[Scope, str], tuple[int, float, float]] = {}  # failures, until, last

    def _current(self, key: tuple[Scope, str], now: float) -> tuple[int, float, float]:
        entry = self._entries.get(key)
        if entry is None:
            return (0, 0.0, 0.0)
        failures, until, last = entry
        if now >= until and now - last > self._policies[key[0]].forget_after_s:
            del self._entries[key]
            return (0, 0.0, 0.0)
        return entry

    async def wait(self, keys: Keys, now: float) -> Wait | None:
        return _longest([Wait(self._current((s, k), now)[1] - now, s) for s, k in keys.items()])

    async def failed(self, keys: Keys, now: float) -> None:
        for scope, key in keys.items():
            failures, until, _ = self._current((scope, key), now)
            failures += 1
            until = max(until, now + self._policies[scope].delay(failures))
            self._entries.pop((scope, key), None)
            self._entries[(scope, key)] = (failures, until, now)  # last in the order: the newest
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]

    async def succeeded(self, keys: Keys) -> None:
        for scope in ("account-and-address", "account"):
            if scope in keys:
                self._entries.pop((scope, keys[scope]), None)
        entry = self._entries.get(("address", keys["address"])) if "address" in keys else None
        if entry is not None:
            failures, until, last = entry
            self._entries[("address", keys["address"])] = (max(0, failures - 1), until, last)

    async def close(self) -> None:
        self._entries.clear()


# A hash per counter: f (failures) and u (until, ms of the platform clock); it expires by itself.
_FAILED = """
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
local now = tonumber(ARGV[1])
local extra = failures - tonumber(ARGV[2])
local delay = 0
if extra > 0 then
  delay = math.min(tonumber(ARGV[3]), 2 ^ math.min(extra - 1, 30) * 1000)
  local old = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
  if now + delay > old then redis.call('HSET', KEYS[1], 'u', math.floor(now + delay)) end
end
redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[4]) + delay))
return failures
"""

_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
if tonumber(redis.call('HGET', KEYS[3], 'f') or '0') > 0 then redis.call('HINCRBY', KEYS[3], 'f', -1) end
return 0
"""


class RedisThrottle:
    """The counters in Redis, shared by the web nodes (``api.limits_backend = "redis"``)."""

    def __init__(self, settings: LoginThrottleSettings, url: str, *, prefix: str) -> None:
        self._policies = policies(settings)
        self._url = url
        self._prefix = prefix
        self._client: Any = None
        self._failed: Any = None
        self._succeeded: Any = None

    def _key(self, scope: Scope, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{self._prefix}login:{scope}:{digest}"

    def _redis(self) -> Any:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self._url)
            self._failed = self._client.register_script(_FAILED)
            self._succeeded = self._client.register_script(_SUCCEEDED)
        return self._client

    async def wait(self, keys: Keys, now: float) -> Wait | None:
        client = self._redis()
        scopes = list(keys)
        async with client.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.hget(self._key(scope, keys[scope]), "u")
            found = await pipe.execute()
        return _longest(
            [Wait(float(until) / 1000 - now, s) for s, until in zip(scopes, found, strict=True) if until]
        )

    async def failed(self, keys: Keys, now: float) -> None:
        self._redis()
        for scope, key in keys.items():
            policy = self._policies[scope]
            args = [int(now * 1000), policy.free_failures, int(policy.max_delay_s * 1000)]
            await self._failed(keys=[self._key(scope, key)], args=[*args, int(policy.forget_after_s * 1000)])

    async def succeeded(self, keys: Keys) -> None:
        self._redis()
        names = [self._key(s, keys[s]) for s in ("account-and-address", "account", "address")]
        await self._succeeded(keys=names)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def default_throttle(backend: str, settings: LoginThrottleSettings, url: str, prefix: str) -> LoginThrottle:
    """The throttle ``api.limits_backend`` names: Redis (shared by the web nodes) or this process."""
    if backend == "redis":
        return RedisThrottle(settings, url, prefix=prefix)
    return MemoryThrottle(settings)
