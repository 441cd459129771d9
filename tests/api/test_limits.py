"""API-2: per account at most 10 reads and 1 write in flight; excess refused at once with 429."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from api.holding import HoldingLimiter
from api.support import Api
from nuage.api.limits import ConcurrencyLimiter, MemoryLimiter, RedisLimiter
from nuage.tenancy.model import PartyKind
from waiting import wait_for_condition

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[ConcurrencyLimiter]:
    """Both implementations of the port; Redis under a key prefix of its own."""
    if request.param == "memory":
        yield MemoryLimiter()
        return
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    found = RedisLimiter(REDIS_URL, prefix=f"nuage-test:{secrets.token_hex(6)}:", lease_s=30)
    try:
        yield found
    finally:
        await found.close()


@pytest.mark.rule("API-2")
async def test_slots_are_refused_beyond_the_limit_and_come_back_when_released(
    limiter: ConcurrencyLimiter,
) -> None:
    slots = [await limiter.acquire("cus_a", "read", 10) for _ in range(10)]
    assert all(slots)
    assert await limiter.acquire("cus_a", "read", 10) is None
    assert await limiter.in_flight("cus_a", "read") == 10
    assert await limiter.acquire("cus_b", "read", 10) is not None  # another account is unaffected
    assert await limiter.acquire("cus_a", "write", 1) is not None  # writes are counted apart
    first = slots[0]
    assert first is not None
    await limiter.release("cus_a", "read", first)
    assert await limiter.acquire("cus_a", "read", 10) is not None


@pytest.mark.rule("API-2")
async def test_concurrent_acquisitions_never_exceed_the_limit(limiter: ConcurrencyLimiter) -> None:
    results = await asyncio.gather(*(limiter.acquire("cus_c", "write", 1) for _ in range(20)))
    assert sum(r is not None for r in results) == 1


@pytest.mark.rule("API-2")
async def test_a_crashed_nodes_redis_slots_expire_with_their_lease() -> None:
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    crashed = RedisLimiter(REDIS_URL, prefix=prefix, lease_s=0.3)
    assert await crashed.acquire("cus_d", "write", 1) is not None
    await crashed.close()  # the node dies holding its slot: it never releases it
    survivor = RedisLimiter(REDIS_URL, prefix=prefix, lease_s=30)
    try:
        assert await survivor.acquire("cus_d", "write", 1) is None

        async def freed() -> bool:
            return await survivor.acquire("cus_d", "write", 1) is not None

        await wait_for_condition(freed, timeout=30, what="the crashed node's lease to expire")
    finally:
        await survivor.close()


@pytest.fixture
def api_limiter() -> HoldingLimiter:
    """The in-memory limiter, holding granted requests when a test says so."""
    return HoldingLimiter(MemoryLimiter())


@pytest.mark.rule("API-2")
async def test_the_eleventh_simultaneous_read_of_an_account_gets_429(
    api: Api, api_limiter: HoldingLimiter
) -> None:
    headers = await api.headers("demo-dupont")
    other = await api.headers("demo-lemaire")
    api_limiter.hold()
    reads = [asyncio.create_task(api.http.get("/me", headers=headers)) for _ in range(11)]
    await wait_for_condition(
        lambda: api_limiter.waiting == 10 and sum(read.done() for read in reads) == 1,
        what="ten reads in flight and one answered",
    )
    api_limiter.let_go()
    answers = await asyncio.gather(*reads)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 10 + [429]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error_id"] == "api-read-limit-reached"
    assert refused.json()["details"]["rule_id"] == "API-2"
    assert refused.json()["details"]["max_in_flight"] == 10
    assert (await api.http.get("/me", headers=other)).status_code == 200


@pytest.mark.rule("API-2")
async def test_the_limit_counts_all_clients_and_users_of_the_account_and_is_never_a_queue(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    limiter = api.runtime.limiter
    held = [await limiter.acquire(account, "write", 1)]  # a write of another client is in flight
    try:
        answer = await api.post("alice@dupont.example", "/rooms", json={"name": "Lab", "use": "users"})
        assert answer.status_code == 429
        assert answer.json()["error_id"] == "api-write-limit-reached"
    finally:
        slot = held[0]
        assert slot is not None
        await limiter.release(account, "write", slot)
    assert (
        await api.post("alice@dupont.example", "/rooms", json={"name": "Lab", "use": "users"})
    ).status_code == 201
    usage = (await api.get("demo-operator", f"/api-usage?account_id={account}")).json()
    assert sum(row["refusals"] for row in usage["items"]) == 1


@pytest.mark.rule("API-2")
async def test_operator_raises_an_accounts_limit_and_it_applies_at_once(api: Api) -> None:
    account = api.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    limiter = api.runtime.limiter
    held = await limiter.acquire(account, "write", 1)
    assert held is not None
    assert (await api.post("demo-dupont", "/rooms", json={"name": "A", "use": "users"})).status_code == 429
    raised = await api.put("demo-operator", f"/api-limits/{account}", json={"max_reads": 10, "max_writes": 2})
    assert raised.status_code == 200
    assert (await api.post("demo-dupont", "/rooms", json={"name": "A", "use": "users"})).status_code == 201
    await limiter.release(account, "write", held)
