"""The SIP plane of a demo (SQLite) with its web application, for the browser-call tests: ``pbx`` runs
the SIP data plane on the test's event loop and the web server in a thread, its ``[janus]`` settings
naming the test's Janus and its SIP proxy the plane's port; ``bob`` is Bob's baresip, registered,
answering automatically and recording what he hears; ``login`` opens Alice's portal session and
``loudest`` measures baresip's recordings."""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
import uvicorn
from playwright.async_api import Page

from api.support import PASSWORDS
from media.peers import rms
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime, build_platform
from nuage.config import Settings
from nuage.shared.clock import SystemClock
from nuage.web.app import create_app
from sip.baresip_phone import Baresip, running_baresip
from waiting import wait_for_condition
from webrtc.conftest import SECRET, janus_settings
from webrtc.janus_server import JanusServer

ALICE = "alice@dupont.example"


async def login(page: Page, email: str = ALICE) -> None:
    """Log ``email`` into the portal in ``page`` (the context's base URL is the web server)."""
    await page.goto("/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORDS[email])
    async with page.expect_navigation():
        await page.click("#login")


async def connect_softphone(page: Page) -> None:
    """Open the browser phone and wait until Janus has registered it to Nuage."""
    await page.goto("/softphone")
    await page.click("#register")
    await page.wait_for_function("() => window.nuageSoftphone.registered", timeout=30_000)


@dataclass
class Pbx:
    platform: Platform
    sip_port: int
    web: str
    carrier_port: int
    runtime: SipRuntime


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
def carrier_port(sip_platform: Platform) -> Iterator[int]:
    """The demo's carrier trunk moved to a free port of 127.0.0.1, where a test's SIPp carrier listens."""
    port = free_port()
    with sip_platform.uow() as uow:
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host="127.0.0.1", port=port))
        uow.commit()
    yield port
    release(port)


@pytest.fixture
async def pbx(sip_platform: Platform, carrier_port: int) -> AsyncIterator[Pbx]:
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
        yield Pbx(sip_platform, sip_port, f"http://127.0.0.1:{port}", carrier_port, runtime)
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
