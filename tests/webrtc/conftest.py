"""Web Meeting and browser-call fixtures: one Janus gateway for the session, its Nuage adapter, and the
API of a fresh demo whose ``[janus]`` settings name that gateway."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from api.support import Api, seed_demo
from netports import free_port, release
from nuage.adapters.janus import JanusClient, JanusGateway
from nuage.adapters.janus_pool import JanusPool
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.janus_settings import JanusSettings
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app
from waiting import wait_until
from webrtc.janus_server import ADMIN_KEY, JanusServer

SECRET = "test-signing-key-0123456789"
CHROMIUM = Path("/usr/bin/chromium")


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


@pytest.fixture
def gateways(janus: JanusServer) -> Iterator[JanusPool]:
    """Nuage's gateways (one instance, ``default``) on the test's Janus."""
    pool = JanusPool(janus_settings(janus))
    yield pool
    pool.close()


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


@dataclass
class LiveMeeting:
    """The web application of a platform whose Web Meeting runs on the test's Janus, on a real server."""

    base: str
    platform: Platform


@pytest.fixture
def meeting_live(meeting_platform: Platform) -> Iterator[LiveMeeting]:
    """uvicorn serving the web application (API, portal, join page) on a free loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(meeting_platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="the web server")
        yield LiveMeeting(f"http://127.0.0.1:{port}", meeting_platform)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        release(port)


MEDIA_FLAGS = (
    "--no-sandbox",
    "--use-fake-device-for-media-stream",  # a beeping microphone and a test-pattern camera
    "--use-fake-ui-for-media-stream",  # camera and microphone allowed without asking
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",  # ICE candidates on 127.0.0.1, where the test's Janus listens
    "--disable-features=WebRtcHideLocalIpsWithMdns",
)


@pytest.fixture(scope="module")
def media_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with fake camera and microphone (per module, like the portal's)."""
    assert CHROMIUM.exists(), "the browser tests need Debian's chromium (scripts/install --test installs it)"
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            yield found
        finally:
            found.close()
