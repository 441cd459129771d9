"""A headless baresip for the tests: written config, started, driven over its ctrl_tcp socket.

baresip 1.0 pitfalls handled here: ``net_interface`` is an IP (else it puts eth0 in its SDP), it
binds TLS on its SIP port + 1 (so its ports are taken three at a time), its ``aufile`` source ends
the call at the end of the file (so the tone is long), and it is stopped with ``quit`` or SIGINT.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import signal
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netports import free_port, release
from sip.harness import BARESIP
from waiting import wait_for_condition


@dataclass
class Baresip:
    """A headless baresip driven over its ctrl_tcp socket (netstring-framed JSON)."""

    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    folder: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    responses: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def pump(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = int((await self.reader.readuntil(b":"))[:-1])
                payload = json.loads((await self.reader.readexactly(length + 1))[:-1])
                if payload.get("event"):
                    self.events.append(payload)
                elif payload.get("response"):
                    await self.responses.put(payload)

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        body = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        self.writer.write(b"%d:%s," % (len(body), body))
        await self.writer.drain()
        async with asyncio.timeout(5):
            return await self.responses.get()

    async def wait_event(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((event for event in self.events if event.get("type") == kind), None)

        await wait_for_condition(lambda: found() is not None, timeout, 0.05, f"baresip event {kind}")
        event = found()
        assert event is not None
        return event


def write_tone(path: Path, *, seconds: int) -> None:
    """A 440 Hz tone, 8 kHz mono 16-bit: the audio a phone sends."""
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(8000 * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


def write_config(
    folder: Path,
    *,
    account: str,
    sip_port: int,
    ctrl_port: int,
    rtp_port: int,
    modules: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> None:
    """baresip's config, one account line and an empty contact list, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tone(folder / "tone.wav", seconds=30)  # aufile ends the call at end of file: make it long
    names = [
        "g711",
        "aufile",
        "aubridge",
        *modules,
        "account",
        "menu",
        "ctrl_tcp",
    ]  # account: after its mediaenc
    lines = [
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "sip_trans_def udp",
        "net_interface 127.0.0.1",
        f"audio_source aufile,{folder / 'tone.wav'}",
        f"audio_player aubridge,{folder.name}",
        f"audio_alert aubridge,{folder.name}",
        "audio_srate 8000",
        "audio_channels 1",
        f"rtp_ports {rtp_port}-{rtp_port + 9}",
        "module_path /usr/lib/baresip/modules",
        *(f"module {name}.so" for name in names),
        f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
        *extra,
    ]
    (folder / "config").write_text("\n".join(lines) + "\n")
    (folder / "accounts").write_text(account + "\n")
    (folder / "contacts").write_text("")


@contextlib.asynccontextmanager
async def running_baresip(
    folder: Path, *, account: str, modules: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> AsyncIterator[Baresip]:
    """Start baresip on free ports with ``account``; stop it on the way out."""
    assert BARESIP is not None
    ctrl_port, sip_port, rtp_port = free_port(), free_port(span=3), free_port(span=10)
    write_config(
        folder,
        account=account,
        sip_port=sip_port,  # baresip also binds TLS on port + 1
        ctrl_port=ctrl_port,
        rtp_port=rtp_port,
        modules=modules,
        extra=extra,
    )
    process = await asyncio.create_subprocess_exec(
        BARESIP,
        "-f",
        str(folder),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def control_port_open() -> bool:
        try:
            connections.append(await asyncio.open_connection("127.0.0.1", ctrl_port))
        except OSError:
            return False
        return True

    await wait_for_condition(control_port_open, 30, 0.05, "baresip's control port")
    reader, writer = connections[0]
    phone = Baresip(process, reader, writer, folder)
    pump = asyncio.create_task(phone.pump())
    try:
        yield phone
    finally:
        await _stop(phone)
        pump.cancel()
        writer.close()
        # its ports back: a long run starts many phones, and leaked blocks split the range the wide
        # blocks (media engines, Janus) are taken from until none fits
        release(ctrl_port)
        release(sip_port, 3)
        release(rtp_port, 10)


async def _stop(phone: Baresip) -> None:
    process = phone.process
    with contextlib.suppress(Exception):
        await phone.command("quit")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(3):
            await process.wait()
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(3):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
