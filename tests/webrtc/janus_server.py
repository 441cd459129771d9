"""A Janus WebRTC gateway (Debian ``janus``) started by the tests on free ports, from a generated
configuration folder: the HTTP transport on loopback, the video room, audio bridge and SIP plugins,
nothing else (the other plugins, transports, loggers and event handlers are disabled so it starts
fast).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from netports import bind_race_lost, free_port, release
from waiting import wait_until

PLUGINS = Path("/usr/lib/x86_64-linux-gnu/janus")
_OTHER_PLUGINS = (
    "duktape", "echotest", "lua", "nosip", "recordplay", "streaming", "textroom",
    "videocall", "voicemail",
)  # fmt: skip
_OTHER_TRANSPORTS = ("mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets")
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

    def _write_config(self) -> None:
        disabled = ",".join(f"libjanus_{name}.so" for name in _OTHER_PLUGINS)
        transports = ",".join(f"libjanus_{name}.so" for name in _OTHER_TRANSPORTS)
        (self.config / "janus.jcfg").write_text(
            f"""general: {{
  configs_folder = "{self.config}"
  plugins_folder = "{PLUGINS}/plugins"
  transports_folder = "{PLUGINS}/transports"
  events_folder = "{PLUGINS}/events"
  loggers_folder = "{PLUGINS}/loggers"
  debug_level = 4
  server_name = "nuage-test"
  session_timeout = 60
}}
media: {{ rtp_port_range = "{self.rtp_low}-{self.rtp_low + 199}" }}
nat: {{ nice_debug = false ice_enforce_list = "lo" ignore_mdns = true }}
plugins: {{ disable = "{disabled}" }}
transports: {{ disable = "{transports}" }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
events: {{ broadcast = false }}
"""
        )
        (self.config / "janus.transport.http.jcfg").write_text(
            f"""general: {{ json = "compact" base_path = "/janus" http = true port = {self.port}
  https = false ip = "127.0.0.1" }}
admin: {{ admin_http = false }}
cors: {{ }}
"""
        )
        (self.config / "janus.plugin.videoroom.jcfg").write_text(
            f'general: {{ admin_key = "{ADMIN_KEY}" lock_rtp_forward = true }}\n'
        )
        (self.config / "janus.plugin.audiobridge.jcfg").write_text(
            f'general: {{ admin_key = "{ADMIN_KEY}" local_ip = "127.0.0.1" '
            f'rtp_port_range = "{self.rtp_low + 300}-{self.rtp_low + 349}" }}\n'
        )
        (self.config / "janus.plugin.sip.jcfg").write_text(
            f'general: {{ local_ip = "127.0.0.1" sdp_ip = "127.0.0.1" '
            f'rtp_port_range = "{self.rtp_low + 200}-{self.rtp_low + 299}" register_ttl = 300 }}\n'
        )

    def start(self) -> None:
        binary = require_janus()
        for _ in range(2):
            self.port = free_port()
            self.rtp_low = free_port(span=350)
            self._write_config()
            log = (self.workdir / "janus.log").open("wb")
            self.process = subprocess.Popen(
                [binary, "-C", str(self.config / "janus.jcfg"), "-F", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until(self._ready, timeout=20, what="Janus to answer /info")
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
        try:
            with urllib.request.urlopen(f"{self.url}/info", timeout=2) as answer:
                return json.load(answer).get("janus") == "server_info"
        except OSError:
            return False

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
