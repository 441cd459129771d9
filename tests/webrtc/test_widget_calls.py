"""The click-to-call widget carries real calls (CFG-10): a visitor's page, of the widget's allowed origin,
loads the loader script; a click calls through Janus's SIP plugin with the ticket Nuage issued, and
Nuage rings the web channel's destination (a number of the account routed to Bob, whose baresip
answers): the visitor's microphone arrives in Bob's recording and Bob's tone in the page. With one
channel, the next visitor gets "All lines busy"; closing the first visitor's tab frees the line
(counted among the calls in progress by the SIP plane), and so does hanging up. Every attempt has
its CDR. A call to Nuage without a valid ticket is refused, whatever it dials.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright
from sqlalchemy import select

from netports import free_port, release
from nuage.directory.model import WebChannel
from nuage.policy.channels import web_channel_holder
from nuage.storage.sql import tables
from sip.baresip_phone import Baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS
from webrtc.pbx import Pbx, bob, carrier_port, loudest, pbx, sip_platform

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]
__all__ = ["bob", "carrier_port", "pbx", "sip_platform"]  # the fixtures

BOBS_NUMBER = "+3223000101"  # the demo's number routed to Bob


def web_channel(pbx: Pbx, widget: str, origin: str, channels: int) -> None:
    """A web channel of Atelier Dupont whose widget rings Bob's number, for pages of ``origin``."""
    with pbx.platform.uow() as uow:
        [number] = [n for n in uow.numbers.list() if n.e164 == BOBS_NUMBER]
        channel = WebChannel(
            widget, number.account_id, "Shop", channels, datetime.now(UTC), origin, number.id
        )
        uow.web_channels.add(channel)
        uow.commit()


@contextlib.contextmanager
def shop_site(web: str, widget: str) -> Iterator[str]:
    """The customer's web site: a page with the widget's snippet, on a free loopback port; its origin."""
    html = (
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>"
        f'<script src="{web}/widget/loader.js" data-widget="{widget}" async></script></body></html>'
    ).encode()

    class Shop(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        release(port)


async def visitor(context: BrowserContext, shop: str) -> Page:
    """A visitor opens the shop's page; the widget's button appears."""
    page = await context.new_page()
    await page.goto(f"{shop}/")
    await page.wait_for_selector("#nuage-call-us")
    return page


async def status_was(page: Page, status: str) -> None:
    await page.wait_for_function(f"() => window.nuageWidget.events.includes({status!r})", timeout=30_000)


async def heard_level(page: Page) -> float:
    """The loudest RMS (0..1) of the call's audio in the page over half a second (WebAudio analyser)."""
    level: float = await page.evaluate(
        """async () => {
          const stream = document.getElementById("nuage-call-audio").srcObject;
          const context = new AudioContext();
          const analyser = context.createAnalyser();
          analyser.fftSize = 2048;
          context.createMediaStreamSource(stream).connect(analyser);
          const samples = new Float32Array(2048);
          let peak = 0;
          const end = performance.now() + 500;
          while (performance.now() < end) {
            analyser.getFloatTimeDomainData(samples);
            let sum = 0;
            for (const value of samples) { sum += value * value; }
            peak = Math.max(peak, Math.sqrt(sum / samples.length));
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          await context.close();
          return peak;
        }"""
    )
    return level


@pytest.mark.rule("CFG-10")
async def test_a_visitor_calls_through_the_widget_the_next_is_busy_and_a_closed_tab_frees_the_line(
    pbx: Pbx, bob: Baresip, tmp_path: Path
) -> None:
    widget = "web-shop"
    with shop_site(pbx.web, widget) as shop:
        web_channel(pbx, widget, shop, channels=1)
        await calls_through_the_widget(pbx, bob, tmp_path, shop, widget)


async def calls_through_the_widget(pbx: Pbx, bob: Baresip, tmp_path: Path, shop: str, widget: str) -> None:
    assert pbx.platform.sip is not None
    channels = pbx.platform.sip.policy.channels
    holder = web_channel_holder(widget)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            first_context = await browser.new_context()
            first_context.set_default_timeout(20_000)
            first = await visitor(first_context, shop)
            await first.click("#nuage-call-us")
            await bob.wait_event("CALL_ESTABLISHED")
            await status_was(first, "in call")
            assert channels.in_use(holder) == 1
            heard = tmp_path / "bob" / "rec"
            await wait_for_condition(
                lambda: loudest(heard) > 300, timeout=30, what="the visitor's audio at bob"
            )
            level = 0.0

            async def bob_heard_by_visitor() -> bool:
                nonlocal level
                level = await heard_level(first)
                return level > 0.05

            await wait_for_condition(
                bob_heard_by_visitor, timeout=30, what="Bob's tone in the visitor's page"
            )
            print(f"Bob's tone in the visitor's page: RMS {level:.3f}")

            second_context = await browser.new_context()
            second_context.set_default_timeout(20_000)
            second = await visitor(second_context, shop)
            await second.click("#nuage-call-us")
            await status_was(second, "busy")
            assert "All lines busy" in await second.inner_text("#nuage-call-status")

            await first_context.close()  # the visitor closes the tab, without hanging up
            await bob.wait_event("CALL_CLOSED")
            await wait_for_condition(lambda: channels.in_use(holder) == 0, timeout=30, what="the line free")

            await second.click("#nuage-call-us")
            await status_was(second, "in call")
            assert channels.in_use(holder) == 1
            await second.click("#nuage-call-us")  # hang up
            await wait_for_condition(lambda: channels.in_use(holder) == 0, timeout=30, what="the line free")
        finally:
            await browser.close()
    await pbx.platform.sip.server.cdr_writer.flush()
    with pbx.platform.engine.connect() as connection:
        rows = connection.execute(select(tables.cdrs).order_by(tables.cdrs.c.started_at)).mappings().all()
    summary = [(r["direction"], r["callee"], r["outcome"], r["refusal_rule"]) for r in rows]
    assert summary == [
        ("inbound", BOBS_NUMBER, "answered", None),
        ("inbound", BOBS_NUMBER, "refused", "CFG-10"),
        ("inbound", BOBS_NUMBER, "answered", None),
    ]


RAW_CALL = """async ([base, uri, ticket, useTicket]) => {
  // what a visitor could do by hand: its own request to the gateway, any URI, any header
  const post = async (url, body) => (await fetch(url, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
  const token = await post(base + "/token", { visitor: "by-hand" });
  const line = await post(base + "/call", { token: token.token });
  const janus = line.janus_url;
  const tx = () => Math.random().toString(36).slice(2);
  const session = (await post(janus, { janus: "create", transaction: tx() })).data.id;
  const handle = (await post(janus + "/" + session,
    { janus: "attach", plugin: "janus.plugin.sip", transaction: tx() })).data.id;
  const send = (body, jsep) => post(janus + "/" + session + "/" + handle,
    Object.assign({ janus: "message", transaction: tx(), body }, jsep ? { jsep } : {}));
  await send({ request: "register", type: "guest", username: line.sip.identity, proxy: line.sip.proxy });
  const pc = new RTCPeerConnection();
  pc.addTransceiver("audio");
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => setTimeout(resolve, 300));
  const headers = {};
  if (useTicket) { headers[line.header] = ticket || line.ticket; }
  await send({ request: "call", uri: uri.replace("DOMAIN", line.sip.uri.split("@")[1]), headers },
             { type: "offer", sdp: pc.localDescription.sdp });
  for (;;) {
    const events = await (await fetch(janus + "/" + session + "?maxev=5&rid=" + Date.now())).json();
    for (const event of Array.isArray(events) ? events : [events]) {
      const result = ((event.plugindata || {}).data || {}).result || {};
      if (result.event === "accepted") {
        await send({ request: "hangup" });
        return { event: "accepted" };
      }
      if (result.event === "hangup") { return { event: "hangup", code: result.code }; }
    }
  }
}"""


@pytest.mark.rule("CFG-10")
async def test_a_visitor_can_neither_choose_the_number_nor_call_without_a_valid_ticket(
    pbx: Pbx, bob: Baresip
) -> None:
    widget = "web-shop"
    with shop_site(pbx.web, widget) as shop:
        web_channel(pbx, widget, shop, channels=2)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
            try:
                page = await visitor(await browser.new_context(), shop)
                base = f"{pbx.web}/widget/{widget}"

                async def by_hand(uri: str, ticket: str | None, use_ticket: bool = True) -> dict[str, object]:
                    found: dict[str, object] = await page.evaluate(RAW_CALL, [base, uri, ticket, use_ticket])
                    return found

                other = await by_hand("sip:+32475123456@DOMAIN", None)  # another number, a real ticket
                assert other["event"] == "accepted"  # ... rang the configured destination: Bob
                await bob.wait_event("CALL_CLOSED")
                assert (await by_hand("sip:web@DOMAIN", "forged.0123456789abcdef"))["code"] == 403
                assert (await by_hand("sip:212@DOMAIN", None, use_ticket=False))["code"] in (401, 403, 407)
            finally:
                await browser.close()
    assert pbx.platform.sip is not None
    await pbx.platform.sip.server.cdr_writer.flush()
    with pbx.platform.engine.connect() as connection:
        rows = connection.execute(select(tables.cdrs)).mappings().all()
    assert [(r["callee"], r["outcome"]) for r in rows] == [(BOBS_NUMBER, "answered")]
