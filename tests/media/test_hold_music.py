"""A held softphone hears its ACCOUNT's music on hold (issue #15): a 700 Hz tune uploaded as a
44.1 kHz stereo WAV (CFG-12, converted once) is the music of Atelier Dupont; alice (a test phone)
calls bob (baresip, answering by itself and recording what it hears), then holds him; bob's
recording carries the tune, not the default melody. The same with a test phone held the RFC 3264
way (``sendonly``), which hears the caller again once taken back."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile

from media.peers import dominant_hz, media_port, sdp
from media.test_anchoring import Phone, _reinvite, call, heard
from media.test_anchoring_wired import wired  # noqa: F401  (the fixture: the wired SIP plane)
from nuage.bootstrap import Platform, SipRuntime
from nuage.media.player import HOLD_NOTES_HZ
from nuage.media.sounds import convert
from nuage.services.context import Context
from nuage.services.directory.sound_files import set_hold_music, upload_sound_file
from nuage.sip.digest import authorization_header
from nuage.tenancy.model import PartyKind
from sip.baresip_phone import running_baresip
from sip.harness import needs_baresip
from sound_samples import tone_file
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]

TUNE_HZ = 700


def _account_music(platform: Platform) -> str:
    """Atelier Dupont uploads a 700 Hz tune and makes it its music on hold."""
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert operator is not None
        assert account is not None
        ctx = Context.operator(operator.id, platform.clock)
        sound, _ = upload_sound_file(
            uow,
            ctx,
            platform.settings.data_dir,
            account.id,
            "Our tune",
            "audio/wav",
            tone_file(TUNE_HZ, 3, rate=44100, channels=2, level=0.3),
            convert,
            uploaded_by_user_id=None,
            copyright_acknowledged=True,
        )
        set_hold_music(uow, ctx, account.id, sound.id)
        uow.commit()
    return sound.id


def _tune_heard(folder: Path) -> bool:
    """Whether a second of what baresip played out is the account's tune (not the default notes)."""
    for path in folder.glob("*.wav"):
        with contextlib.suppress(RuntimeError):
            audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
            pcm = audio[:, 0]
            for start in range(0, len(pcm) - 8000, 2000):
                window = pcm[start : start + 8000]
                if heard(window, TUNE_HZ) and all(abs(dominant_hz(window) - hz) > 20 for hz in HOLD_NOTES_HZ):
                    return True
    return False


async def _hold(alice: Phone, port: int, ok_contact: str, to_tag: str, cseq: int) -> None:
    """alice puts the call on hold the RFC 2543 way (``c=IN IP4 0.0.0.0``, which RFC 3264 §8.4 still
    asks to understand) and ACKs the 200. Nuage's offer to baresip then stays sendrecv: baresip
    1.0 stops playing out what it receives once it is held with ``sendonly`` (it answers
    ``recvonly`` and its decoder sees nothing), so that way nothing it heard could be checked."""
    offer = sdp(alice.rtp.port, "1").replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0").decode()
    uri = ok_contact[ok_contact.index("<") + 1 : ok_contact.index(">")]
    phone = alice.sip
    phone.send(
        phone.request("INVITE", uri, to_user="212", call_id="hold-1", cseq=cseq, to_tag=to_tag, body=offer),
        port,
    )
    accepted = await phone.response(timeout=30)
    while accepted.cseq.number != cseq:
        accepted = await phone.response(timeout=30)
    assert accepted.status == 200, accepted
    phone.send(phone.request("ACK", uri, to_user="212", call_id="hold-1", cseq=cseq, to_tag=to_tag), port)


@pytest.mark.rule("CFG-12")
async def test_a_held_baresip_hears_its_accounts_uploaded_music(
    wired: tuple[Platform, SipRuntime, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    platform, runtime, low = wired
    _account_music(platform)
    port = runtime.server.bound_address("UDP").port
    folder = tmp_path / "bob"
    (folder / "rec").mkdir(parents=True)  # sndfile writes what bob sends and hears here
    account = (
        f"<sip:bob@127.0.0.1:{port}>;auth_pass=Bob-Demo-2026!;regint=300;answermode=auto;audio_codecs=PCMU"
    )
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as bob:
        await wait_for_condition(
            lambda: any(b.username == "bob" for b in runtime.server.registrations()),
            30,
            0.05,
            "bob registered",
        )
        alice = await Phone.start()
        try:
            uri = f"sip:212@127.0.0.1:{port}"
            phone, offer = alice.sip, sdp(alice.rtp.port, "1").decode()
            phone.send(phone.request("INVITE", uri, to_user="212", call_id="hold-1", body=offer), port)
            challenge = await phone.response()
            assert challenge.status == 407
            phone.send(
                phone.request("ACK", uri, to_user="212", call_id="hold-1", to_tag=challenge.to_addr.tag), port
            )
            auth = authorization_header(
                challenge.headers.get("proxy-authenticate") or "",
                username="alice",
                password="Alice-Demo-2026",
                method="INVITE",
                uri=uri,
            )
            headers = [("Proxy-Authorization", auth)]
            phone.send(
                phone.request(
                    "INVITE", uri, to_user="212", call_id="hold-1", cseq=2, headers=headers, body=offer
                ),
                port,
            )
            ok = await phone.response(timeout=30)
            while ok.status != 200:
                assert ok.status < 300, ok
                ok = await phone.response(timeout=30)
            assert low <= media_port(ok.body) < low + 200  # anchored: the music comes from Nuage
            phone.send(
                phone.request("ACK", uri, to_user="212", call_id="hold-1", cseq=2, to_tag=ok.to_addr.tag),
                port,
            )
            await bob.wait_event("CALL_ESTABLISHED")
            contact = ok.headers.get("contact") or ""
            await alice.rtp.send_tone(media_port(ok.body), 440, 200)  # alice's phone latches its leg

            await _hold(alice, port, contact, ok.to_addr.tag or "", 3)  # alice holds bob
            recordings = folder / "rec"

            def enough_heard() -> bool:  # 3 s of bob's playout since the hold (8 kHz, 16-bit)
                return sum(p.stat().st_size for p in recordings.glob("*dec*.wav")) > 2 * 8000 * 4

            await wait_for_condition(enough_heard, 20, 0.1, "bob's playout while held")
            phone.send(
                phone.request("BYE", uri, to_user="212", call_id="hold-1", cseq=4, to_tag=ok.to_addr.tag),
                port,
            )
            await bob.wait_event("CALL_CLOSED")
        finally:
            alice.close()
    await wait_for_condition(
        lambda: _tune_heard(folder / "rec"), 10, 0.2, "the account's tune in bob's recording"
    )


@pytest.mark.rule("CFG-12")
async def test_a_phone_held_with_sendonly_hears_its_accounts_music_and_then_the_caller_again(
    wired: tuple[Platform, SipRuntime, int],  # noqa: F811
) -> None:
    platform, runtime, _ = wired
    _account_music(platform)
    port = runtime.server.bound_address("UDP").port
    alice, bob = await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(port, "bob", "Bob-Demo-2026!") == 200
        _, ok = await call(
            port, alice, bob, sdp(alice.rtp.port, "1"), password="Alice-Demo-2026", dialled="212"
        )
        pbx = SimpleNamespace(port=port)
        await _reinvite(pbx, alice, bob, ok, 4, b"a=sendonly")  # type: ignore[arg-type]  # alice holds bob
        bob.rtp.received.clear()
        await wait_for_condition(lambda: len(bob.rtp.received) >= 75, timeout=30, what="music on hold")
        assert heard(bob.rtp.audio()[800:], TUNE_HZ)  # the account's tune, not the default notes
        await _reinvite(pbx, alice, bob, ok, 5, b"a=sendrecv")  # and takes the call back
        bob.rtp.received.clear()
        await alice.rtp.send_tone(media_port(ok.body), 440, 1000)
        await wait_for_condition(lambda: len(bob.rtp.received) >= 40, timeout=30, what="alice's voice")
        assert heard(bob.rtp.audio(), 440)
    finally:
        alice.close()
        bob.close()
