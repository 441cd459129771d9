"""Digest nonce counts shared by two SIP nodes through the real Redis on 127.0.0.1:6379 (issue #20).

Each test has a key prefix of its own and deletes its keys.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from nuage.adapters.redis_nonces import RedisNonceCounts
from nuage.sip.digest import DigestAuthenticator, Verdict, authorization_header

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_available(), reason=f"Redis not reachable at {REDIS_URL}")


@pytest.fixture
async def two_nodes() -> AsyncIterator[tuple[RedisNonceCounts, RedisNonceCounts, str]]:
    import redis.asyncio

    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    nodes = (RedisNonceCounts(REDIS_URL, prefix=prefix), RedisNonceCounts(REDIS_URL, prefix=prefix))
    for node in nodes:
        await node.start()
    yield nodes[0], nodes[1], prefix
    for node in nodes:
        await node.stop()
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.rule("SIP-5")
async def test_an_answer_accepted_by_one_node_is_a_replay_on_the_other(
    two_nodes: tuple[RedisNonceCounts, RedisNonceCounts, str],
) -> None:
    one, two, _ = two_nodes
    secret = secrets.token_bytes(32)
    node_a = DigestAuthenticator("nuage.local", secret=secret, counts=one)
    node_b = DigestAuthenticator("nuage.local", secret=secret, counts=two)
    source = ("UDP", "192.0.2.10")
    challenge = node_a.challenges(source=source)[0]
    header = authorization_header(
        challenge, username="alice", password="pw", method="INVITE", uri="sip:200@x"
    )
    credentials = node_a.credentials([header])
    assert credentials is not None

    async def check(node: DigestAuthenticator) -> Verdict:
        return await node.check(credentials, "pw", "INVITE", request_uri="sip:200@x", source=source)

    assert await check(node_a) is Verdict.OK
    assert await check(node_b) is Verdict.STALE  # the same nc, on the other node
    header = authorization_header(
        challenge, username="alice", password="pw", method="INVITE", uri="sip:200@x", nc=2
    )
    credentials = node_b.credentials([header])
    assert credentials is not None
    assert await check(node_b) is Verdict.OK  # the next count is good on either node
    assert await check(node_a) is Verdict.STALE


async def test_each_nonce_key_expires_with_its_nonce(
    two_nodes: tuple[RedisNonceCounts, RedisNonceCounts, str],
) -> None:
    import redis.asyncio

    one, _, prefix = two_nodes
    assert await one.advance("n1", 1, 30.0)
    assert not await one.advance("n1", 1, 30.0)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        ttl_ms = await client.pttl(f"{prefix}nc:n1")
    finally:
        await client.aclose()
    assert 0 < ttl_ms <= 30_000


async def test_unreachable_redis_falls_back_to_this_nodes_counts() -> None:
    counts = RedisNonceCounts("redis://127.0.0.1:1/0", prefix="nuage-test:down:", timeout_s=0.2)
    await counts.start()
    try:
        assert await counts.advance("n1", 1, 30.0)
        assert not await counts.advance("n1", 1, 30.0)  # replay to the same node: still refused
    finally:
        await counts.stop()
