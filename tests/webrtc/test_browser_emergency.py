"""An emergency call from the browser phone (EMG-2, EMG-3, EMG-4): the page asks the user where they are
when it does not know (on connecting, and again when 112 is dialled), without holding the call back;
the address is held as the browser device's site; the call reaches the carrier (a SIPp peer that
records what it received) presenting the user's emergency caller ID in From and
P-Asserted-Identity, never anonymously.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright
from sqlalchemy import select

from integration.sip.test_demo_calls import answering
from nuage.storage.sql import tables
from nuage.terms.emergency import NumberLookup, emergency_number_for_device
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS
from webrtc.pbx import ALICE, Pbx, carrier_port, connect_softphone, login, pbx, sip_platform

pytestmark = [
    pytest.mark.sipp,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed"),
]
__all__ = ["carrier_port", "pbx", "sip_platform"]  # the fixtures

WHERE = "Chaussée de Wavre 12, 1050 Ixelles"


async def post_location(page: Page, body: str, *, csrf: bool = True) -> tuple[int, dict[str, object]]:
    """POST /softphone/location from the page, as its client does (JSON, the page's CSRF token)."""
    answer: list[object] = await page.evaluate(
        """async ([body, csrf]) => {
          const page = document.getElementById("softphone");
          const headers = { "Content-Type": "application/json" };
          if (csrf) { headers["X-CSRF-Token"] = page.dataset.csrf; }
          const answer = await fetch("/softphone/location", { method: "POST", headers, body });
          return [answer.status, await answer.json()];
        }""",
        [body, csrf],
    )
    status, data = answer
    assert isinstance(status, int)
    assert isinstance(data, dict)
    return status, data


def invite_of(trace: Path) -> list[str]:
    """The header lines of the first INVITE the SIPp carrier received."""
    text = trace.read_text(errors="replace")
    start = text.index("INVITE sip:")
    return text[start:].split("\n\n", 1)[0].splitlines()


@pytest.mark.rule("EMG-2")
@pytest.mark.rule("EMG-3")
@pytest.mark.rule("EMG-4")
async def test_an_emergency_call_from_the_browser_presents_the_users_number_and_asks_the_location(
    pbx: Pbx, tmp_path: Path
) -> None:
    trace = tmp_path / "carrier.log"
    carrier = await answering(pbx.carrier_port, "-trace_msg", "-message_file", str(trace))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            context = await browser.new_context(base_url=pbx.web, locale="en-GB")
            context.set_default_timeout(20_000)
            page = await context.new_page()
            await login(page)
            await connect_softphone(page)
            assert await page.is_visible("#location-form")  # before: the browser's place is not known

            await page.fill("#destination", "112")
            await page.click("#call")  # EMG-4: placed at once, the form beside it
            await page.wait_for_function(
                "() => window.nuageSoftphone.events.includes('in call')", timeout=30_000
            )
            assert await page.is_visible("#location-form")  # when dialling: still not known, asked again

            status, refused = await post_location(page, '{"location": "x"}')
            assert status == 422
            assert refused["details"] == {"field": "location", "rule_id": "EMG-3"}
            status, _ = await post_location(page, '{"location": "Somewhere 1"}', csrf=False)
            assert status == 403
            await page.fill("#location", WHERE)
            await page.click("#save-location")
            await page.wait_for_selector("#location-form", state="hidden")
            assert await page.inner_text("#location-known") == WHERE
            await page.click("#change-location")  # the user moves: the form again
            assert await page.is_visible("#location-form")

            await page.click("#hangup")
            await carrier
        finally:
            await browser.close()

    with pbx.platform.uow() as uow:
        alice = uow.users.find_by(email=ALICE)
        assert alice is not None
        [device] = uow.devices.list(user_id=alice.id, label="Browser softphone")
        numbers = NumberLookup.of(uow.numbers.list(account_id=alice.account_id))
        presented = emergency_number_for_device(device, alice, numbers)
    assert device.site == WHERE  # EMG-3: held where the readiness check compares it (EMG-2)
    assert presented is not None
    invite = invite_of(trace)
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1] for line in invite[1:] if ":" in line}
    assert invite[0].startswith("INVITE sip:112@")
    assert f"sip:{presented.e164}@" in headers["p-asserted-identity"]  # EMG-2: the user's number
    assert f"sip:{presented.e164}@" in headers["from"]
    assert "privacy" not in headers
    assert pbx.platform.sip is not None
    await pbx.platform.sip.server.cdr_writer.flush()
    with pbx.platform.engine.connect() as connection:
        [cdr] = connection.execute(select(tables.cdrs)).mappings().all()
    assert (cdr["callee"], cdr["outcome"], cdr["device_id"]) == ("112", "answered", device.id)
