"""Voicemail end to end (issue #16) on the wired SIP plane: alice leaves bob a message (a tone) by
dialling *98 and bob's extension; the stored file holds the tone, the e-mail with the message
attached reaches an SMTP server (aiosmtpd) in bob's box's language, a SIPp phone subscribed to
bob's message summary is told a message is waiting (RFC 3842), and bob hears the message back by
dialling *97 and his PIN (RFC 4733 digits), then deletes it."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from media.app_phone import AppPhone
from media.peers import dominant_hz, rms
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.voicemail import Folder
from nuage.media import prompts
from nuage.media_settings import SipMediaSettings, SipVoicemailSettings
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.shared.clock import SystemClock
from nuage.sip.digest import authorization_header
from nuage.sip.message import SipResponse, make_response
from nuage.tenancy.model import PartyKind
from sip.harness import RawUdpPhone, needs_sipp, run_sipp, sipp_listening
from waiting import wait_for_condition

BOB_PIN = "5829"


@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prompts, spoken once for the session (espeak-ng, as at install)."""
    directory = tmp_path_factory.mktemp("prompts")
    prompts.generate(directory)
    return directory


@pytest.fixture
async def wired(
    request: pytest.FixtureRequest,
    platform: Platform,
    smtp_server: tuple[int, list[Message]],
    prompts_dir: Path,
) -> AsyncIterator[tuple[Platform, SipRuntime, str]]:
    """The wired SIP plane with bob's box; its media engine the embedded one, or rtpengine when the
    test asks (``indirect`` parameter)."""
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        bob = uow.users.find_by(account_id=account.id, extension="212")
        assert bob is not None
        ctx = Context.operator(account.id, platform.clock)
        box = vm.create_box(uow, ctx, account.id, user_id=bob.id, language="fr", email="bob@dupont.example")
        vm.set_pin(uow, ctx, box.id, BOB_PIN)
        uow.commit()
    low = free_port(span=200)
    platform.settings.sip.port = 0
    # the test phones are silent while they listen: a long media timeout
    platform.settings.sip.media = SipMediaSettings(port_min=low, port_max=low + 199, timeout_s=60)
    if getattr(request, "param", "embedded") == "rtpengine":
        daemon = request.getfixturevalue("rtpengine_daemon")
        platform.settings.sip.media = SipMediaSettings(
            engine="rtpengine",
            rtpengine_ng=f"127.0.0.1:{daemon.ng}",
            rtpengine_dtmf_log=f"127.0.0.1:{daemon.dtmf}",
            rtpengine_recording_dir=daemon.recordings,
            timeout_s=60,
        )
    platform.settings.sip.voicemail = SipVoicemailSettings(
        smtp=f"127.0.0.1:{smtp_server[0]}", prompts_dir=prompts_dir, mail_from="voicemail@nuage.example"
    )
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime, box.id
    finally:
        if platform.sip is not None:
            await runtime.stop(grace_s=1)
        release(low, 200)


def tone_at(samples: np.ndarray, hz: float) -> bool:
    """Whether ``samples`` are a clear tone at ``hz``."""
    return len(samples) >= 1600 and rms(samples) > 500 and abs(dominant_hz(samples) - hz) < 15


def pure_tone(samples: np.ndarray, hz: float) -> bool:
    """Whether ``samples`` are a pure tone at ``hz`` (most energy within 20 Hz of it: speech never is)."""
    if len(samples) < 1600 or rms(samples) < 500:
        return False
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    return float(spectrum[np.abs(freqs - hz) < 20].sum() / spectrum.sum()) > 0.8


def heard_tone(phone: AppPhone, hz: float, since: int = 0, window: int = 4000) -> bool:
    """Whether the phone heard a pure tone at ``hz`` among the packets since ``since``."""
    audio = phone.rtp.audio()[since * 160 :]
    return any(pure_tone(audio[i : i + window], hz) for i in range(0, max(0, len(audio) - window), 400))


@needs_sipp
@pytest.mark.parametrize(
    ("platform", "wired"),
    [
        ("sqlite", "embedded"),
        pytest.param("postgresql", "embedded", marks=pytest.mark.postgres),
        ("sqlite", "rtpengine"),
    ],
    indirect=True,
)
async def test_alice_leaves_bob_a_voicemail_that_reaches_his_box_his_mail_his_lamp_and_his_ear(
    wired: tuple[Platform, SipRuntime, str], smtp_server: tuple[int, list[Message]]
) -> None:
    platform, runtime, box_id = wired
    port = runtime.server.bound_address("UDP").port
    mwi = runtime.server.mwi
    assert mwi is not None
    # bob's phone subscribes to his message summary (SIPp, digest): nothing waiting yet
    sipp_port = free_port()
    subscriber = asyncio.create_task(
        run_sipp(
            "subscribe_mwi.xml",
            f"127.0.0.1:{port}",
            port=sipp_port,
            args=["-s", "bob", "-au", "bob", "-ap", "Bob-Demo-2026!", "-m", "1"],
            timeout=60,
        )
    )
    await sipp_listening(subscriber, sipp_port)
    await wait_for_condition(
        lambda: len(mwi.subscriptions) == 1 or subscriber.done(), what="the subscription"
    )
    assert not subscriber.done(), subscriber.result().output

    # alice dials *98 and bob's extension, skips the greeting (a digit), hears the beep, says a tone
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, "*98212")).status == 200
        await wait_for_condition(lambda: len(alice.rtp.received) >= 10, timeout=30, what="the greeting")
        await alice.digits("0")
        await wait_for_condition(lambda: heard_tone(alice, 1000, window=2400), timeout=30, what="the beep")
        await alice.tone(440, 2000)
        await alice.digits("#")
        await alice.bye_from_server(port, timeout=30)  # "message saved, goodbye", then the BYE
    finally:
        alice.close()

    # the message is in bob's box, new, and its file holds alice's tone
    with platform.uow() as uow:
        (message,) = uow.voicemail_messages.list(box_id=box_id, order_by=("received_at",))
        box = uow.voicemail_boxes.get(box_id)
    assert message.folder is Folder.NEW
    assert message.caller == "alice"
    assert 1500 <= message.duration_ms <= 4000
    audio, rate = soundfile.read(
        str(vm.message_file(platform.settings.data_dir, box, message.id)), dtype="int16"
    )
    assert audio.ndim == 1  # mono: the caller only
    assert rate == 8000
    assert tone_at(audio[len(audio) // 3 : len(audio) // 3 + 4000], 440)

    # the e-mail: in French (bob's box), the caller and the message attached (FLAC, the tone)
    _, received = smtp_server
    await wait_for_condition(lambda: len(received) == 1, timeout=30, what="the e-mail")
    (mail,) = received
    assert mail["To"] == "bob@dupont.example"
    assert mail["Subject"] == "Nouveau message vocal de alice"
    parts = list(mail.walk())
    body = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True)
    assert b"alice" in body
    assert b"message vocal" in body
    (attached,) = [p for p in parts if p.get_content_type() == "audio/flac"]
    sent, _ = soundfile.read(io.BytesIO(attached.get_payload(decode=True)), dtype="int16")
    assert tone_at(sent[len(sent) // 3 : len(sent) // 3 + 4000], 440)

    # bob's phone was told a message is waiting (Messages-Waiting: yes, Voice-Message: 1/0)
    result = await subscriber
    assert result.returncode == 0, result.output

    # bob dials *97, types his PIN, hears alice's tone, deletes the message
    bob = await AppPhone.start("bob", "Bob-Demo-2026!")
    try:
        assert (await bob.dial(port, "*97")).status == 200
        await wait_for_condition(lambda: len(bob.rtp.received) >= 10, timeout=30, what="the PIN prompt")
        await bob.digits(BOB_PIN + "#")
        start = len(bob.rtp.received)
        await wait_for_condition(lambda: heard_tone(bob, 440, start), timeout=30, what="the message")
        await bob.digits("7")
        await bob.bye_from_server(port, timeout=40)  # "deleted", "no more messages", BYE
    finally:
        bob.close()
    with platform.uow() as uow:
        assert uow.voicemail_messages.count(box_id=box_id) == 0
    assert not vm.message_file(platform.settings.data_dir, box, message.id).exists()


async def _subscribe(phone: RawUdpPhone, port: int, user: str, password: str, **kw: Any) -> SipResponse:
    """A SUBSCRIBE to ``user``'s message summary, answering the digest challenge."""
    uri = f"sip:{user}@127.0.0.1:{port}"
    headers = [("Event", kw.pop("event", "message-summary")), ("Expires", str(kw.pop("expires", 600)))]
    phone.send(phone.request("SUBSCRIBE", uri, user=user, call_id=f"mwi-{user}", headers=headers), port)
    challenge = await phone.response()
    if challenge.status != 401:
        return challenge
    auth = authorization_header(
        challenge.headers.get("www-authenticate") or "",
        username=user,
        password=password,
        method="SUBSCRIBE",
        uri=uri,
    )
    phone.send(
        phone.request(
            "SUBSCRIBE",
            uri,
            user=user,
            call_id=f"mwi-{user}",
            cseq=2,
            headers=[*headers, ("Authorization", auth)],
        ),
        port,
    )
    return await phone.response()


async def test_message_summary_subscriptions_are_checked_notified_and_ended(
    wired: tuple[Platform, SipRuntime, str],
) -> None:
    platform, runtime, box_id = wired
    port = runtime.server.bound_address("UDP").port
    # call forwarding's hook: bob has a box (his deposit), alice none
    divert = runtime.server.applications.divert
    assert divert is not None
    with platform.uow() as uow:
        bob_id = uow.voicemail_boxes.get(box_id).user_id
        alice = uow.users.find_by(extension="211")
    assert bob_id is not None
    assert alice is not None
    assert await divert(bob_id, "busy") is not None
    assert await divert(alice.id, "unavailable") is None
    phone = RawUdpPhone()
    try:
        refused = await _subscribe(phone, port, "bob", "Bob-Demo-2026!", event="presence")
        assert refused.status == 489
        assert refused.headers.get("allow-events") == "message-summary"
        too_brief = await _subscribe(phone, port, "bob", "Bob-Demo-2026!", expires=10)
        assert too_brief.status == 423
        assert too_brief.headers.get("min-expires") == "60"
        assert (await _subscribe(phone, port, "alice", "Alice-Demo-2026")).status == 404  # no box
        stray = phone.request(
            "SUBSCRIBE",
            f"sip:bob@127.0.0.1:{port}",
            user="bob",
            to_tag="unknown",
            headers=[("Event", "message-summary")],
        )
        phone.send(stray, port)
        assert (await phone.response()).status == 481

        ok = await _subscribe(phone, port, "bob", "Bob-Demo-2026!")
        assert ok.status == 200
        assert ok.headers.get("expires") == "600"
        notify = await phone.incoming_request()
        assert notify.method == "NOTIFY"
        assert notify.headers.get("event") == "message-summary"
        assert notify.headers.get("content-type") == "application/simple-message-summary"
        assert notify.headers.get("subscription-state") == "active;expires=600"
        assert b"Messages-Waiting: no" in notify.body
        assert b"Voice-Message: 0/0" in notify.body
        phone.send(make_response(notify, 200).to_bytes(), port)

        # the phone unsubscribes (Expires: 0 in the dialog): 200, then a last NOTIFY, terminated
        end = phone.request(
            "SUBSCRIBE",
            f"sip:bob@127.0.0.1:{port}",
            user="bob",
            call_id="mwi-bob",
            cseq=3,
            to_tag=ok.to_addr.tag,
            headers=[("Event", "message-summary"), ("Expires", "0")],
        )
        phone.send(end, port)
        assert (await phone.response()).status == 200
        last = await phone.incoming_request()
        assert last.headers.get("subscription-state") == "terminated;reason=timeout"
        phone.send(make_response(last, 200).to_bytes(), port)
        assert runtime.server.mwi is not None
        assert not runtime.server.mwi.subscriptions
    finally:
        phone.close()


async def test_bob_records_his_greeting_from_his_phone_and_alice_hears_it(
    wired: tuple[Platform, SipRuntime, str],
) -> None:
    platform, runtime, box_id = wired
    port = runtime.server.bound_address("UDP").port
    bob = await AppPhone.start("bob", "Bob-Demo-2026!")
    try:
        assert (await bob.dial(port, "*97")).status == 200
        await wait_for_condition(lambda: len(bob.rtp.received) >= 10, timeout=30, what="the PIN prompt")
        await bob.digits(BOB_PIN + "#")
        await wait_for_condition(lambda: len(bob.rtp.received) >= 60, timeout=30, what="the count")
        await bob.digits("0")  # greetings
        await wait_for_condition(lambda: len(bob.rtp.received) >= 80, timeout=30, what="the greetings menu")
        await bob.digits("1")  # unavailable
        start = len(bob.rtp.received)
        await wait_for_condition(
            lambda: heard_tone(bob, 1000, start, window=2400), timeout=30, what="the beep"
        )
        await bob.tone(600, 1500)
        await bob.digits("#")
        await bob.bye_from_server(port, timeout=30)  # "greeting saved, goodbye"
    finally:
        bob.close()
    with platform.uow() as uow:
        assert uow.voicemail_boxes.get(box_id).greetings == ("unavailable",)

    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, "*98212")).status == 200
        await alice.tone(300, 100)
        await wait_for_condition(lambda: heard_tone(alice, 600), timeout=30, what="bob's greeting")
        await alice.hang_up(port)
    finally:
        alice.close()


@pytest.mark.rule("SIP-5")
async def test_guessing_a_box_pin_counts_as_failed_authentications_and_bans_the_guesser(
    wired: tuple[Platform, SipRuntime, str],
) -> None:
    _, runtime, _ = wired
    port = runtime.server.bound_address("UDP").port
    security = runtime.server.security
    security.settings = dataclasses.replace(security.settings, max_auth_failures=3)
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, "*97212")).status == 200  # bob's box, by its number
        await wait_for_condition(lambda: len(alice.rtp.received) >= 10, timeout=30, what="the PIN prompt")
        for _ in range(3):
            await alice.digits("1397#")
            heard = len(alice.rtp.received)
            await wait_for_condition(
                lambda heard=heard: len(alice.rtp.received) >= heard + 30 or bool(runtime.server.bans()),
                timeout=30,
                what="the wrong PIN prompt",
            )
        await wait_for_condition(lambda: bool(runtime.server.bans()), timeout=30, what="the ban")
        (ban,) = runtime.server.bans()
        assert ban.address == "127.0.0.1"
    finally:
        alice.close()


@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
async def test_a_call_to_bob_when_no_phone_of_his_answers_goes_to_his_voicemail(
    wired: tuple[Platform, SipRuntime, str],
) -> None:
    """Bob has a box and no phone registered: alice's call to his extension is answered by his
    voicemail (the "unavailable" greeting, the beep), and what she says is his new message."""
    platform, runtime, box_id = wired
    port = runtime.server.bound_address("UDP").port
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, "212")).status == 200
        await wait_for_condition(lambda: len(alice.rtp.received) >= 10, timeout=30, what="the greeting")
        await alice.digits("0")
        await wait_for_condition(lambda: heard_tone(alice, 1000, window=2400), timeout=30, what="the beep")
        await alice.tone(440, 2000)
        await alice.digits("#")
        await alice.bye_from_server(port, timeout=30)
    finally:
        alice.close()
    with platform.uow() as uow:
        (message,) = uow.voicemail_messages.list(box_id=box_id, order_by=("received_at",))
        box = uow.voicemail_boxes.get(box_id)
    assert message.caller == "alice"
    audio, _ = soundfile.read(
        str(vm.message_file(platform.settings.data_dir, box, message.id)), dtype="int16"
    )
    assert tone_at(audio[len(audio) // 3 : len(audio) // 3 + 4000], 440)
