"""API fixtures: the demo tenancy on a real database, an HTTP client on the ASGI app, demo tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.support import Api, make_platform, seed_demo
from nuage.api.limits import ConcurrencyLimiter
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the demo, built once and copied for each test."""
    folder = tmp_path_factory.mktemp("api-template")
    settings = Settings(data_dir=folder, secret_key="test-signing-key-0123456789")
    platform = build_platform(settings, migrate=True)
    try:
        seed_demo(platform)
    finally:
        platform.close()
    return folder / "nuage.db"


@pytest.fixture
def api_settings() -> dict[str, Any]:
    """Overrides of the API settings for one test."""
    return {}


@pytest.fixture
def api_limiter() -> ConcurrencyLimiter | None:
    """API-2's limiter for one test's application (None: the one the settings name)."""
    return None


@pytest.fixture
def api_platform(
    tmp_path: Path, demo_template: Path, clock: FrozenClock, api_settings: dict[str, Any]
) -> Iterator[Platform]:
    """A platform on a fresh copy of the demo (SQLite)."""
    platform = make_platform(tmp_path / "data", demo_template, clock, **api_settings)
    try:
        yield platform
    finally:
        platform.close()


@pytest.fixture
async def api(api_platform: Platform, api_limiter: ConcurrencyLimiter | None) -> AsyncIterator[Api]:
    """The API of a fresh demo, through the real web application (ASGI, no network)."""
    app = create_app(api_platform, limiter=api_limiter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as http:
        yield Api(http, api_platform, app)
