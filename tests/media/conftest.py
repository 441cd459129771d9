"""The engines under contract: the embedded one, and rtpengine started by the test on free ports.

rtpengine missing locally skips its half of the contract tests (with the reason); under CI it
fails, as the CI installs it (scripts/install --test), like the PostgreSQL fixture does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from netports import bind_race_lost, free_port, release
from nuage.adapters.fax_receiver import FaxCall, FaxReceiver
from nuage.adapters.rtpengine import RtpengineMediaEngine
from nuage.media.engine import EmbeddedMediaEngine
from nuage.sip.b2bua.media import MediaServices
from nuage.sip.media import MediaEvent, MediaPort
from nuage.sip.ports import FaxDestination
from sip.harness import lab_server, make_lab_parts
from waiting import wait_until

TIMEOUT_S = 1.5
"""Media timeout of the engines under test: short, so a stopped stream is noticed quickly."""


class Daemon:
    """One rtpengine process of this test run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.recordings = workdir / "rec"
        self.recordings.mkdir()
        self.process: subprocess.Popen[bytes] | None = None
        self.ng = 0
        self.dtmf = 0

    def start(self) -> None:
        for _ in range(2):
            self.ng, self.dtmf = free_port(), free_port()
            low = free_port(span=400)
            log = (self.workdir / "rtpengine.log").open("wb")
            self.process = subprocess.Popen(
                [
                    "rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--log-level=6",
                    "--table=-1", "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{self.ng}",
                    f"--port-min={low}", f"--port-max={low + 399}", "--delete-delay=0",
                    f"--recording-dir={self.recordings}", "--recording-method=pcap",
                    f"--dtmf-log-dest=127.0.0.1:{self.dtmf}", "--dtmf-no-suppress",
                    "--endpoint-learning=immediate",
                ],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                wait_until(self._ready, timeout=30, what="rtpengine to start")
                return
            except AssertionError:
                self.stop()
                if not bind_race_lost(self.log()):
                    raise AssertionError(f"rtpengine did not start:\n{self.log()[-2000:]}") from None
        raise AssertionError("rtpengine lost its ports twice")

    def log(self) -> str:
        return (self.workdir / "rtpengine.log").read_text(errors="replace")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"rtpengine exited:\n{self.log()[-2000:]}")
        return "Startup complete" in self.log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def rtpengine_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    if shutil.which("rtpengine") is None:
        if os.environ.get("CI"):
            pytest.fail("rtpengine is not installed (scripts/install --test installs rtpengine-daemon)")
        pytest.skip("rtpengine is not installed")
    daemon = Daemon(tmp_path_factory.mktemp("rtpengine"))
    daemon.start()
    yield daemon
    daemon.stop()


class Events:
    """The events an engine delivered, to wait on."""

    def __init__(self) -> None:
        self.seen: list[MediaEvent] = []

    def __call__(self, event: MediaEvent) -> None:
        self.seen.append(event)

    def of(self, kind: type[object]) -> list[MediaEvent]:
        return [e for e in self.seen if isinstance(e, kind)]


@pytest.fixture(params=["embedded", "forwarder", "rtpengine"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[tuple[MediaPort, Events]]:
    events = Events()
    if request.param in ("embedded", "forwarder"):  # forwarder: the packets relayed by a process
        low = free_port(span=200)
        embedded = EmbeddedMediaEngine(
            "127.0.0.1",
            low,
            low + 199,
            timeout_s=TIMEOUT_S,
            forwarder_processes=int(request.param == "forwarder"),
        )
        embedded.subscribe(events)
        await embedded.start()
        yield embedded, events
        await embedded.close()
        release(low, 200)  # its sockets are closed: a long run keeps the range whole
        return
    daemon: Daemon = request.getfixturevalue("rtpengine_daemon")
    adapter = RtpengineMediaEngine(
        ("127.0.0.1", daemon.ng),
        dtmf_listen=("127.0.0.1", daemon.dtmf),
        recording_dir=daemon.recordings,
        timeout_s=TIMEOUT_S,
        poll_s=0.2,
        command_timeout_s=15,  # a loaded machine can keep the daemon from answering for seconds
    )
    await adapter.open()
    adapter.subscribe(events)
    yield adapter, events
    await adapter.close()


FAX_NUMBER = "+3225550199"
"""The number ``fax_lab`` routes to its virtual fax."""


@pytest.fixture
async def fax_lab(
    engine: tuple[MediaPort, Events], tmp_path: Path
) -> AsyncIterator[tuple[int, list[FaxCall]]]:
    """A SIP server whose number ``FAX_NUMBER`` leads to a virtual fax (CFG-7): its UDP port, and
    the faxes received. On the embedded engine the fax also takes T.38 offers, as on a node."""
    credentials, dial_plan = make_lab_parts(free_port())
    server = lab_server(credentials, dial_plan)
    server.media = MediaServices(engine[0])
    faxes: list[FaxCall] = []

    async def keep(fax: FaxCall) -> None:
        faxes.append(fax)

    embedded = engine[0] if isinstance(engine[0], EmbeddedMediaEngine) else None
    receiver = FaxReceiver(tmp_path / "spool", keep, ident="+32 2 555 01 99", engine=embedded)
    dial_plan.numbers[FAX_NUMBER] = FaxDestination("fax-1", "acc-1")  # CFG-7: the number leads to a fax
    server.applications.fax = receiver.answer
    await server.start()
    yield server.bound_address("UDP").port, faxes
    await server.stop(grace_s=0.5)
