"""The API contract on PostgreSQL: a uniquely named database, migrated to head, dropped at the end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from api.holding import HoldingLimiter
from api.support import Api, seed_demo
from api.tenants import RESOURCES, operations, seed_peeters
from nuage.api.limits import MemoryLimiter
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.shared.clock import FrozenClock
from nuage.storage.sql.migrate import upgrade
from nuage.storage.sql.tables import metadata
from nuage.web.app import create_app
from waiting import wait_for_condition

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_platform(postgres_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Platform]:
    """A platform on the run's PostgreSQL database, emptied and loaded with the demo."""
    upgrade(postgres_url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        secret_key="test-signing-key-0123456789",
    )
    platform = build_platform(settings, clock=clock)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with platform.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} CASCADE"))
    seed_demo(platform)
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
async def pg_api(pg_platform: Platform) -> AsyncIterator[Api]:
    app = create_app(pg_platform, limiter=HoldingLimiter(MemoryLimiter()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://nuage.test/api/v1"
    ) as http:
        yield Api(http, pg_platform, app)


@pytest.mark.rule("TEN-4")
async def test_isolation_and_crud_hold_on_postgresql(pg_api: Api) -> None:
    ids = await seed_peeters(pg_api)
    for resource in RESOURCES:
        for op in operations(resource):
            path = op.path.replace("{id}", ids[resource])
            theirs = await pg_api.http.request(
                op.method, path, json=op.json, headers=await pg_api.headers("demo-dupont")
            )
            missing_path = op.path.replace("{id}", "zzz_0000000000000000")
            missing = await pg_api.http.request(
                op.method, missing_path, json=op.json, headers=await pg_api.headers("demo-dupont")
            )
            assert theirs.status_code == 404, (resource, op)
            assert theirs.text == missing.text.replace("zzz_0000000000000000", ids[resource])
    user = await pg_api.post("demo-dupont", "/users", json={"name": "Pg User", "extension": "190"})
    assert user.status_code == 201
    page = (await pg_api.get("demo-dupont", "/users?order=name&direction=desc&limit=2&total=true")).json()
    assert page["total"] == 4
    assert [u["name"] for u in page["items"]] == ["Pg User", "Chloé Lambert"]
    refused = await pg_api.post(
        "demo-dupont", "/devices", json={"kind": "pager", "label": "Lift", "purpose": "lift"}
    )
    assert refused.json()["details"]["rule_id"] == "CFG-5"
    duplicate = await pg_api.post("demo-dupont", "/users", json={"name": "Again", "extension": "190"})
    assert duplicate.status_code == 409


@pytest.mark.rule("API-3")
async def test_suspension_and_limits_hold_on_postgresql(pg_api: Api) -> None:
    headers = await pg_api.headers("demo-dupont")
    limiter = pg_api.runtime.limiter
    assert isinstance(limiter, HoldingLimiter)
    limiter.hold()
    reads = [asyncio.create_task(pg_api.http.get("/users", headers=headers)) for _ in range(11)]
    await wait_for_condition(
        lambda: limiter.waiting == 10 and sum(read.done() for read in reads) == 1,
        what="ten reads in flight and one answered",
    )
    limiter.let_go()
    answers = await asyncio.gather(*reads)
    assert sorted(a.status_code for a in answers) == [200] * 10 + [429]
    await pg_api.put("demo-operator", "/api-clients/demo-dupont/status", json={"status": "suspended"})
    assert (await pg_api.http.get("/users", headers=headers)).status_code == 401
