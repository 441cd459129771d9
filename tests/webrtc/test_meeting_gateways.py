"""Web Meeting on several Janus instances (MTG-1): rooms spread over the instances that answer, each
stays on the one it opened on, and an instance that stops answering is reported down (the API and
the operator's overview page) and gets no new room. Two real Janus processes (the session's and one
started here); placement by its rule alone."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser

from api.support import PASSWORDS, Api
from netports import free_port, release
from nuage.adapters.janus import VIDEOROOM, JanusClient
from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.errors import UpstreamUnavailable
from nuage.janus_settings import JanusInstance, JanusSettings
from nuage.services.meetings.placement import choose_instance
from nuage.services.meetings.ports import GatewayHealth, GatewayInstance
from nuage.services.security.demo import DEMO_SECRETS, seed_demo_factors
from nuage.services.security.second_factor import code_at
from nuage.shared.clock import FrozenClock
from nuage.web.app import create_app
from waiting import wait_until
from webrtc.conftest import SECRET, LiveMeeting
from webrtc.janus_server import ADMIN_KEY, JanusServer
from webrtc.test_meeting_rooms_api import OPERATOR, PARTNER, order_room, pay


@pytest.fixture
def second_janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = JanusServer(tmp_path_factory.mktemp("janus-b"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def two_gateways_api(
    tmp_path: Path, meeting_template: Path, clock: FrozenClock, janus: JanusServer, second_janus: JanusServer
) -> AsyncIterator[Api]:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(meeting_template, folder / "nuage.db")
    config = JanusSettings(
        url=janus.url,
        admin_key=ADMIN_KEY,
        instances=[JanusInstance(name="b", url=second_janus.url, admin_key=ADMIN_KEY, capacity=10)],
    )
    platform = build_platform(Settings(data_dir=folder, secret_key=SECRET, janus=config), clock=clock)
    app = create_app(platform)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://nuage.test/api/v1"
        ) as http:
            yield Api(http, platform, app)
    finally:
        platform.close()


def room_exists(url: str, room: int) -> bool:
    client = JanusClient(url)
    try:
        with client.session() as session:
            handle = session.attach(VIDEOROOM)
            return bool(session.message(handle, {"request": "exists", "room": room})["exists"])
    finally:
        client.close()


async def open_paid_room(api: Api) -> dict[str, object]:
    room = await order_room(api)
    pay(api, str(room["invoice_number"]))
    answer = await api.post(PARTNER, f"/meeting-rooms/{room['id']}/open")
    assert answer.status_code == 200, answer.text
    opened: dict[str, object] = answer.json()
    return opened


def gateway_room(platform: Platform, room_id: object) -> int:
    with platform.uow() as uow:
        return uow.meeting_rooms.get(str(room_id)).gateway_room


@pytest.mark.rule("MTG-1")
async def test_rooms_spread_over_two_janus_and_a_dead_one_gets_no_new_room(
    two_gateways_api: Api, janus: JanusServer, second_janus: JanusServer
) -> None:
    api = two_gateways_api
    urls = {"default": janus.url, "b": second_janus.url}
    rooms = [await open_paid_room(api) for _ in range(4)]
    placed = sorted(str(room["gateway_instance"]) for room in rooms)
    assert placed == ["b", "b", "default", "default"]
    for room in rooms:  # each room exists on its own instance, and only there
        number = gateway_room(api.platform, room["id"])
        here = str(room["gateway_instance"])
        other = "b" if here == "default" else "default"
        assert room_exists(urls[here], number)
        assert not room_exists(urls[other], number)

    health = (await api.get(OPERATOR, "/meeting-gateway")).json()
    by_name = {item["name"]: item for item in health["instances"]}
    assert by_name["default"]["reachable"]
    assert by_name["b"]["reachable"]
    assert by_name["b"]["open_rooms"] == by_name["default"]["open_rooms"] == 2
    assert by_name["b"]["capacity"] == 10

    second_janus.stop()  # instance b dies
    health = (await api.get(OPERATOR, "/meeting-gateway")).json()
    by_name = {item["name"]: item for item in health["instances"]}
    assert by_name["b"]["reachable"] is False
    assert "did not answer" in by_name["b"]["error"]
    assert by_name["default"]["reachable"] is True

    later = [await open_paid_room(api) for _ in range(2)]
    assert [room["gateway_instance"] for room in later] == ["default", "default"]
    for room in later:
        assert room_exists(janus.url, gateway_room(api.platform, room["id"]))
    sticky = next(room for room in rooms if room["gateway_instance"] == "b")
    again = (await api.get(PARTNER, f"/meeting-rooms/{sticky['id']}")).json()
    assert again["gateway_instance"] == "b"  # a room stays where it opened


def test_placement_follows_weight_and_capacity_and_skips_the_silent() -> None:
    instances = [
        GatewayInstance("a", "http://a/janus", weight=1),
        GatewayInstance("b", "http://b/janus", weight=3),
        GatewayInstance("c", "http://c/janus", capacity=2),
    ]
    up = [GatewayHealth(f"http://{name}/janus", True, name=name) for name in "abc"]
    assert choose_instance(instances, up, {"a": 0, "b": 0, "c": 0}) == "b"  # 1/3 beats 1/1
    assert choose_instance(instances, up, {"a": 0, "b": 3, "c": 0}) == "a"  # b at 4/3
    assert choose_instance(instances, up, {"a": 5, "b": 20, "c": 2}) == "a"  # c is full
    b_down = [*up[:1], GatewayHealth("http://b/janus", False, name="b"), up[2]]
    assert choose_instance(instances, b_down, {"a": 1, "b": 0, "c": 1}) == "a"
    nobody = [GatewayHealth(f"http://{name}/janus", False, name=name) for name in "abc"]
    with pytest.raises(UpstreamUnavailable):
        choose_instance(instances, nobody, {})


def test_a_single_janus_section_is_still_one_instance_named_default() -> None:
    config = JanusSettings(url="http://127.0.0.1:1/janus", public_url="https://meet.example/janus")
    [only] = config.gateways()
    assert (only.name, only.browser_url) == ("default", "https://meet.example/janus")
    assert config.browser_url == "https://meet.example/janus"
    with pytest.raises(ValueError, match="a name of its own"):
        JanusSettings(url="http://x/janus", instances=[JanusInstance(name="default", url="http://y/janus")])


@pytest.fixture
def two_gateways_live(
    tmp_path: Path, meeting_template: Path, clock: FrozenClock, janus: JanusServer, second_janus: JanusServer
) -> Iterator[LiveMeeting]:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(meeting_template, folder / "nuage.db")
    config = JanusSettings(
        url=janus.url,
        admin_key=ADMIN_KEY,
        instances=[JanusInstance(name="b", url=second_janus.url, admin_key=ADMIN_KEY)],
    )
    platform = build_platform(Settings(data_dir=folder, secret_key=SECRET, janus=config), clock=clock)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="the web server")
        yield LiveMeeting(f"http://127.0.0.1:{port}", platform)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        release(port)
        platform.close()


def test_the_overview_shows_each_instance_and_the_one_down(
    two_gateways_live: LiveMeeting, second_janus: JanusServer, media_browser: Browser
) -> None:
    second_janus.stop()
    platform = two_gateways_live.platform
    with platform.uow() as uow:  # operator administrators log in with a second factor: the demo's
        seed_demo_factors(uow, platform.clock.now())
        uow.commit()
    context = media_browser.new_context(base_url=two_gateways_live.base, locale="en-GB")
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", "olivia@nuage.example")
        page.fill("#password", PASSWORDS["olivia@nuage.example"])
        with page.expect_navigation():
            page.click("#login")
        page.fill("#code", code_at(DEMO_SECRETS["olivia@nuage.example"], platform.clock.now()))
        with page.expect_navigation():
            page.click("#send-code")
        page.goto("/overview")
        assert page.get_attribute("#janus-default", "data-reachable") == "yes"
        assert page.inner_text("#janus-default").startswith("answers: Janus 1.")
        assert page.get_attribute("#janus-b", "data-reachable") == "no"
        assert page.inner_text("#janus-b").startswith("does not answer")
        assert second_janus.url in page.inner_text("#janus-b")
    finally:
        context.close()
