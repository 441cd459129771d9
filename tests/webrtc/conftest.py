"""Web Meeting and browser-call fixtures: one Janus gateway for the session, its Nuage adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nuage.adapters.janus import JanusClient, JanusGateway
from webrtc.janus_server import ADMIN_KEY, JanusServer


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
