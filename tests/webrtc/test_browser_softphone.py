"""A browser calls a baresip phone through Nuage (CFG-1, CFG-3, SIP-1): the user's browser softphone
registers to Nuage through Janus's SIP plugin, calls Bob's extension, Bob's baresip answers, and the
browser's microphone (Chromium's fake device) arrives in baresip's recording.

The SIP data plane runs in-process on the demo (SQLite); the web server in a thread; Chromium is
driven with Playwright's async API (the SIP plane runs on this test's event loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlalchemy import select

from nuage.directory.model import DeviceKind
from nuage.storage.sql import tables
from sip.baresip_phone import Baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS
from webrtc.pbx import ALICE, Pbx, bob, carrier_port, connect_softphone, login, loudest, pbx, sip_platform

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]
__all__ = ["bob", "carrier_port", "pbx", "sip_platform"]  # the fixtures

BOB_EXTENSION = "212"


@pytest.mark.rule("CFG-1")
@pytest.mark.rule("SIP-1")
async def test_a_browser_calls_a_baresip_phone_through_nuage_and_its_audio_arrives(
    pbx: Pbx, bob: Baresip, tmp_path: Path
) -> None:
    with pbx.platform.uow() as uow:
        users_before = len(uow.users.list(account_id=uow.users.find_by(email=ALICE).account_id))  # type: ignore[union-attr]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            context = await browser.new_context(base_url=pbx.web, locale="en-GB")
            context.set_default_timeout(20_000)
            page = await context.new_page()
            await login(page)
            await connect_softphone(page)
            await page.fill("#destination", BOB_EXTENSION)
            await page.click("#call")
            await bob.wait_event("CALL_ESTABLISHED")
            await page.wait_for_function(
                "() => document.getElementById('phone-status').textContent === 'in call'", timeout=30_000
            )
            heard = tmp_path / "bob" / "rec"
            await wait_for_condition(
                lambda: loudest(heard) > 300, timeout=30, what="the browser's audio at bob"
            )
            await page.click("#hangup")
            await bob.wait_event("CALL_CLOSED")
        finally:
            await browser.close()
    with pbx.platform.uow() as uow:
        alice = uow.users.find_by(email=ALICE)
        assert alice is not None
        [device] = uow.devices.list(user_id=alice.id, label="Browser softphone")
        users = len(uow.users.list(account_id=alice.account_id))
    assert device.kind is DeviceKind.SOFTPHONE_PC  # CFG-1: a device of Alice's, not another user
    assert device.nomadic  # EMG-3: a browser cannot be located reliably
    assert users == users_before
    assert pbx.platform.sip is not None
    await pbx.platform.sip.server.cdr_writer.flush()
    with pbx.platform.engine.connect() as connection:
        [cdr] = connection.execute(select(tables.cdrs)).mappings().all()
    assert (cdr["direction"], cdr["outcome"], cdr["callee"]) == ("internal", "answered", BOB_EXTENSION)
    assert cdr["device_id"] == device.id  # the call is the browser device's, rated and ruled as any
