"""Failed logins at ``/oauth/token`` slow their account and address down, never for good (issue #21)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.support import PASSWORDS, SECRETS, Api
from nuage.api.throttle import LoginThrottle, MemoryThrottle, RedisThrottle, login_keys
from nuage.config import LoginThrottleSettings
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app

REDIS_URL = "redis://127.0.0.1:6379/0"
ALICE = "alice@dupont.example"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _form(password: str, who: str = ALICE) -> dict[str, str]:
    return {"grant_type": "password", "username": who, "password": password}


async def _from(api: Api, address: str, form: dict[str, str]) -> httpx.Response:
    """A token request from another client address (the same application)."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as http:
        return await http.post("/oauth/token", data=form)


async def test_failures_past_the_free_ones_get_429_with_a_doubling_retry_after(
    api: Api, clock: FrozenClock
) -> None:
    for _ in range(5):  # free: a typo or five
        assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400
    assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400  # 6th: 1 s
    refused = await api.http.post("/oauth/token", data=_form(PASSWORDS[ALICE]))
    assert refused.status_code == 429  # too early: not even the right password is looked at
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["cache-control"] == "no-store"
    body = refused.json()
    assert body["error_id"] == "login-throttled"
    assert body["error"] == "temporarily_unavailable"
    assert body["details"] == {"retry_after_s": 1, "scope": "account-and-address"}
    clock.advance(timedelta(seconds=1))
    assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400  # 7th: 2 s
    assert (await api.http.post("/oauth/token", data=_form("x"))).headers["retry-after"] == "2"
    clock.advance(timedelta(seconds=2))
    assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400  # 8th: 4 s
    assert (await api.http.post("/oauth/token", data=_form("x"))).headers["retry-after"] == "4"
    clock.advance(timedelta(seconds=4))
    assert (await api.http.post("/oauth/token", data=_form(PASSWORDS[ALICE]))).status_code == 200
    # a success clears the account's counters: five free failures again
    for _ in range(5):
        assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400


async def test_attempts_sent_at_once_cannot_slip_through_together(api: Api) -> None:
    answers = await asyncio.gather(
        *(api.http.post("/oauth/token", data=_form(f"parallel-guess-{n}")) for n in range(30))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [400] * 6 + [429] * 24  # five free, the sixth sets the first wait


async def test_other_accounts_and_addresses_are_not_slowed_by_one_accounts_failures(api: Api) -> None:
    for _ in range(6):
        await api.http.post("/oauth/token", data=_form("wrong-password"))
    assert (await api.http.post("/oauth/token", data=_form("x"))).status_code == 429
    bob = "bob@dupont.example"
    assert (await api.http.post("/oauth/token", data=_form(PASSWORDS[bob], bob))).status_code == 200
    assert (await _from(api, "192.0.2.7", _form(PASSWORDS[ALICE]))).status_code == 200


async def test_client_credentials_are_throttled_alike(api: Api) -> None:
    form = {"grant_type": "client_credentials", "client_id": "demo-dupont", "client_secret": "guess"}
    statuses = [(await api.http.post("/oauth/token", data=form)).status_code for _ in range(7)]
    assert statuses == [401] * 6 + [429]
    right = {**form, "client_secret": SECRETS["demo-dupont"]}
    assert (await api.http.post("/oauth/token", data=right)).status_code == 429


@pytest.mark.parametrize("api_settings", [{"login": {"free_failures_per_account": 3}}])
async def test_an_attacker_elsewhere_delays_a_real_user_by_at_most_a_minute(
    api: Api, clock: FrozenClock
) -> None:
    for attempt in range(40):  # many addresses, each under its own free failures
        await _from(api, f"198.51.100.{attempt % 20 + 1}", _form(f"guess-number-{attempt}"))
        clock.advance(timedelta(seconds=1))
    blocked = await api.http.post("/oauth/token", data=_form(PASSWORDS[ALICE]))
    assert blocked.status_code == 429
    assert blocked.json()["details"]["scope"] == "account"
    assert int(blocked.headers["retry-after"]) <= 60  # api.login.max_delay_account_s
    clock.advance(timedelta(seconds=int(blocked.headers["retry-after"])))
    assert (await api.http.post("/oauth/token", data=_form(PASSWORDS[ALICE]))).status_code == 200


@pytest.mark.parametrize(
    "api_settings", [{"login": {"free_failures_per_address": 4, "free_failures_per_account_and_address": 50}}]
)
async def test_one_address_spraying_many_accounts_is_slowed_down(api: Api) -> None:
    for n in range(4):
        await api.http.post("/oauth/token", data=_form("Spray-Guess-2026", f"nobody{n}@example.org"))
    await api.http.post("/oauth/token", data=_form("Spray-Guess-2026", "nobody9@example.org"))
    answer = await api.http.post("/oauth/token", data=_form(PASSWORDS[ALICE]))
    assert answer.status_code == 429
    assert answer.json()["details"]["scope"] == "address"
    assert (await _from(api, "192.0.2.8", _form(PASSWORDS[ALICE]))).status_code == 200


async def test_a_counter_is_forgotten_after_a_quiet_spell(api: Api, clock: FrozenClock) -> None:
    for _ in range(12):
        await api.http.post("/oauth/token", data=_form("wrong-password"))
        clock.advance(timedelta(seconds=600))  # past each wait
    waited = await api.http.post("/oauth/token", data=_form("wrong-password"))
    assert waited.status_code == 400
    assert (await api.http.post("/oauth/token", data=_form("x"))).status_code == 429
    clock.advance(timedelta(hours=2))  # api.login.forget_after_s (1 h) past the last wait
    for _ in range(5):
        assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400


@pytest.fixture(params=["memory", "redis"])
async def throttles(request: pytest.FixtureRequest) -> AsyncIterator[tuple[LoginThrottle, LoginThrottle]]:
    """Two web nodes' throttles: Redis shares one set of counters, memory is per node."""
    settings = LoginThrottleSettings(free_failures_per_account_and_address=2, max_delay_s=8)
    if request.param == "memory":
        node = MemoryThrottle(settings)
        yield node, node
        return
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"nuage-test:{secrets.token_hex(6)}:"
    nodes = (
        RedisThrottle(settings, REDIS_URL, prefix=prefix),
        RedisThrottle(settings, REDIS_URL, prefix=prefix),
    )
    try:
        yield nodes
    finally:
        for node in nodes:
            await node.close()


async def test_the_wait_doubles_up_to_its_ceiling_and_is_seen_by_every_node(
    throttles: tuple[LoginThrottle, LoginThrottle],
) -> None:
    first, second = throttles
    keys = login_keys("Alice@Dupont.example ", "203.0.113.5")
    now = 1_773_130_000.0
    seen: list[Any] = []
    for _ in range(8):
        await first.failed(keys, now)
        wait = await second.wait(keys, now)
        seen.append(None if wait is None else wait.retry_after)
    assert seen == [None, None, 1, 2, 4, 8, 8, 8]  # 2 free, then doubling, capped at max_delay_s
    assert await second.wait(login_keys("alice@dupont.example", "203.0.113.5"), now + 8) is None
    await second.succeeded(keys)
    assert await first.wait(keys, now) is None
    other = login_keys("bob@dupont.example", "203.0.113.5")  # the same address: its count was given back one
    for _ in range(2):
        await first.failed(other, now)
    assert await second.wait(other, now) is None


@pytest.mark.parametrize(
    "api_settings", [{"limits_backend": "redis", "redis_key_prefix": f"nuage-test:{secrets.token_hex(6)}:"}]
)
async def test_web_nodes_on_redis_share_the_counters(api: Api) -> None:
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    for _ in range(6):
        assert (await api.http.post("/oauth/token", data=_form("wrong-password"))).status_code == 400
    other = create_app(api.platform)  # a second web node with the same settings
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as node:
        refused = await node.post("/oauth/token", data=_form(PASSWORDS[ALICE]))
        assert refused.status_code == 429
        assert refused.json()["details"]["scope"] == "account-and-address"
        mounted = next(r for r in other.routes if getattr(r, "path", "") == "/api/v1")
        await mounted.app.app.state.api.close()
