"""Web Meeting and browser-call fixtures: one Janus gateway for the session, its Nuage adapter, and the
API of a fresh demo whose ``[janus]`` settings name that gateway."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.support import Api, seed_demo
from nuage.adapters.janus import JanusClient, JanusGateway
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.janus_settings import JanusSettings
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app
from webrtc.janus_server import ADMIN_KEY, JanusServer

SECRET = "test-signing-key-0123456789"


@pytest.fixture(scope="session")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    """Janus from Debian's package, on free loopback ports, for this test run."""
    server = JanusServer(tmp_path_factory.mktemp("janus"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway(janus: JanusServer) -> Iterator[JanusGateway]:
    """Nuage's adapter on the test's Janus."""
    client = JanusClient(janus.url)
    yield JanusGateway(client, admin_key=ADMIN_KEY)
    client.close()


@pytest.fixture(scope="session")
def meeting_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the demo, built once and copied for each test."""
    folder = tmp_path_factory.mktemp("meeting-template")
    platform = build_platform(Settings(data_dir=folder, secret_key=SECRET), migrate=True)
    try:
        seed_demo(platform)
    finally:
        platform.close()
    return folder / "nuage.db"


def janus_settings(janus: JanusServer) -> JanusSettings:
    """``[janus]`` pointing at the test's gateway."""
    return JanusSettings(url=janus.url, admin_key=ADMIN_KEY, stun_urls=["stun:127.0.0.1:3478"])


@pytest.fixture
def meeting_platform(
    tmp_path: Path, meeting_template: Path, clock: FrozenClock, janus: JanusServer
) -> Iterator[Platform]:
    """A platform on a fresh copy of the demo (SQLite), its Web Meeting on the test's Janus."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(meeting_template, folder / "nuage.db")
    settings = Settings(data_dir=folder, secret_key=SECRET, janus=janus_settings(janus))
    platform = build_platform(settings, clock=clock)
    yield platform
    platform.close()


@pytest.fixture
async def meeting_api(meeting_platform: Platform) -> AsyncIterator[Api]:
    """The API of that platform, through the real web application (ASGI, no network)."""
    app = create_app(meeting_platform)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nuage.test/api/v1") as http:
        yield Api(http, meeting_platform, app)
