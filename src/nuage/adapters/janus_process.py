"""A Janus WebRTC gateway (Debian ``janus``) run by Nuage itself (MTG-1): its configuration folder,
generated, and a supervised child process.

``write_config`` writes the smallest configuration Web Meeting and browser calls need: the HTTP
transport on loopback, the video room (its ``admin_key``) and the SIP plugins, nothing else (the
other plugins, transports, loggers and event handlers are disabled so it starts fast). The tests'
gateway and ``nuage serve``'s embedded one are both written here.

``JanusProcess`` runs ``janus`` on such a folder without waiting for it (it reports when ``/info``
does not answer), starts it again when it exits on its own, stops it with Nuage, and asks the kernel
to stop it if Nuage dies without a word (``PR_SET_PDEATHSIG``), so no gateway outlives the process
that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import logging
import shutil
import signal
import subprocess
import sysconfig
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

OTHER_PLUGINS = (
    "duktape", "echotest", "lua", "nosip", "recordplay", "streaming", "textroom",
    "videocall", "voicemail",
)  # fmt: skip
OTHER_TRANSPORTS = ("mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets")
RESTART_AFTER_S = (0.5, 1.0, 2.0, 5.0, 10.0)  # waits between restarts after a crash, then 10 s each
READY_WITHIN_S = 20.0  # a Janus that does not answer /info by then is reported (and left running)


def find_janus() -> str | None:
    """The ``janus`` binary on ``PATH``, or None when it is not installed."""
    return shutil.which("janus")


def modules_folder(binary: str) -> Path | None:
    """Where the package put Janus's plugins and transports (``<prefix>/lib/<multiarch>/janus``), or
    None to let Janus use its built-in folders."""
    prefix = Path(binary).resolve().parent.parent
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for candidate in (prefix / "lib" / multiarch / "janus", prefix / "lib" / "janus"):
        if (candidate / "plugins").is_dir():
            return candidate
    return None


@dataclass(frozen=True, kw_only=True)
class JanusConfig:
    """What a generated configuration sets."""

    folder: Path  # the configuration folder (written)
    port: int  # the HTTP transport's port, on 127.0.0.1
    admin_key: str  # the video room's admin_key: only who knows it creates rooms
    modules: Path | None = None  # from ``modules_folder``
    rtp_ports: tuple[int, int] | None = None  # ICE/RTP towards browsers; None: any free port
    sip_rtp_ports: tuple[int, int] | None = None  # the SIP plugin's RTP towards Nuage; None: any
    bridge_rtp_ports: tuple[int, int] | None = None  # the audio bridge's plain RTP (phones dialled in)
    server_name: str = "nuage"
    debug_level: int = 4

    @property
    def url(self) -> str:
        """The Janus API base URL (HTTP transport)."""
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def main_file(self) -> Path:
        return self.folder / "janus.jcfg"


def _range(ports: tuple[int, int] | None) -> str:
    return f'rtp_port_range = "{ports[0]}-{ports[1]}"' if ports else ""


def write_config(config: JanusConfig) -> Path:
    """Write the configuration folder; returns the main file (``janus -C``)."""
    folder = config.folder
    folder.mkdir(parents=True, exist_ok=True)
    disabled = ",".join(f"libjanus_{name}.so" for name in OTHER_PLUGINS)
    transports = ",".join(f"libjanus_{name}.so" for name in OTHER_TRANSPORTS)
    modules = config.modules
    folders = (
        f"""  plugins_folder = "{modules}/plugins"
  transports_folder = "{modules}/transports"
  events_folder = "{modules}/events"
  loggers_folder = "{modules}/loggers"
"""
        if modules
        else ""
    )
    config.main_file.write_text(
        f"""general: {{
  configs_folder = "{folder}"
{folders}  debug_level = {config.debug_level}
  server_name = "{config.server_name}"
  session_timeout = 60
}}
media: {{ {_range(config.rtp_ports)} }}
nat: {{ nice_debug = false ice_enforce_list = "lo" ignore_mdns = true }}
plugins: {{ disable = "{disabled}" }}
transports: {{ disable = "{transports}" }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
events: {{ broadcast = false }}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{ json = "compact" base_path = "/janus" http = true port = {config.port}
  https = false ip = "127.0.0.1" }}
admin: {{ admin_http = false }}
cors: {{ }}
"""
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        f'general: {{ admin_key = "{config.admin_key}" lock_rtp_forward = true }}\n'
    )
    (folder / "janus.plugin.audiobridge.jcfg").write_text(  # the meetings' sound, phones dial in (MTG-1)
        f'general: {{ admin_key = "{config.admin_key}" local_ip = "127.0.0.1" '
        f"{_range(config.bridge_rtp_ports)} }}\n"
    )
    (folder / "janus.plugin.sip.jcfg").write_text(
        f'general: {{ local_ip = "127.0.0.1" sdp_ip = "127.0.0.1" '
        f"{_range(config.sip_rtp_ports)} register_ttl = 300 }}\n"
    )
    for name in ("janus.jcfg", "janus.plugin.videoroom.jcfg", "janus.plugin.audiobridge.jcfg"):
        (folder / name).chmod(0o600)  # the admin key
    return config.main_file


def command(binary: str, config: JanusConfig) -> list[str]:
    """The command line that runs Janus on ``config``'s folder."""
    return [binary, "-C", str(config.main_file), "-F", str(config.folder)]


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the Janus at ``url`` answers ``/info`` (blocking: call it from a thread)."""
    try:
        with urllib.request.urlopen(f"{url}/info", timeout=timeout) as answer:
            return bool(json.load(answer).get("janus") == "server_info")
    except (OSError, ValueError):
        return False


def _die_with_parent() -> None:
    """In the child, before ``exec``: the kernel sends SIGTERM when the parent dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class JanusProcess:
    """One supervised Janus: started, restarted when it exits on its own, stopped with Nuage."""

    def __init__(self, binary: str, config: JanusConfig, log_file: Path) -> None:
        self.binary = binary
        self.config = config
        self.log_file = log_file
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._claim: IO[bytes] | None = None

    def claim(self) -> bool:
        """Take the configuration folder for this process (a lock held until ``stop``); False when
        another process holds it: two servers on one data directory would rewrite each other's."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        held = (self.log_file.parent / "janus.lock").open("wb")
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            held.close()
            return False
        self._claim = held
        return True

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def _spawn(self) -> asyncio.subprocess.Process:
        write_config(self.config)
        with self.log_file.open("ab") as out:
            return await asyncio.create_subprocess_exec(
                *command(self.binary, self.config),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C is Nuage's to pass on
                preexec_fn=_die_with_parent,
            )

    async def start(self) -> None:
        """Start Janus and its supervision; it answers a moment later (``wait_ready``), while the
        caller goes on starting the rest (nothing waits on the gateway to serve)."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._process = await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise())

    async def wait_ready(self, within_s: float) -> bool:
        """Whether Janus answers ``/info`` within ``within_s`` (False at once if it exited)."""
        try:
            async with asyncio.timeout(within_s):
                while not await asyncio.to_thread(answers, self.config.url):
                    if self._process is None or self._process.returncode is not None:
                        return False
                    await asyncio.sleep(0.1)
                return True
        except TimeoutError:
            return False

    def stopping(self) -> bool:
        """Whether ``stop`` was called (an exit then is no crash)."""
        return self._stopping

    async def _supervise(self) -> None:
        failures = 0  # exits in a row of a Janus that never answered: the pause grows
        while not self.stopping() and self._process is not None:
            answered = await self.wait_ready(READY_WITHIN_S)
            if not answered and self._process.returncode is None:
                log.warning("Janus does not answer at %s (see %s)", self.config.url, self.log_file)
            code = await self._process.wait()
            if self.stopping():
                return
            failures = 0 if answered else failures + 1
            pause = RESTART_AFTER_S[min(failures, len(RESTART_AFTER_S) - 1)]
            log.warning("Janus exited (status %s); starting it again in %.1f s", code, pause)
            await asyncio.sleep(pause)
            if self.stopping():
                return
            self._process = await self._spawn()
            self.restarts += 1
            log.warning("Janus started again (pid %s)", self._process.pid)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop Janus (SIGTERM, then SIGKILL after ``grace_s``) and its supervision."""
        self._stopping = True
        try:
            await self._stop_process(grace_s)
        finally:
            self.release()

    def release(self) -> None:
        """Let go of the configuration folder (``claim``)."""
        if self._claim is not None:
            self._claim.close()  # the lock goes with the file
            self._claim = None

    async def _stop_process(self, grace_s: float) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(grace_s):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
