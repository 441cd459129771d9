"""CAP-3 channel counting, both implementations: in memory (one node) and in Redis (several).

The Redis tests run against the real Redis on 127.0.0.1:6379, each under a key prefix of its own
that is deleted afterwards; they are skipped when no Redis answers there.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from netports import free_port
from nuage.adapters.redis_channels import STOP_GRACE_S, RedisChannels
from nuage.policy import ChannelCounter, Channels, trunk_holder
from waiting import wait_for_condition

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason=f"Redis not reachable at {REDIS_URL}")

Factory = Callable[..., Awaitable[RedisChannels]]


async def _released_everywhere(channels: Channels, holder: str, expected: int) -> None:
    """Wait until the channels ``holder`` holds, as Redis counts them over every node, are ``expected``."""
    if not isinstance(channels, RedisChannels):
        assert channels.in_use(holder) == expected
        return

    async def counted() -> bool:
        return await channels.totals([holder]) == {holder: expected}

    await wait_for_condition(counted, timeout=10, what=f"{expected} channels of {holder} in Redis")


@pytest.fixture
async def redis_nodes() -> AsyncIterator[Factory]:
    """Start SIP nodes' counters sharing one fresh key prefix; stop them and delete the keys."""
    import redis.asyncio

    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    started: list[RedisChannels] = []

    async def node(node_id: str, **kwargs: object) -> RedisChannels:
        counter = RedisChannels(REDIS_URL, node_id=node_id, prefix=prefix, **kwargs)  # type: ignore[arg-type]
        await counter.start()
        started.append(counter)
        return counter

    try:
        yield node
    finally:
        for counter in started:
            await counter.stop()
        if started:
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def channels(request: pytest.FixtureRequest, redis_nodes: Factory) -> AsyncIterator[Channels]:
    """Both implementations of the port."""
    if request.param == "memory":
        yield ChannelCounter()
        return
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    yield await redis_nodes("node-a")


@pytest.mark.rule("CAP-3")
async def test_a_holder_at_its_limit_is_full_and_a_release_frees_a_channel(channels: Channels) -> None:
    assert await channels.try_acquire("c1", {"acc": 2}) == []
    assert await channels.try_acquire("c2", {"acc": 2}) == []
    assert await channels.try_acquire("c3", {"acc": 2}) == ["acc"]
    assert channels.in_use("acc") == 2
    channels.release("c1")
    await _released_everywhere(channels, "acc", 1)  # Redis: the release is sent in the background
    assert await channels.try_acquire("c3", {"acc": 2}) == []
    assert channels.held_calls() == {"c2", "c3"}


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-3")
async def test_nothing_is_taken_when_one_holder_of_the_call_is_full(channels: Channels) -> None:
    trunk = trunk_holder("pbx")
    assert await channels.try_acquire("c1", {"acc": 5, trunk: 1}) == []
    assert await channels.try_acquire("c2", {"acc": 5, trunk: 1}) == [trunk]
    assert channels.in_use("acc") == 1  # the account's channel was not taken either
    assert await channels.try_acquire("c3", {"acc": 5}) == []
    assert channels.in_use("acc") == 2


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("EMG-4")
async def test_a_holder_without_limit_is_never_full_but_counts(channels: Channels) -> None:
    assert await channels.try_acquire("c1", {"acc": 1}) == []
    assert await channels.try_acquire("sos", {"acc": None}) == []  # EMG-4: beyond capacity
    assert channels.in_use("acc") == 2
    channels.forget("sos")
    channels.forget("c1")
    assert channels.in_use("acc") == 0


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_two_sip_nodes_share_an_accounts_channels(redis_nodes: Factory) -> None:
    first, second = await redis_nodes("node-a"), await redis_nodes("node-b")
    assert await first.try_acquire("a1", {"acc": 3}) == []
    assert await second.try_acquire("b1", {"acc": 3}) == []
    assert await first.try_acquire("a2", {"acc": 3}) == []
    assert await second.try_acquire("b2", {"acc": 3}) == ["acc"]  # 3 in use across the two
    assert second.in_use("acc") == 3  # its own one and the two it saw on the other node
    assert await first.totals(["acc"]) == {"acc": 3}
    first.release("a1")
    await _released_everywhere(first, "acc", 2)
    assert await second.try_acquire("b2", {"acc": 3}) == []


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_concurrent_calls_on_two_nodes_never_exceed_the_capacity(redis_nodes: Factory) -> None:
    # What is tested is the shared count, not the fallback: a loaded test machine may take more than
    # the default 100 ms to answer 40 calls at once, and a node that gives up counts alone.
    first, second = await redis_nodes("node-a", timeout_s=2.0), await redis_nodes("node-b", timeout_s=2.0)
    results = await asyncio.gather(
        *(node.try_acquire(f"{node.node_id}-{n}", {"acc": 5}) for n in range(20) for node in (first, second))
    )
    assert sum(1 for full in results if not full) == 5
    assert await first.totals(["acc"]) == {"acc": 5}


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_the_holds_of_a_node_that_died_are_reaped_when_its_lease_expires(redis_nodes: Factory) -> None:
    survivor = await redis_nodes("survivor")
    dead = await redis_nodes("dead", lease_s=0.3)
    assert await dead.try_acquire("d1", {"acc": 2}) == []
    assert await dead.try_acquire("d2", {"acc": 2}) == []
    assert await survivor.try_acquire("s1", {"acc": 2}) == ["acc"]
    assert dead._heartbeat is not None
    dead._heartbeat.cancel()  # the node dies: nobody refreshes its lease, nobody releases its calls
    await _released_everywhere(survivor, "acc", 0)  # its lease expires
    assert await survivor.try_acquire("s1", {"acc": 2}) == []  # the dead node's holds are reaped
    assert await survivor.totals(["acc"]) == {"acc": 1}


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_a_node_restarted_under_its_id_gives_back_what_its_previous_life_held(
    redis_nodes: Factory,
) -> None:
    before = await redis_nodes("node-a")
    other = await redis_nodes("node-b")
    for n in range(3):
        assert await before.try_acquire(f"a{n}", {"acc": 4, trunk_holder("pbx"): None}) == []
    assert await other.try_acquire("b0", {"acc": 4}) == []
    assert before._heartbeat is not None
    before._heartbeat.cancel()  # crash: no release, and the lease (15 s) is still running
    after = await redis_nodes("node-a")  # the same node id comes back, with no call
    assert await other.totals(["acc", trunk_holder("pbx")]) == {"acc": 1, trunk_holder("pbx"): 0}
    assert after.in_use("acc") == 0
    assert await after.try_acquire("a9", {"acc": 4}) == []


@needs_redis
@pytest.mark.rule("CAP-3")
async def test_a_heartbeat_heals_a_release_that_redis_missed(redis_nodes: Factory) -> None:
    node = await redis_nodes("node-a", lease_s=0.3)
    assert await node.try_acquire("c1", {"acc": 2}) == []
    assert await node.try_acquire("c2", {"acc": 2}) == []
    node.local.release("c1")  # given back locally only, as when Redis missed the release
    assert await node.totals(["acc"]) == {"acc": 2}
    await _released_everywhere(node, "acc", 1)  # a heartbeat (every lease / 3) rewrites this node's counts


@pytest.mark.rule("CAP-3")
async def test_while_redis_is_out_a_node_decides_alone_at_once(caplog: pytest.LogCaptureFixture) -> None:
    node = RedisChannels(f"redis://127.0.0.1:{free_port()}/0", node_id="alone", timeout_s=0.05, retry_s=5)
    await node.start()  # nothing listens there: start does not fail
    try:
        node.mirror["acc"] = 1  # what the other nodes held when Redis was last seen
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await node.try_acquire("c1", {"acc": 3}) == []
        assert await node.try_acquire("c2", {"acc": 3}) == []
        assert await node.try_acquire("c3", {"acc": 3}) == ["acc"]  # 2 here + 1 elsewhere
        assert await node.try_acquire("sos", {"acc": None}) == []  # EMG-4
        assert loop.time() - started < 0.5  # no call waited on the dead Redis
        assert "channels counted on this node alone" in caplog.text
    finally:
        await node.stop()


class SilentServer:
    """A TCP server on loopback that accepts every connection and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", free_port())
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        while data := await reader.read(4096):
            self.received += len(data)

    async def close(self) -> None:
        assert self._server is not None
        for writer in self._writers:
            writer.close()
        self._server.close()
        await self._server.wait_closed()


@pytest.mark.rule("CAP-3")
async def test_stop_returns_promptly_while_redis_accepts_and_never_answers() -> None:
    silent = SilentServer()
    port = await silent.start()
    try:
        # a heartbeat every 0.1 s, each one left hanging by the server until its timeout
        node = RedisChannels(f"redis://127.0.0.1:{port}/0", node_id="hung", lease_s=0.3, timeout_s=0.05)
        await node.start()
        await wait_for_condition(lambda: silent.connections >= 2, timeout=30, what="heartbeats sent")
        assert await node.try_acquire("c1", {"acc": 3}) == []  # decided alone, at once
        node.release("c1")  # a background send left hanging too
        loop = asyncio.get_running_loop()
        for _ in range(5):  # stop in the middle of whatever is in flight, several times over
            started = loop.time()
            async with asyncio.timeout(10 * STOP_GRACE_S):
                await node.stop()
            assert loop.time() - started < 5 * STOP_GRACE_S
            await node.start()
        await node.stop()
    finally:
        await silent.close()
