"""The wired SIP plane anchors calls through the engine ``[sip.media]`` names: two demo phones
hear each other's tone through Nuage's ports, and the CDR is stored once the media is released."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import soundfile
from sqlalchemy import select

from media.peers import media_port, sdp
from media.test_anchoring import Phone, call, heard
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import RecordingSetting
from nuage.directory.recording import RecordingDirection, RecordingScope
from nuage.media_settings import SipMediaSettings
from nuage.services.demo import load_demo
from nuage.services.directory.media import recording_file
from nuage.shared.clock import SystemClock
from nuage.sip.message import make_response
from nuage.storage.sql import tables
from nuage.tenancy.model import PartyKind
from waiting import wait_for_condition


@pytest.fixture
async def wired(platform: Platform) -> AsyncIterator[tuple[Platform, SipRuntime, int]]:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        uow.commit()
    low = free_port(span=200)
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(always_anchor=True, port_min=low, port_max=low + 199)
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime, low
    finally:
        if platform.sip is not None:
            await runtime.stop(grace_s=1)
        release(low, 200)


async def test_demo_phones_hear_each_other_through_the_embedded_engine(
    wired: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, low = wired
    port = runtime.server.bound_address("UDP").port
    alice, bob = await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(port, "bob", "Bob-Demo-2026!") == 200
        invite, ok = await call(
            port, alice, bob, sdp(alice.rtp.port, "1"), password="Alice-Demo-2026", dialled="212"
        )
        to_engine_from_bob, to_engine_from_alice = media_port(invite.body), media_port(ok.body)
        assert low <= to_engine_from_bob < low + 200
        assert low <= to_engine_from_alice < low + 200
        await asyncio.gather(
            alice.rtp.send_tone(to_engine_from_alice, 500, 1000),
            bob.rtp.send_tone(to_engine_from_bob, 1200, 1000),
        )
        await wait_for_condition(
            lambda: len(alice.rtp.received) >= 40 and len(bob.rtp.received) >= 40, timeout=30, what="media"
        )
        assert heard(bob.rtp.audio(), 500)
        assert heard(alice.rtp.audio(), 1200)
        alice.sip.send(
            alice.sip.request(
                "BYE", f"sip:212@127.0.0.1:{port}", to_user="212", call_id="anchor-1", cseq=3,
                to_tag=ok.to_addr.tag,
            ),
            port,
        )  # fmt: skip
        bye = await bob.sip.incoming_request()
        bob.sip.send(make_response(bye, 200).to_bytes(), port)
        await wait_for_condition(lambda: not runtime.server.calls(), timeout=30, what="the call to end")
        await runtime.stop(grace_s=1)  # the media released, the CDR stored
        with platform.engine.connect() as connection:
            (cdr,) = connection.execute(select(tables.cdrs)).mappings()
        assert (cdr["outcome"], cdr["callee"]) == ("answered", "212")
        assert cdr["loss_percent"] == 0
        assert cdr["mos"] is not None
        assert cdr["mos"] > 4
    finally:
        alice.close()
        bob.close()


@pytest.mark.rule("CFG-9")
async def test_a_call_of_an_account_that_records_is_stored_with_both_voices_and_counted(
    wired: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, _ = wired
    account_id = _record(platform)
    await _call_alice_to_bob(runtime)
    _assert_recorded_both_voices(platform, account_id)


def _record(platform: Platform, **choice: object) -> str:
    """Atelier Dupont records calls (CFG-9), with ``choice`` (scope, direction, user_ids...)."""
    with platform.uow() as uow:
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        switched_on = RecordingSetting(account.id, True, None, platform.clock.now())
        setting = replace(uow.recording.find(account.id) or switched_on, enabled=True, **choice)  # type: ignore[arg-type]
        if uow.recording.find(account.id) is None:
            uow.recording.add(replace(setting, acknowledged_at=platform.clock.now()))
        else:
            uow.recording.update(replace(setting, acknowledged_at=platform.clock.now()))
        uow.commit()
    return account.id


def _user_id(platform: Platform, email: str) -> str:
    with platform.uow() as uow:
        user = uow.users.find_by(email=email)
    assert user is not None
    return user.id


async def _call_alice_to_bob(runtime: SipRuntime) -> None:
    """alice calls bob (212): 440 Hz one way, 1000 Hz the other, both heard; then alice hangs up."""
    port = runtime.server.bound_address("UDP").port
    alice, bob = await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(port, "bob", "Bob-Demo-2026!") == 200
        invite, ok = await call(
            port, alice, bob, sdp(alice.rtp.port, "1"), password="Alice-Demo-2026", dialled="212"
        )
        await asyncio.gather(
            alice.rtp.send_tone(media_port(ok.body), 440, 1500),
            bob.rtp.send_tone(media_port(invite.body), 1000, 1500),
        )
        await wait_for_condition(
            lambda: len(alice.rtp.received) >= 60 and len(bob.rtp.received) >= 60, timeout=30, what="media"
        )
        assert heard(bob.rtp.audio(), 440)
        assert heard(alice.rtp.audio(), 1000)
        alice.sip.send(
            alice.sip.request(
                "BYE", f"sip:212@127.0.0.1:{port}", to_user="212", call_id="anchor-1", cseq=3,
                to_tag=ok.to_addr.tag,
            ),
            port,
        )  # fmt: skip
        bye = await bob.sip.incoming_request()
        bob.sip.send(make_response(bye, 200).to_bytes(), port)
        await wait_for_condition(lambda: not runtime.server.calls(), timeout=30, what="the call to end")
        await runtime.stop(grace_s=1)
    finally:
        alice.close()
        bob.close()


def _assert_recorded_both_voices(platform: Platform, account_id: str) -> None:
    with platform.uow() as uow:
        (recording,) = uow.call_recordings.list()
        setting = uow.recording.find(account_id)
    assert setting is not None
    assert (recording.account_id, recording.call_id) == (account_id, "anchor-1")
    assert (setting.recordings, setting.stored_bytes) == (1, recording.size_bytes)  # CFG-9 volume
    path = recording_file(platform.settings.data_dir, account_id, recording.id)
    assert path.stat().st_size == recording.size_bytes > 0
    assert recording.duration_ms >= 1200
    audio, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    assert rate == 8000
    assert heard(audio[800:8800, 0], 440)  # the caller's voice
    assert heard(audio[800:8800, 1], 1000)  # the callee's


@pytest.mark.rule("CFG-9")
async def test_a_call_received_by_a_selected_user_is_recorded_with_both_voices(
    wired: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, _ = wired
    bob = _user_id(platform, "bob@dupont.example")
    account_id = _record(
        platform, scope=RecordingScope.USERS, direction=RecordingDirection.INBOUND, user_ids=(bob,)
    )
    await _call_alice_to_bob(runtime)
    _assert_recorded_both_voices(platform, account_id)


@pytest.mark.rule("CFG-9")
async def test_a_call_of_no_selected_user_or_direction_is_not_recorded(
    wired: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, _ = wired
    alice = _user_id(platform, "alice@dupont.example")
    # alice is selected for the calls she receives: the call she makes to bob is not recorded
    account_id = _record(
        platform, scope=RecordingScope.USERS, direction=RecordingDirection.INBOUND, user_ids=(alice,)
    )
    await _call_alice_to_bob(runtime)  # the call still carries both voices through the engine
    with platform.uow() as uow:
        assert uow.call_recordings.list() == []
        setting = uow.recording.find(account_id)
    assert setting is not None
    assert (setting.recordings, setting.stored_bytes) == (0, 0)
    assert not (platform.settings.data_dir / "recordings" / account_id).exists() or not any(
        (platform.settings.data_dir / "recordings" / account_id).iterdir()
    )
