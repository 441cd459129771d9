"""API-3: the usage counters, in memory and in Redis (shared by the web nodes)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from api.test_limits import REDIS_URL, _redis_available
from nuage.api.usage import MemoryUsageMeter, RedisUsageMeter, UsageMeter, UsageRow


@pytest.fixture(params=["memory", "redis"])
async def meter(request: pytest.FixtureRequest) -> AsyncIterator[UsageMeter]:
    if request.param == "memory":
        yield MemoryUsageMeter()
        return
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    found = RedisUsageMeter(REDIS_URL, prefix=f"nuage-test:{secrets.token_hex(6)}:")
    try:
        yield found
    finally:
        await found._redis().delete(found._key)
        await found.close()


@pytest.mark.rule("API-3")
async def test_requests_errors_and_refusals_are_counted_per_client_and_account(meter: UsageMeter) -> None:
    for outcome in ("ok", "ok", "error", "refused"):
        await meter.record("cus_a", "cli_1", outcome)  # type: ignore[arg-type]
    await meter.record("cus_a", "usr_2", "ok")
    await meter.record("cus_b", "cli_3", "refused")
    assert await meter.rows() == [
        UsageRow("cus_a", "cli_1", requests=4, errors=1, refusals=1),
        UsageRow("cus_a", "usr_2", requests=1, errors=0, refusals=0),
        UsageRow("cus_b", "cli_3", requests=1, errors=0, refusals=1),
    ]
