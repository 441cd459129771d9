"""The Janus adapter against a real Janus (MTG-1): rooms with a PIN, their participants, health."""

from __future__ import annotations

import pytest

from nuage.adapters.janus import VIDEOROOM, JanusClient, JanusError, JanusGateway
from webrtc.janus_server import JanusServer


def test_health_names_the_version_and_the_video_room(gateway: JanusGateway) -> None:
    health = gateway.health()
    assert health.reachable
    assert health.version
    assert VIDEOROOM in health.plugins
    assert "janus.plugin.sip" in health.plugins


def test_a_gateway_that_does_not_answer_is_unhealthy_not_an_exception() -> None:
    client = JanusClient("http://127.0.0.1:9/janus", timeout_s=1)
    try:
        health = JanusGateway(client).health()
    finally:
        client.close()
    assert not health.reachable
    assert "did not answer" in (health.error or "")


@pytest.mark.rule("MTG-1")
def test_a_room_is_created_with_its_pin_edited_and_destroyed(
    gateway: JanusGateway, janus: JanusServer
) -> None:
    gateway.create_room(4242, description="Weekly", pin="1234", secret="s", publishers=6)
    gateway.create_room(4242, description="Weekly", pin="5678", secret="s", publishers=6)  # idempotent
    assert gateway.participants(4242) == []
    client = JanusClient(janus.url)
    try:
        with client.session() as session:
            handle = session.attach(VIDEOROOM)
            session.keepalive()
            assert session.message(handle, {"request": "exists", "room": 4242})["exists"] is True
    finally:
        client.close()
    gateway.set_pin(4242, secret="s", pin="0000")
    gateway.destroy_room(4242, secret="s")
    gateway.destroy_room(4242, secret="s")  # already gone: no error
    assert gateway.participants(4242) == []


def test_rooms_need_the_admin_key(janus: JanusServer) -> None:
    client = JanusClient(janus.url)
    try:
        with pytest.raises(JanusError) as refused:
            JanusGateway(client).create_room(4343, description="x", pin="1", secret="s", publishers=2)
    finally:
        client.close()
    assert refused.value.code is not None
