"""A real softphone: baresip registers as alice through Nuage and calls bob (a SIPp phone)."""

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

import pytest

from nuage.sip.ports import CallOutcome, Direction
from sip.harness import (
    BARESIP,
    Lab,
    free_port,
    needs_baresip,
    needs_sipp,
    register_with_sipp,
    run_sipp,
    sipp_listening,
)
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.sipp, pytest.mark.slow, needs_baresip, needs_sipp]


@dataclass
class Baresip:
    """A headless baresip driven over its ctrl_tcp socket (netstring-framed JSON)."""

    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
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
        return await asyncio.wait_for(self.responses.get(), 5)

    async def wait_event(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((event for event in self.events if event.get("type") == kind), None)

        await wait_for_condition(lambda: found() is not None, timeout, 0.05, f"baresip event {kind}")
        event = found()
        assert event is not None
        return event


def _write_tone(path: Path, *, seconds: int) -> None:
    """A 440 Hz tone, 8 kHz mono 16-bit: the audio alice sends."""
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(8000 * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


def _write_config(folder: Path, *, sip_port: int, ctrl_port: int, rtp_port: int, server_port: int) -> None:
    _write_tone(folder / "tone.wav", seconds=30)  # aufile ends the call at end of file: make it long
    modules = ["g711", "aufile", "aubridge", "account", "menu", "ctrl_tcp"]
    lines = [
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "sip_trans_def udp",
        "net_interface 127.0.0.1",
        f"audio_source aufile,{folder / 'tone.wav'}",
        "audio_player aubridge,alice",
        "audio_alert aubridge,alice",
        "audio_srate 8000",
        "audio_channels 1",
        f"rtp_ports {rtp_port}-{rtp_port + 9}",
        "module_path /usr/lib/baresip/modules",
        *(f"module {name}.so" for name in modules),
        f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
    ]
    (folder / "config").write_text("\n".join(lines) + "\n")
    (folder / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{server_port}>;auth_pass=alice-secret;regint=300;"
        "answermode=manual;audio_codecs=PCMU\n"
    )
    (folder / "contacts").write_text("")


@pytest.fixture
async def alice_softphone(lab: Lab, tmp_path: Path) -> AsyncIterator[Baresip]:
    assert BARESIP is not None
    sip_port = free_port(span=3)  # baresip also binds TLS on port + 1
    ctrl_port = free_port()
    _write_config(
        tmp_path, sip_port=sip_port, ctrl_port=ctrl_port, rtp_port=free_port(span=10), server_port=lab.port
    )
    process = await asyncio.create_subprocess_exec(
        BARESIP,
        "-f",
        str(tmp_path),
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
    phone = Baresip(process, reader, writer)
    pump = asyncio.create_task(phone.pump())
    try:
        yield phone
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(phone.command("quit"), 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 3)
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 3)
            except TimeoutError:
                process.kill()
                await process.wait()
        pump.cancel()
        writer.close()


@pytest.mark.rule("SIP-1")
async def test_baresip_registers_calls_bob_and_the_call_is_recorded(
    lab: Lab, alice_softphone: Baresip
) -> None:
    await wait_for_condition(
        lambda: any(b.username == "alice" for b in lab.server.registrations()), 30, 0.05, "baresip registered"
    )
    bob_port = free_port()
    assert (await register_with_sipp(lab, "bob", "bob-secret", port=bob_port)).returncode == 0
    bob = asyncio.create_task(run_sipp("uas_answer.xml", "", port=bob_port, args=["-m", "1"]))
    await sipp_listening(bob, bob_port)
    await alice_softphone.command("dial", f"sip:bob@127.0.0.1:{lab.port}")
    await alice_softphone.wait_event("CALL_ESTABLISHED")
    assert [call.state.value for call in lab.server.calls()] == ["connected"]
    await asyncio.sleep(1.2)  # how long the call lasts (alice sends audio meanwhile): no wait on anyone
    await alice_softphone.command("hangup")
    bob_result = await bob
    assert bob_result.returncode == 0, bob_result.output
    await wait_for_condition(lambda: lab.server.calls() == [], 30, what="the call to end")
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.direction is Direction.INTERNAL
    assert cdr.device_id == "dev-alice"
    assert cdr.callee == "bob"
    assert cdr.billable_seconds >= 1
