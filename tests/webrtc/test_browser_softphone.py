"""A browser calls a baresip phone through Nuage (CFG-1, CFG-3, SIP-1): the user's browser softphone
registers to Nuage through Janus's SIP plugin, calls Bob's extension, Bob's baresip answers, and the
browser's microphone (Chromium's fake device) arrives in baresip's recording.

The SIP data plane runs in-process on the demo (SQLite); the web server in a thread; Chromium is
driven with Playwright's async API (the SIP plane runs on this test's event loop).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
import uvicorn
from playwright.async_api import async_playwright
from sqlalchemy import select

from api.support import PASSWORDS
from media.peers import rms
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime, build_platform
from nuage.config import Settings
from nuage.directory.model import DeviceKind
from nuage.shared.clock import SystemClock
from nuage.storage.sql import tables
from nuage.web.app import create_app
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS, SECRET, janus_settings
from webrtc.janus_server import JanusServer

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]

ALICE = "alice@dupont.example"
BOB_EXTENSION = "212"


@dataclass
class Pbx:
    platform: Platform
    sip_port: int
    web: str


@pytest.fixture
def sip_platform(tmp_path: Path, meeting_template: Path, janus: JanusServer) -> Iterator[Platform]:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(meeting_template, folder / "nuage.db")
    settings = Settings(data_dir=folder, secret_key=SECRET, janus=janus_settings(janus))
    settings.sip.port = 0
    platform = build_platform(settings, clock=SystemClock())  # calls last real seconds
    yield platform
    platform.close()


@pytest.fixture
async def pbx(sip_platform: Platform) -> AsyncIterator[Pbx]:
    runtime = SipRuntime(sip_platform)
    await runtime.start()
    sip_port = runtime.server.bound_address("UDP").port
    sip_platform.settings.janus.sip_proxy = f"sip:127.0.0.1:{sip_port}"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(sip_platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        await wait_for_condition(lambda: server.started, timeout=30, what="the web server")
        yield Pbx(sip_platform, sip_port, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await wait_for_condition(lambda: not thread.is_alive(), timeout=30, what="the web server to stop")
        release(port)
        await runtime.stop(grace_s=1)


@pytest.fixture
async def bob(pbx: Pbx, tmp_path: Path) -> AsyncIterator[Baresip]:
    folder = tmp_path / "bob"
    (folder / "rec").mkdir(parents=True)  # sndfile writes what bob hears here
    account = f"<sip:bob@127.0.0.1:{pbx.sip_port}>;auth_pass=Bob-Demo-2026!;answermode=auto;audio_codecs=PCMU"
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as phone:
        server = pbx.platform.sip.server if pbx.platform.sip else None
        assert server is not None
        await wait_for_condition(
            lambda: "bob" in {b.username for b in server.registrations()}, timeout=30, what="bob registered"
        )
        yield phone


def loudest(folder: Path) -> float:
    """The loudest 100 ms (RMS, 16-bit) of what baresip heard (its ``-dec`` recordings)."""
    best = 0.0
    for path in folder.glob("*dec*.wav"):
        with contextlib.suppress(RuntimeError):
            audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
            samples = audio[:, 0]
            for start in range(0, len(samples) - 800, 800):
                best = max(best, rms(np.asarray(samples[start : start + 800])))
    return best


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
            await page.goto("/login")
            await page.fill("#email", ALICE)
            await page.fill("#password", PASSWORDS[ALICE])
            async with page.expect_navigation():
                await page.click("#login")
            await page.goto("/softphone")
            await page.click("#register")
            await page.wait_for_function("() => window.nuageSoftphone.registered", timeout=30_000)
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
