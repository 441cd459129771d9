"""``nuage serve`` on the demo runs Janus itself (issue #18): the real command in a subprocess, on free
ports and a fresh data directory loaded with ``nuage demo --webrtc``. Janus starts and answers (the
operator's ``/meeting-gateway``), comes back when it dies, Chromium joins the demo's paid meeting room
through it, the demo shop page's widget calls Bob's number through Janus, and stopping serve stops Janus.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

from api.support import SECRETS
from netports import free_port
from nuage.adapters.janus_process import JanusConfig, JanusProcess
from nuage.cli import app
from nuage.services.demo_webrtc import SHOP_NUMBER
from waiting import wait_until
from webrtc.janus_server import require_janus

pytestmark = pytest.mark.slow

_JANUS = re.compile(r"Janus: run by Nuage at (http://127\.0\.0\.1:\d+/janus) \(pid (\d+);")
_ROOM = re.compile(r"Web Meeting demo room: (\S+)/meet/(\w+)  \(PIN (\d+);")
_SHOP = re.compile(r"Demo shop with the click-to-call widget: (\S+)")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    log: Path
    base: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def started(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"nuage serve exited:\n{self.output()}")
        return "Nuage is running" in self.output()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie: ended, unreaped
    except (ProcessLookupError, FileNotFoundError):
        return False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    require_janus()
    data = tmp_path / "data"
    loaded = CliRunner().invoke(app, ["demo", "--webrtc", "--data-dir", str(data)])
    assert loaded.exit_code == 0, loaded.output
    assert "Web Meeting (paid, BIL-6): /meet/" in loaded.output
    web = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nuage",
                "serve",
                "--http",
                f"127.0.0.1:{web}",
                "--sip",
                f"127.0.0.1:{free_port()}",
            ],
            env={**os.environ, "NUAGE_DATA_DIR": str(data)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Served(process, log, f"http://127.0.0.1:{web}")
    try:
        wait_until(running.started, timeout=90, what="nuage serve to start")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def api_client(base: str, client_id: str) -> Iterator[httpx.Client]:
    """The API as the demo's API client ``client_id`` (client credentials)."""
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as http:
        yield _authorised(http, client_id)


def _authorised(http: httpx.Client, client_id: str) -> httpx.Client:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": SECRETS[client_id]}
    token = http.post("/oauth/token", data=form)
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http


def gateway_answers(http: httpx.Client) -> bool:
    answer = http.get("/meeting-gateway", headers={"Cache-Control": "no-cache"})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["reachable"])


@pytest.mark.rule("MTG-1")
@pytest.mark.rule("BIL-6")
@pytest.mark.rule("CFG-10")
def test_serve_runs_janus_for_the_demo_room_and_shop_and_stops_it(
    served: Served, media_browser: Browser
) -> None:
    output = served.output()
    janus = _JANUS.search(output)
    assert janus is not None, output
    janus_pid = int(janus.group(2))
    room = _ROOM.search(output)
    shop = _SHOP.search(output)
    assert room is not None, output
    assert shop is not None, output
    assert room.group(1) == served.base
    assert shop.group(1) == f"{served.base}/demo/shop"
    assert "Browser phone: " + served.base + "/softphone  (log in as alice@dupont.example" in output

    with api_client(served.base, "demo-operator") as http:
        # each probe is a request the server passes on to Janus: a few a second, not fifty, so the
        # starting gateway gets the CPU
        wait_until(lambda: gateway_answers(http), timeout=60, interval=0.2, what="Janus to answer")
        health = http.get("/meeting-gateway").json()
        assert health["configured"], health
        assert health["reachable"], health
        assert health["url"] == janus.group(1)
        assert {"janus.plugin.videoroom", "janus.plugin.sip"} <= set(health["plugins"])

        # supervised: a Janus that dies is started again
        os.kill(janus_pid, signal.SIGKILL)
        wait_until(lambda: not alive(janus_pid), timeout=30, what="the killed Janus to be reaped")
        wait_until(lambda: gateway_answers(http), timeout=60, interval=0.2, what="Janus to be started again")
        assert "Janus exited" in served.output()

    context = media_browser.new_context(base_url=served.base, locale="en-GB")
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        page.goto(f"/meet/{room.group(2)}")
        page.fill("#display", "Visitor")
        page.fill("#pin", room.group(3))
        page.click("#join")  # the demo room is paid: the first visitor opens it (BIL-6)
        page.wait_for_function(
            "() => { const pc = window.nuageMeeting && window.nuageMeeting.publisherPc;"
            " return !!pc && pc.iceConnectionState === 'connected'; }",
            timeout=30_000,
        )
        with httpx.Client(base_url=f"{served.base}/api/v1", timeout=30) as dupont:
            form = {
                "grant_type": "client_credentials",
                "client_id": "demo-dupont",
                "client_secret": SECRETS["demo-dupont"],
            }
            token = dupont.post("/oauth/token", data=form).json()["access_token"]
            dupont.headers["Authorization"] = f"Bearer {token}"
            people = dupont.get(f"/meeting-rooms/{room.group(2)}/participants")
            assert people.status_code == 200, people.text
            assert [person["display"] for person in people.json()["items"]] == ["Visitor"]

        shop_page = context.new_page()
        shop_page.goto("/demo/shop")
        shop_page.wait_for_selector("#nuage-call-us")
        shop_page.click("#nuage-call-us")  # a token, a call ticket, then the call through Janus (CFG-10)
        shop_page.wait_for_function(
            "() => ['ringing', 'in call', 'ended', 'busy', 'failed']"
            ".some((status) => window.nuageWidget.events.includes(status))"
        )
        shop_page.evaluate("window.nuageWidget.stop()")
        with api_client(served.base, "demo-dupont") as dupont:  # the visitor's call reached Bob's number

            def widget_call() -> dict[str, object] | None:
                records = dupont.get("/call-records", params={"limit": 100}).json()["items"]
                ours = [r for r in records if r["callee"] == SHOP_NUMBER and r["direction"] == "inbound"]
                return ours[0] if ours else None

            wait_until(
                lambda: widget_call() is not None, timeout=30, interval=0.2, what="the widget call's record"
            )
            record = widget_call()
            assert record is not None
            assert record["refusal_rule"] is None, record  # the ticket let it through (CFG-10)
    finally:
        context.close()

    restarted = [int(pid) for pid in re.findall(r"pid (\d+)", served.output())]
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(60) == 0, served.output()
    assert "Janus stopped." in served.output()
    children = [janus_pid, *restarted]
    assert not [pid for pid in children if alive(pid)], "a Janus outlived nuage serve"


def test_one_data_directory_runs_one_embedded_janus(tmp_path: Path) -> None:
    """Two servers on one data directory would rewrite each other's Janus configuration: the first
    claims the folder, the second runs none until the first lets go."""
    config = JanusConfig(folder=tmp_path / "janus" / "etc", port=free_port(), admin_key="k")
    first, second = (JanusProcess("janus", config, tmp_path / "janus" / "janus.log") for _ in range(2))
    assert first.claim()
    assert not second.claim()
    first.release()
    assert second.claim()
    second.release()
