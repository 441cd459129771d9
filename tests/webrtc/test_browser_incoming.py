"""A phone calls the browser user (CFG-1, SIP-1): Bob's baresip dials Alice's extension, Alice's
browser softphone (registered to Nuage through Janus's SIP plugin) rings in the page with the caller's
identity, the test answers in the page, and the audio goes both ways: Bob's tone is measured on the
browser's remote track (a WebAudio analyser) and the browser's fake microphone in Bob's recording.
A declined call ends at Bob's phone and leaves the page ready for the next one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from sqlalchemy import select

from nuage.storage.sql import tables
from sip.baresip_phone import Baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS
from webrtc.pbx import Pbx, bob, carrier_port, connect_softphone, login, loudest, pbx, sip_platform

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]
__all__ = ["bob", "carrier_port", "pbx", "sip_platform"]  # the fixtures

ALICE_EXTENSION = "211"


async def status_was(page: Page, text: str) -> None:
    """Wait until the page has shown ``text`` as its status (a later event may have replaced it)."""
    await page.wait_for_function(f"() => window.nuageSoftphone.events.includes({text!r})", timeout=90_000)


async def call_ended(page: Page) -> None:
    """Wait until Janus has told the page the call is over (its SIP plugin takes the next call only
    then: a call offered before that is refused with 486 Busy Here)."""
    await page.wait_for_function(
        "() => window.nuageSoftphone.events.some((e) => e.startsWith('call ended'))", timeout=90_000
    )


async def ringing(page: Page) -> str:
    """Wait for the ringing indicator; return the caller ID the page shows."""
    await page.wait_for_selector("#incoming:not([hidden])", timeout=90_000)  # loaded machine
    assert await page.is_visible("#ringing")
    assert await page.is_visible("#accept")
    assert await page.is_visible("#decline")
    return await page.inner_text("#caller")


@pytest.mark.rule("CFG-1")
@pytest.mark.rule("SIP-1")
async def test_a_phone_calls_the_browser_user_who_answers_in_the_page_and_both_hear(
    pbx: Pbx, bob: Baresip, tmp_path: Path
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            context = await browser.new_context(base_url=pbx.web, locale="en-GB")
            context.set_default_timeout(20_000)
            page = await context.new_page()
            await login(page)
            await connect_softphone(page)

            await bob.command("dial", ALICE_EXTENSION)
            caller = await ringing(page)
            assert caller.startswith("Bob Martin")  # the caller ID Nuage presents inside the account
            await page.click("#accept")
            await bob.wait_event("CALL_ESTABLISHED")
            await status_was(page, "in call")
            assert await page.is_hidden("#incoming")

            level = 0.0

            async def bob_heard_in_browser() -> bool:
                nonlocal level
                level = float(await page.evaluate("window.nuageSoftphone.remoteLevel(500)"))
                return level > 0.05

            await wait_for_condition(bob_heard_in_browser, timeout=30, what="Bob's tone in the browser")
            print(f"Bob's tone in the browser: RMS {level:.3f}")
            heard = tmp_path / "bob" / "rec"
            await wait_for_condition(
                lambda: loudest(heard) > 300, timeout=30, what="the browser's audio at bob"
            )
            await page.click("#hangup")
            await bob.wait_event("CALL_CLOSED")
            await call_ended(page)

            await bob.command("dial", ALICE_EXTENSION)  # the next call, declined in the page
            await ringing(page)
            await page.click("#decline")
            await bob.wait_event("CALL_CLOSED")
            await status_was(page, "declined")
            assert await page.is_hidden("#incoming")
        finally:
            await browser.close()
    assert pbx.platform.sip is not None
    await pbx.platform.sip.server.cdr_writer.flush()
    with pbx.platform.engine.connect() as connection:
        rows = connection.execute(select(tables.cdrs).order_by(tables.cdrs.c.started_at)).mappings().all()
    assert [(r["direction"], r["callee"]) for r in rows] == [("internal", ALICE_EXTENSION)] * 2
    assert rows[0]["outcome"] == "answered"
    assert rows[1]["outcome"] != "answered"
