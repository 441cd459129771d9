"""A real softphone through the anchored media plane: baresip (alice, sending a 440 Hz tone from a
file) calls bob (a test phone sending 1000 Hz); each hears the other through Nuage's ports."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile

from media.peers import media_port, sdp
from media.test_anchoring import Pbx, Phone, _pbx, heard
from netports import free_port, release
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.player import tone
from nuage.sip.b2bua.media import AnchorSettings
from nuage.sip.transactions import make_response
from sip.harness import BARESIP, needs_baresip
from sip.integration.test_baresip import Baresip
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]


@pytest.fixture
async def anchored() -> AsyncIterator[tuple[Pbx, int]]:
    low = free_port(span=200)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 199, timeout_s=30)
    pbx = await _pbx(engine, AnchorSettings(always=True))
    yield pbx, low
    await pbx.server.stop(grace_s=0.5)
    await engine.close()
    release(low, 200)


def _configure(folder: Path, *, sip_port: int, ctrl_port: int, rtp_port: int, server_port: int) -> None:
    soundfile.write(str(folder / "tone.wav"), tone(440, 30_000, -6.0), 8000, subtype="PCM_16")
    (folder / "rec").mkdir()
    modules = ["g711", "aufile", "aubridge", "sndfile", "account", "menu", "ctrl_tcp"]
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
        f"snd_path {folder / 'rec'}",
    ]
    (folder / "config").write_text("\n".join(lines) + "\n")
    (folder / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{server_port}>;auth_pass=alice-secret;regint=0;audio_codecs=PCMU\n"
    )
    (folder / "contacts").write_text("")


@pytest.fixture
async def baresip_alice(anchored: tuple[Pbx, int], tmp_path: Path) -> AsyncIterator[Baresip]:
    assert BARESIP is not None
    pbx, _ = anchored
    ctrl_port = free_port()
    _configure(
        tmp_path,
        sip_port=free_port(span=3),
        ctrl_port=ctrl_port,
        rtp_port=free_port(span=10),
        server_port=pbx.port,
    )
    process = await asyncio.create_subprocess_exec(
        BARESIP, "-f", str(tmp_path), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
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


async def test_baresip_and_a_phone_hear_each_other_through_nuage(
    anchored: tuple[Pbx, int], baresip_alice: Baresip, tmp_path: Path
) -> None:
    pbx, low = anchored
    bob = await Phone.start()
    try:
        assert await bob.sip.register(pbx.port, "bob", "bob-secret") == 200
        await baresip_alice.command("dial", f"sip:bob@127.0.0.1:{pbx.port}")
        invite = await bob.sip.incoming_request(timeout=15)
        assert invite.method == "INVITE"
        assert low <= media_port(invite.body) < low + 200  # alice's media comes through Nuage
        answer = make_response(invite, 200, to_tag="bobtag", body=sdp(bob.rtp.port, "2"))
        answer.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
        answer.headers.add("content-type", "application/sdp")
        bob.sip.send(answer.to_bytes(), pbx.port)
        await baresip_alice.wait_event("CALL_ESTABLISHED")
        await bob.rtp.send_tone(media_port(invite.body), 1000, 2000)
        await wait_for_condition(lambda: len(bob.rtp.received) >= 80, timeout=10, what="alice's audio")
        assert heard(bob.rtp.audio()[-8000:], 440)  # bob hears baresip's file
        await baresip_alice.command("hangup")
        bye = await bob.sip.incoming_request(timeout=10)
        while bye.method != "BYE":
            bye = await bob.sip.incoming_request(timeout=10)
        bob.sip.send(make_response(bye, 200).to_bytes(), pbx.port)
    finally:
        bob.close()
    await baresip_alice.wait_event("CALL_CLOSED")

    def alice_heard_bob() -> bool:
        for path in (tmp_path / "rec").glob("*.wav"):
            with contextlib.suppress(RuntimeError):
                audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
                if len(audio) > 8800 and heard(audio[800:8800, 0], 1000):
                    return True
        return False

    await wait_for_condition(alice_heard_bob, timeout=10, what="bob's tone in baresip's recording")
