"""The web application's shutdown closes what the API holds open: the Redis clients of API-2/API-3."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.support import SECRETS, make_platform
from api.test_limits import REDIS_URL, _redis_available
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app


async def _lifespan(app: Any, events: list[str]) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Start the application's lifespan; set the returned event to shut it down."""
    stop = asyncio.Event()
    started = asyncio.Event()
    sent_startup = False

    async def receive() -> dict[str, str]:
        nonlocal sent_startup
        if not sent_startup:
            sent_startup = True
            return {"type": "lifespan.startup"}
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            started.set()

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    return stop, task


@pytest.mark.rule("API-2")
async def test_shutdown_closes_the_redis_clients(
    tmp_path: Path, demo_template: Path, clock: FrozenClock
) -> None:
    if not _redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    platform = make_platform(
        tmp_path / "data",
        demo_template,
        clock,
        limits_backend="redis",
        redis_url=REDIS_URL,
        redis_key_prefix=f"nuage-test:{secrets.token_hex(6)}:",
    )
    try:
        app = create_app(platform)
        runtime = next(r for r in app.routes if getattr(r, "path", "") == "/api/v1").app.app.state.api
        events: list[str] = []
        stop, task = await _lifespan(app, events)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as http:
            form = {"grant_type": "client_credentials", "client_id": "demo-dupont"}
            form["client_secret"] = SECRETS["demo-dupont"]
            token = (await http.post("/oauth/token", data=form)).json()["access_token"]
            answer = await http.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200
        assert runtime.limiter._client is not None  # the gate took and gave back a slot in Redis
        assert runtime.meter._client is not None  # and counted the request there
        stop.set()
        await asyncio.wait_for(task, 5)
        assert events[-1] == "lifespan.shutdown.complete"
        assert runtime.limiter._client is None
        assert runtime.meter._client is None
    finally:
        platform.close()
