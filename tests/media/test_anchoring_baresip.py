"""A real softphone through the anchored media plane: baresip (alice, ``sip.baresip_phone``, sending
a 440 Hz tone from a file) calls bob (a test phone sending 1000 Hz); each hears the other through
Nuage's ports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile

from media.peers import media_port, sdp
from media.test_anchoring import Pbx, Phone, _pbx, heard
from netports import free_port, release
from nuage.media.engine import EmbeddedMediaEngine
from nuage.sip.b2bua.media import AnchorSettings
from nuage.sip.message import make_response
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import needs_baresip
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


@pytest.fixture
async def baresip_alice(anchored: tuple[Pbx, int], tmp_path: Path) -> AsyncIterator[Baresip]:
    pbx, _ = anchored
    folder = tmp_path / "alice"
    (folder / "rec").mkdir(parents=True)  # sndfile writes what alice sends and hears here
    account = f"<sip:alice@127.0.0.1:{pbx.port}>;auth_pass=alice-secret;regint=0;audio_codecs=PCMU"
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as phone:
        yield phone


async def test_baresip_and_a_phone_hear_each_other_through_nuage(
    anchored: tuple[Pbx, int], baresip_alice: Baresip, tmp_path: Path
) -> None:
    pbx, low = anchored
    bob = await Phone.start()
    try:
        assert await bob.sip.register(pbx.port, "bob", "bob-secret") == 200
        await baresip_alice.command("dial", f"sip:bob@127.0.0.1:{pbx.port}")
        invite = await bob.sip.incoming_request(timeout=30)
        assert invite.method == "INVITE"
        assert low <= media_port(invite.body) < low + 200  # alice's media comes through Nuage
        answer = make_response(invite, 200, to_tag="bobtag", body=sdp(bob.rtp.port, "2"))
        answer.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
        answer.headers.add("content-type", "application/sdp")
        bob.sip.send(answer.to_bytes(), pbx.port)
        await baresip_alice.wait_event("CALL_ESTABLISHED")
        await bob.rtp.send_tone(media_port(invite.body), 1000, 2000)
        await wait_for_condition(lambda: len(bob.rtp.received) >= 80, timeout=30, what="alice's audio")
        assert heard(bob.rtp.audio()[-8000:], 440)  # bob hears baresip's file
        await baresip_alice.command("hangup")
        bye = await bob.sip.incoming_request(timeout=30)
        while bye.method != "BYE":
            bye = await bob.sip.incoming_request(timeout=30)
        bob.sip.send(make_response(bye, 200).to_bytes(), pbx.port)
    finally:
        bob.close()
    await baresip_alice.wait_event("CALL_CLOSED")

    def alice_heard_bob() -> bool:
        for path in (tmp_path / "alice" / "rec").glob("*.wav"):
            with contextlib.suppress(RuntimeError):
                audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
                if len(audio) > 8800 and heard(audio[800:8800, 0], 1000):
                    return True
        return False

    await wait_for_condition(alice_heard_bob, timeout=30, what="bob's tone in baresip's recording")
