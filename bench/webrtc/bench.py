"""WebRTC benchmark (issue #18): N concurrent browser-to-phone calls through Janus and Nuage.

What runs, all on this machine and on loopback, as a user of the demo would run it:

* ``nuage demo --webrtc`` in a fresh data directory, then the real ``nuage serve`` (a subprocess) on
  free ports, which runs its embedded Janus (a child process);
* Bob's phone: baresip, registered to Nuage, answering every call (``answermode=auto``);
* N headless Chromium pages (Debian's chromium, fake microphone), each logged in to the portal as
  Alice, with the browser phone (``/softphone``) registered through Janus's SIP plugin.

Each round, the N pages dial Bob's extension at once. Measured:

* time from click to ringing: in the page, from the click to the phone's status turning
  ``ringing`` (Janus relays Nuage's 180) or, when the 200 comes first, ``in call``; p50/p99 over
  every call of every round;
* CPU to set a call up: the CPU time of Nuage's process and of Janus's from the clicks until every
  call is answered, divided by N (this includes their idle background over that time);
* CPU per call: the CPU time (``/proc/PID/stat``, user + system) of Nuage's process and, apart, of
  Janus's, over a window with the N calls up, minus the same window idle (the pages registered, no
  call), divided by N; in % of one core.

Usage (from the repository root, after ``scripts/install --test``):

    .venv/bin/python bench/webrtc/bench.py [--calls 4] [--rounds 5] [--window 10] [--anchor]

(``--anchor``: every call's media through Nuage's media engine; by default the demo's loopback
calls are not anchored and Nuage carries their signalling only.)

A script, not a test. baresip's RTP range holds up to 4 calls at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402
from playwright.async_api import Error as PlaywrightError  # noqa: E402

from netports import free_port  # noqa: E402
from sip.baresip_phone import running_baresip  # noqa: E402
from waiting import wait_for_condition  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
MEDIA_FLAGS = (
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
)
ALICE, ALICE_PASSWORD = "alice@dupont.example", "Alice-Portal-2026"
BOB_EXTENSION = "212"
_JANUS = re.compile(r"Janus: run by Nuage at \S+ \(pid (\d+);")
_TICKS = os.sysconf("SC_CLK_TCK")

# Records the phone's status changes with the page's clock, and clicks "call" at a known instant.
_WATCH = """() => {
  const status = document.getElementById('phone-status');
  window.benchStatus = [];
  new MutationObserver(() => window.benchStatus.push([status.textContent, performance.now()]))
    .observe(status, { childList: true, characterData: true, subtree: true });
}"""
_CLICK = "() => { window.benchStatus = []; window.benchClick = performance.now();"
_CLICK += " document.getElementById('call').click(); }"
_RANG = """() => {
  const hit = (window.benchStatus || []).find(([text]) => text === 'ringing' || text === 'in call');
  return hit ? hit[1] - window.benchClick : null;
}"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def cpu_over(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Each process's CPU over ``seconds`` of wall time, in % of one core."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    await asyncio.sleep(seconds)  # a measuring window, not a synchronisation
    wall = time.monotonic() - started
    return {name: 100 * (cpu_seconds(pid) - before[name]) / wall for name, pid in pids.items()}


async def start_serve(data: Path, log: Path, anchor: bool) -> tuple[subprocess.Popen[bytes], str, int, int]:
    """``nuage serve`` on free ports; (process, web base, SIP port, Janus pid). ``anchor``: every
    call's media through Nuage's media engine (``[sip.media] always_anchor``)."""
    env = {**os.environ, "NUAGE_DATA_DIR": str(data)}
    if anchor:
        env["NUAGE_SIP__MEDIA__ALWAYS_ANCHOR"] = "true"
    demo = subprocess.run(
        [sys.executable, "-m", "nuage", "demo", "--webrtc"], env=env, capture_output=True, check=False
    )
    if demo.returncode:
        raise SystemExit(demo.stdout.decode() + demo.stderr.decode())
    web, sip = free_port(), free_port()
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
                f"127.0.0.1:{sip}",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def running() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"nuage serve exited:\n{log.read_text()}")
        return "Nuage is running" in log.read_text()

    await wait_for_condition(running, 120, 0.2, "nuage serve")
    found = _JANUS.search(log.read_text())
    if found is None:
        raise SystemExit(f"nuage serve runs no Janus (is the janus package installed?):\n{log.read_text()}")
    return process, f"http://127.0.0.1:{web}", sip, int(found.group(1))


def registered(base: str, username: str) -> bool:
    """Whether ``username`` is registered now (the operator's live registrations, SIP-1)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-operator",
        "client_secret": "demo-operator-secret-2026",
    }
    try:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as http:
            token = http.post("/oauth/token", data=form).json()["access_token"]
            answer = http.get("/sip/registrations", headers={"Authorization": f"Bearer {token}"})
            return username in {item["username"] for item in answer.json()["items"]}
    except httpx.HTTPError:  # a loaded machine: ask again
        return False


async def phone_page(browser: Browser, base: str) -> Page:
    """A page logged in as Alice, its browser phone registered through Janus."""
    context = await browser.new_context(base_url=base, locale="en-GB")
    context.set_default_timeout(60_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#email", ALICE)
    await page.fill("#password", ALICE_PASSWORD)
    async with page.expect_navigation():
        await page.click("#login")
    await page.goto("/softphone")
    await page.click("#register")
    try:
        await page.wait_for_function("() => window.nuageSoftphone.registered", timeout=60_000)
    except PlaywrightError:
        raise SystemExit(
            f"the browser phone did not register: {await page.inner_text('#phone-status')}"
        ) from None
    await page.evaluate(_WATCH)
    await page.fill("#destination", BOB_EXTENSION)
    return page


async def in_call(page: Page) -> None:
    await page.wait_for_function(
        "() => document.getElementById('phone-status').textContent === 'in call'", timeout=60_000
    )


async def ended(page: Page) -> None:
    await page.wait_for_function(
        "() => document.getElementById('phone-status').textContent.startsWith('call ended')", timeout=60_000
    )


async def run(calls: int, rounds: int, window: float, anchor: bool) -> None:
    if shutil.which("baresip") is None or not CHROMIUM.exists():
        raise SystemExit("needs baresip and chromium: scripts/install --test")
    work = Path(tempfile.mkdtemp(prefix="nuage-webrtc-bench-"))
    serve, base, sip_port, janus_pid = await start_serve(work / "data", work / "serve.log", anchor)
    pids = {"nuage": serve.pid, "janus": janus_pid}
    ringing: list[float] = []
    busy: list[dict[str, float]] = []
    idle: list[dict[str, float]] = []
    setup: list[dict[str, float]] = []  # CPU seconds per call, from the clicks to every call answered
    try:
        folder = work / "bob"
        account = f"<sip:bob@127.0.0.1:{sip_port}>;auth_pass=Bob-Demo-2026!;answermode=auto;audio_codecs=PCMU"
        async with running_baresip(folder, account=account, extra=("call_max_calls 16",)):
            await wait_for_condition(lambda: registered(base, "bob"), 180, 0.5, "bob to register")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS)
                )
                try:
                    pages = [await phone_page(browser, base) for _ in range(calls)]  # one by one
                    for number in range(rounds):
                        idle.append(await cpu_over(pids, window))
                        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                        await asyncio.gather(*(page.evaluate(_CLICK) for page in pages))
                        await asyncio.gather(*(in_call(page) for page in pages))
                        setup.append({n: (cpu_seconds(p) - before[n]) / calls for n, p in pids.items()})
                        for page in pages:
                            rang = await page.evaluate(_RANG)
                            if rang is not None:
                                ringing.append(float(rang))
                        busy.append(await cpu_over(pids, window))
                        await asyncio.gather(*(page.click("#hangup") for page in pages))
                        await asyncio.gather(*(ended(page) for page in pages))
                        print(
                            f"round {number + 1}/{rounds}: {calls} calls up, busy {busy[-1]}, idle {idle[-1]}"
                        )
                finally:
                    await browser.close()
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(60)
    options = f"--calls {calls} --rounds {rounds} --window {window:g}{' --anchor' * anchor}"
    report(options, calls, ringing, busy, idle, setup)
    shutil.rmtree(work, ignore_errors=True)


def report(
    options: str,
    calls: int,
    ringing: list[float],
    busy: list[dict[str, float]],
    idle: list[dict[str, float]],
    setup: list[dict[str, float]],
) -> None:
    def mean(samples: list[dict[str, float]], name: str) -> float:
        return statistics.mean(sample[name] for sample in samples)

    print()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} cores")
    print(f"command: .venv/bin/python bench/webrtc/bench.py {options}")
    print(
        f"click to ringing, ms ({len(ringing)} calls, {calls} at once): p50 {percentile(ringing, 0.5):.0f}, "
        f"p99 {percentile(ringing, 0.99):.0f}, max {max(ringing):.0f}"
    )
    for name in ("nuage", "janus"):
        print(
            f"{name}: idle {mean(idle, name):.1f} % of a core, {calls} calls up {mean(busy, name):.1f} %, "
            f"per call {(mean(busy, name) - mean(idle, name)) / calls:.2f} %; "
            f"CPU to set a call up: {1000 * mean(setup, name):.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4, help="concurrent calls (1-4)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=float, default=10.0, help="seconds of each CPU window")
    parser.add_argument("--anchor", action="store_true", help="every call's media through Nuage")
    args = parser.parse_args()
    if not 1 <= args.calls <= 4:
        parser.error("--calls: 1 to 4 (baresip's RTP ports)")
    asyncio.run(run(args.calls, args.rounds, args.window, args.anchor))


if __name__ == "__main__":
    main()
