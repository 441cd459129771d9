"""A Janus WebRTC gateway (Debian ``janus``) started by the tests on free ports, from the
configuration folder ``nuage serve``'s embedded Janus is written from (``write_config``): the HTTP
transport on loopback, the video room, audio bridge and SIP plugins, nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from netports import bind_race_lost, free_port, release
from nuage.adapters.janus_process import JanusConfig, answers, modules_folder, write_config
from waiting import wait_until

ADMIN_KEY = "nuage-test-room-admin-key"


def require_janus() -> str:
    """The ``janus`` binary; skip (locally) or fail (CI) when it is not installed."""
    found = shutil.which("janus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("janus is not installed (scripts/install --test installs it)")
        pytest.skip("janus is not installed")
    return found


class JanusServer:
    """One Janus process of this test run, stopped by its PID."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.config = workdir / "etc"
        self.config.mkdir(exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.rtp_low = 0

    @property
    def url(self) -> str:
        """The Janus API base URL (HTTP transport)."""
        return f"http://127.0.0.1:{self.port}/janus"

    def _write_config(self, binary: str) -> None:
        write_config(
            JanusConfig(
                folder=self.config,
                port=self.port,
                admin_key=ADMIN_KEY,
                modules=modules_folder(binary),
                rtp_ports=(self.rtp_low, self.rtp_low + 199),
                sip_rtp_ports=(self.rtp_low + 200, self.rtp_low + 299),
                bridge_rtp_ports=(self.rtp_low + 300, self.rtp_low + 349),
                server_name="nuage-test",
            )
        )

    def start(self) -> None:
        binary = require_janus()
        for _ in range(2):
            self.port = free_port()
            self.rtp_low = free_port(span=350)
            self._write_config(binary)
            log = (self.workdir / "janus.log").open("wb")
            self.process = subprocess.Popen(
                [binary, "-C", str(self.config / "janus.jcfg"), "-F", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until(self._ready, timeout=30, what="Janus to answer /info")
                return
            except AssertionError:
                self.stop()
                if not bind_race_lost(self.log()) and "Address already in use" not in self.log():
                    raise AssertionError(f"Janus did not start:\n{self.log()[-3000:]}") from None
        raise AssertionError("Janus lost its ports twice")

    def log(self) -> str:
        return (self.workdir / "janus.log").read_text(errors="replace")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"Janus exited:\n{self.log()[-3000:]}")
        return answers(self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.rtp_low:
            release(self.rtp_low, 350)
