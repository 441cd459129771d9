"""The operator's SIP pages on a node that runs SIP and the portal in one event loop, as ``nuage
serve`` does: a real phone's REGISTER is listed live, a real brute force bans its address, and
the operator lifts the ban from the portal (SIP-5)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page

from api.support import make_platform
from netports import free_port, release
from nuage.bootstrap import SipRuntime
from nuage.services.security.demo import DEMO_SECRETS
from nuage.services.security.second_factor import code_at
from nuage.shared.clock import FrozenClock, SystemClock
from nuage.web.app import create_app
from sip.harness import RawUdpPhone
from waiting import wait_until
from web.conftest import LIVE, Live, log_in, text
from web.page_support import run, shoot

pytestmark = pytest.mark.rule("SIP-5")


@dataclass
class Node(Live):
    """The portal and a SIP node, sharing one event loop (the SIP port chosen by the system)."""

    sip_port: int = 0

    def code(self, email: str) -> str:
        """The demo login's TOTP code on the node's clock (real time here)."""
        return code_at(DEMO_SECRETS[email], self.platform.clock.now())


@pytest.fixture
def node(tmp_path: Path, portal_template: Path, clock: FrozenClock) -> Iterator[Node]:
    platform = make_platform(tmp_path / "data", portal_template, clock)
    platform.settings.sip.port = 0
    platform.settings.sip.security.max_auth_failures = 3
    platform.settings.sip.bans_sync_s = 0.1
    platform.clock = SystemClock()  # registrations and bans last real seconds here
    port = free_port()
    app = create_app(platform)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    runtimes: list[SipRuntime] = []

    async def serve() -> None:
        sip = SipRuntime(platform)  # made on the node's own loop, in its thread
        runtimes.append(sip)
        await sip.start()
        try:
            await server.serve()
        finally:
            await sip.stop(grace_s=0)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="the node's web server")
        bound = runtimes[0].server.bound_address("UDP").port
        found = Node(f"http://127.0.0.1:{port}", platform, clock, app=app, sip_port=bound)
        LIVE[0:] = [found]  # log_in types the operator's second factor with this node's codes
        yield found
    finally:
        app.state.portal.live.close()  # open event streams end, so the server stops at once
        server.should_exit = True
        thread.join(timeout=30)
        release(port)
        platform.close()


@pytest.fixture
def node_page(browser: Browser, node: Node) -> Iterator[Page]:
    context = browser.new_context(base_url=node.base, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_registration_is_listed_and_a_ban_is_lifted_from_the_portal(node_page: Page, node: Node) -> None:
    page, phone = node_page, RawUdpPhone()
    try:
        log_in(page, "olivia@nuage.example")
        page.goto("/sip/registrations")
        assert "No phone is registered." in page.locator("#registrations").inner_text()
        loads: list[str] = []
        page.on("framenavigated", lambda frame: loads.append(frame.url))
        page.evaluate("window.sameDocument = 'yes'")  # gone if the page were loaded again
        assert run(phone.register(node.sip_port, "bob", "Bob-Demo-2026!")) == 200
        # the page follows the server's events: the registration shows up without a reload
        page.locator("#registrations td", has_text="Bob's desk phone").wait_for(timeout=20_000)
        assert loads == []
        assert page.evaluate("window.sameDocument") == "yes"
        assert page.url.endswith("/sip/registrations")
        assert page.get_attribute("#registrations-rows", "data-live-updates") is not None
        listed = page.locator("#registrations").inner_text()
        assert "bob" in listed
        assert "Atelier Dupont" in listed
        assert f"udp:127.0.0.1:{phone.port}" in listed
        # the phone's port and the registration's end change from run to run: painted over
        rows = "#registrations-rows td"
        shoot(page, "operator-registrations", mask=(f"{rows}:nth-child(4)", f"{rows}:nth-child(5)"))

        for attempt in range(3):  # guessing passwords: the third failure bans the address
            assert run(phone.register(node.sip_port, "bob", "wrong", cseq=10 * attempt + 1)) == 403
        page.goto("/sip/bans")
        assert "127.0.0.1" in page.locator("#bans").inner_text()
        with page.expect_navigation():
            page.click("button[data-address='127.0.0.1']")
        assert "The ban was lifted." in text(page)
        assert run(phone.register(node.sip_port, "bob", "Bob-Demo-2026!", cseq=100)) == 200  # served again
    finally:
        phone.close()
