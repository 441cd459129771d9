"""CAP-3 across several SIP nodes: the ``Channels`` port of the call policy, counted in Redis.

This adapter owns the Redis side of channel counting (the scripts, the lease, the heartbeat,
the outage fallback); the counting rule itself and the in-memory counter stay in
``nuage.policy.channels``.

How it counts. Each holder (an account, or a customer trunk: ``nuage.policy.channels``) has one
Redis hash ``<prefix>ch:<holder>`` whose fields are node ids and whose values are the channels
that node holds for it; the holder's total is the sum over the **live** nodes. A node is live
while its lease key ``<prefix>lease:<node>`` exists: the node refreshes it every
``lease_s / 3`` seconds (the heartbeat), so a node that died stops counting ``lease_s`` seconds
later, and its fields are deleted by the next acquisition that meets them (stale holds reaped).
A node started again under the same ``node_id`` rewrites its fields at once (to zero: the
restart cut its calls); under a new id, its old holds expire with their lease.

The decision. ``try_acquire`` runs one Lua script, atomic in Redis, that sums the live counts
of every holder of the call and, only if each has a free channel, adds one for this node: two
nodes can never both take the last channel. The call waits for that one round trip, bounded
by a tight timeout (``timeout_s``, 100 ms by default): a call's decision never waits on the
database, and never long on Redis.

Each node also keeps its own calls in a local ``ChannelCounter``, which is the truth about this
node: releases are sent to Redis without being awaited, and the heartbeat rewrites this node's
fields from the local counter whenever no command is in flight, so a lost release or an outage
heals within one heartbeat.

Redis outage. When Redis does not answer in time (or refuses), the node decides alone for
``retry_s`` seconds: a holder is full when this node's own channels plus the other nodes'
channels last seen (``mirror``, refreshed by every successful acquisition) reach the limit.
Calls keep flowing, capacity is still enforced per node from the last known picture, and once
Redis answers again the heartbeat republishes this node's holds. Emergency calls (a ``None``
limit, EMG-4) never wait on Redis at all: they are taken locally and published in the
background.

All keys of one deployment share ``prefix``; the script touches keys it builds itself, so this
needs one Redis (or a primary with replicas), not a Redis Cluster.

Stopping always returns. Every Redis round trip is bounded with ``asyncio.timeout`` (never
``asyncio.wait_for``, which on Python 3.11 can swallow a cancellation that lands as the command
completes, leaving the heartbeat running and ``stop()`` waiting for it forever); the heartbeat
also ends at its next beat once ``stop()`` has begun, and ``stop()`` waits for it, for the
background sends and for the last publish only for a bounded time each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from nuage.policy.channels import ChannelCounter

log = logging.getLogger("nuage.policy.channels")

_T = TypeVar("_T")

STOP_GRACE_S = 1.0
"""How long ``stop()`` waits for each of its steps (heartbeat, background sends, last publish)."""

# KEYS: the holders' count hashes. ARGV: node, lease-key prefix, lease ms, node's holder-set key,
# then one limit per key (-1: no limit), then one holder name per key.
_ACQUIRE = """
local node, lease_prefix, lease_ms, held = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n = #KEYS
redis.call('SET', lease_prefix .. node, '1', 'PX', lease_ms)
local full, others = {}, {}
for i = 1, n do
  local limit = tonumber(ARGV[4 + i])
  local fields = redis.call('HGETALL', KEYS[i])
  local total, other = 0, 0
  for j = 1, #fields, 2 do
    local owner, count = fields[j], tonumber(fields[j + 1])
    if owner ~= node and redis.call('EXISTS', lease_prefix .. owner) == 0 then
      redis.call('HDEL', KEYS[i], owner)
    else
      total = total + count
      if owner ~= node then other = other + count end
    end
  end
  others[i] = other
  if limit >= 0 and total >= limit then full[#full + 1] = i end
end
if #full == 0 then
  for i = 1, n do
    redis.call('HINCRBY', KEYS[i], node, 1)
    redis.call('SADD', held, ARGV[4 + n + i])
  end
end
return {full, others}
"""

# KEYS: the holders' count hashes. ARGV: node.
_RELEASE = """
for i = 1, #KEYS do
  if redis.call('HINCRBY', KEYS[i], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 0
"""

# KEYS: node's holder set, node's lease key. ARGV: node, lease ms, count-key prefix, then
# holder, count pairs: this node's truth. Fields of holders not listed are deleted.
_PUBLISH = """
local node, set = ARGV[1], KEYS[1]
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[2]))
else
  redis.call('DEL', KEYS[2])
end
local keep = {}
for i = 4, #ARGV, 2 do keep[ARGV[i]] = ARGV[i + 1] end
for _, holder in ipairs(redis.call('SMEMBERS', set)) do
  if keep[holder] == nil then
    redis.call('HDEL', ARGV[3] .. holder, node)
    redis.call('SREM', set, holder)
  end
end
for holder, count in pairs(keep) do
  redis.call('HSET', ARGV[3] .. holder, node, count)
  redis.call('SADD', set, holder)
end
return 0
"""

# KEYS: count hashes. ARGV: lease-key prefix. The live total of each.
_TOTALS = """
local totals = {}
for i = 1, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  local total = 0
  for j = 1, #fields, 2 do
    if redis.call('EXISTS', ARGV[1] .. fields[j]) == 1 then total = total + tonumber(fields[j + 1]) end
  end
  totals[i] = total
end
return totals
"""


class RedisChannels:
    """CAP-3 channels shared by the SIP nodes through Redis (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        node_id: str,
        prefix: str = "nuage:sip:",
        lease_s: float = 15.0,
        timeout_s: float = 0.1,
        retry_s: float = 1.0,
    ) -> None:
        self.node_id = node_id
        self._url = url
        self._prefix = prefix
        self._lease_ms = max(1, int(lease_s * 1000))
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self.local = ChannelCounter()  # this node's calls: the truth about this node
        self.mirror: dict[str, int] = {}  # the other nodes' channels per holder, as last seen
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._down_until = 0.0
        self._in_flight = 0
        self._background: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = False

    # -- keys ------------------------------------------------------------------------------------
    def _count_key(self, holder: str) -> str:
        return f"{self._prefix}ch:{holder}"

    @property
    def _lease_prefix(self) -> str:
        return f"{self._prefix}lease:"

    @property
    def _held_key(self) -> str:
        return f"{self._prefix}node:{self.node_id}:holders"

    # -- life --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, drop what a previous life of this node id held, and start the heartbeat."""
        from redis.asyncio import Redis

        self._client = Redis.from_url(
            self._url,
            socket_timeout=max(self._timeout_s, 0.5),
            socket_connect_timeout=max(self._timeout_s, 0.5),
        )
        for name, source in (
            ("acquire", _ACQUIRE),
            ("release", _RELEASE),
            ("publish", _PUBLISH),
            ("totals", _TOTALS),
        ):
            self._scripts[name] = self._client.register_script(source)
        try:
            await _bounded(self.publish(), max(self._timeout_s, 0.5))
        except Exception as error:  # Redis down at start: count locally, heal at the next heartbeat
            self._mark_down(error)
        self._stopping = False
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="sip-channels-heartbeat")

    async def stop(self) -> None:
        """Stop the heartbeat, give back this node's channels in Redis and disconnect.

        Always returns, within a few ``STOP_GRACE_S``, however slow or unreachable Redis is.
        """
        self._stopping = True
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            await _finish(heartbeat)
        background = list(self._background)
        if background:
            _, late = await asyncio.wait(background, timeout=STOP_GRACE_S)
            for task in late:
                await _finish(task)
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await _bounded(
                self._scripts["publish"](
                    keys=[self._held_key, self._lease_prefix + self.node_id],
                    args=[self.node_id, 0, self._prefix + "ch:"],
                ),
                STOP_GRACE_S,
            )
        except Exception as error:
            log.warning(
                "could not give back this node's channels in Redis (they expire with its lease): %s", error
            )
        try:
            await _bounded(client.aclose(), STOP_GRACE_S)
        except Exception as error:
            log.warning("closing the Redis connection failed: %s", error)

    # -- the decision --------------------------------------------------------------------------------
    async def try_acquire(self, call_id: str, limits: Mapping[str, int | None]) -> list[str]:
        """Atomic check-and-take across nodes; alone from the mirror while Redis is out."""
        holders = tuple(limits)
        if not holders:
            self.local.acquire(call_id, holders)
            return []
        if all(limit is None for limit in limits.values()):  # EMG-4: never wait on Redis
            self.local.acquire(call_id, holders)
            self._spawn(self._send("acquire-unchecked", holders))
            return []
        if self._client is not None and time.monotonic() >= self._down_until:
            self._in_flight += 1
            try:
                result = await _bounded(
                    self._acquire_script(holders, [limits[h] for h in holders]), self._timeout_s
                )
            except Exception as error:
                self._mark_down(error)
            else:
                full_indexes, others = result
                for holder, other in zip(holders, others, strict=True):
                    self.mirror[holder] = int(other)
                if full_indexes:
                    return [holders[int(i) - 1] for i in full_indexes]
                self.local.acquire(call_id, holders)
                return []
            finally:
                self._in_flight -= 1
        full = [
            h
            for h, limit in limits.items()
            if limit is not None and self.local.in_use(h) + self.mirror.get(h, 0) >= limit
        ]
        if not full:
            self.local.acquire(call_id, holders)
        return full

    def release(self, call_id: str) -> None:
        """Give back locally at once; in Redis in the background."""
        holders = self.local.release_holders(call_id)
        if holders:
            self._spawn(self._send("release", holders))

    def forget(self, call_id: str) -> None:
        """Give back every channel ``call_id`` holds."""
        while call_id in self.local.held_calls():
            self.release(call_id)

    def held_calls(self) -> set[str]:
        """This node's calls holding channels."""
        return self.local.held_calls()

    def in_use(self, holder: str) -> int:
        """This node's channels plus the other nodes' as last seen."""
        return self.local.in_use(holder) + self.mirror.get(holder, 0)

    # -- reading and publishing ------------------------------------------------------------------
    async def totals(self, holders: list[str]) -> dict[str, int]:
        """The live totals in Redis of these holders, every node included (awaits Redis)."""
        if not holders:
            return {}
        values = await self._scripts["totals"](
            keys=[self._count_key(h) for h in holders], args=[self._lease_prefix]
        )
        return {h: int(v) for h, v in zip(holders, values, strict=True)}

    async def publish(self) -> None:
        """Refresh this node's lease and rewrite its fields from its local counts."""
        pairs: list[str | int] = []
        for holder, count in self.local.counts().items():
            pairs += [holder, count]
        await self._scripts["publish"](
            keys=[self._held_key, self._lease_prefix + self.node_id],
            args=[self.node_id, self._lease_ms, self._prefix + "ch:", *pairs],
        )

    async def _beat_forever(self) -> None:
        interval = self._lease_ms / 3000
        while not self._stopping:
            await asyncio.sleep(interval)
            if self._in_flight or self._stopping:
                continue  # a command in flight would race the rewrite; the next beat does it
            try:
                await _bounded(self.publish(), max(self._timeout_s, interval / 2))
            except Exception as error:
                self._mark_down(error)
            else:
                if self._down_until:
                    log.warning("Redis answers again: channels shared with the other SIP nodes")
                self._down_until = 0.0

    def _acquire_script(self, holders: tuple[str, ...], limits: list[int | None]) -> Awaitable[Any]:
        """The acquire script for ``holders`` (a None limit: take the channel whatever the count)."""
        return self._scripts["acquire"](  # type: ignore[no-any-return]
            keys=[self._count_key(h) for h in holders],
            args=[
                self.node_id,
                self._lease_prefix,
                self._lease_ms,
                self._held_key,
                *(-1 if limit is None else limit for limit in limits),
                *holders,
            ],
        )

    async def _send(self, kind: str, holders: tuple[str, ...]) -> None:
        if self._client is None or time.monotonic() < self._down_until:
            return  # the heartbeat publishes this node's truth once Redis is back
        self._in_flight += 1
        try:
            if kind == "release":
                await _bounded(
                    self._scripts["release"](keys=[self._count_key(h) for h in holders], args=[self.node_id]),
                    self._timeout_s,
                )
            else:
                await _bounded(self._acquire_script(holders, [None] * len(holders)), self._timeout_s)
        except Exception as error:
            self._mark_down(error)
        finally:
            self._in_flight -= 1

    def _spawn(self, coroutine: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the heartbeat publishes it
            coroutine.close()
            return
        task = loop.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _mark_down(self, error: BaseException) -> None:
        if time.monotonic() >= self._down_until:
            log.warning(
                "Redis did not answer (%s): channels counted on this node alone for %.1f s",
                type(error).__name__,
                self._retry_s,
            )
        self._down_until = time.monotonic() + self._retry_s


async def _bounded(awaitable: Awaitable[_T], seconds: float) -> _T:
    """``awaitable`` within ``seconds`` (TimeoutError after); a cancellation always propagates."""
    async with asyncio.timeout(seconds):
        return await awaitable


async def _finish(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it to end, for at most ``STOP_GRACE_S``; never raise."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
    if not done:
        log.warning("task %s did not end within %.1f s of its cancellation", task.get_name(), STOP_GRACE_S)
        return
    if not task.cancelled() and task.exception() is not None:
        log.warning("task %s failed: %s", task.get_name(), task.exception())
