"""CFG-9 on the wired demo platform (SQLite and PostgreSQL): an account that records the calls of
one selected number. The carrier calls Bob's number; recording alone makes Nuage anchor the call
(the operator does not anchor every call here), and the stored FLAC holds both voices. The same
call is not recorded when only the calls the number makes are selected."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import soundfile

from media.peers import Peer, media_port, sdp
from media.test_anchoring import heard
from media.wire import Wire, spoke, wires
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import RecordingSetting
from nuage.directory.recording import RecordingDirection, RecordingScope
from nuage.media_settings import SipMediaSettings
from nuage.services.demo import load_demo
from nuage.services.directory.media import recording_file
from nuage.shared.clock import SystemClock
from nuage.tenancy.model import PartyKind
from sip.harness import RawUdpPhone
from waiting import wait_for_condition

BOBS_NUMBER = "+3223000101"


@pytest.fixture
async def demo(platform: Platform) -> AsyncIterator[tuple[Platform, SipRuntime, int]]:
    """The demo with its carrier on a free loopback port; media anchored only when needed."""
    carrier_port, low = free_port(), free_port(span=200)
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host="127.0.0.1", port=carrier_port))
        uow.commit()
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(always_anchor=False, port_min=low, port_max=low + 199)
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime, carrier_port
    finally:
        if platform.sip is not None:
            await runtime.stop(grace_s=1)
        release(low, 200)


def _record_bobs_number(platform: Platform, direction: RecordingDirection) -> str:
    with platform.uow() as uow:
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        number = uow.numbers.find_by(e164=BOBS_NUMBER)
        assert number is not None
        setting = RecordingSetting(
            account.id,
            True,
            None,
            platform.clock.now(),
            scope=RecordingScope.NUMBERS,
            direction=direction,
            number_ids=(number.id,),
        )
        if uow.recording.find(account.id) is None:
            uow.recording.add(setting)
        else:
            uow.recording.update(setting)
        uow.commit()
    return account.id


async def _carrier_calls_bobs_number(runtime: SipRuntime, carrier_port: int) -> None:
    """The carrier calls Bob's number (440 Hz), Bob answers (1000 Hz); both hear the other."""
    sip_port = runtime.server.bound_address("UDP").port
    raw = RawUdpPhone()
    raw.sock.close()
    raw.port = carrier_port
    raw.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sock.bind(("127.0.0.1", carrier_port))
    raw.sock.setblocking(False)
    gateway = Wire(raw, await Peer.start(), "+3211111111")
    try:
        async with wires(sip_port, ("bob", "Bob-Demo-2026!"), unregistered=()) as (bob,):
            uri = f"sip:{BOBS_NUMBER}@127.0.0.1:{sip_port}"
            invite = gateway.sip.request(
                "INVITE", uri, user="+3211111111", to_user=BOBS_NUMBER, call_id="rec-number",
                body=sdp(gateway.rtp.port, "1").decode(), headers=[("Content-Type", "application/sdp")],
            )  # fmt: skip
            gateway.sip.send(invite, sip_port)
            incoming = await bob.request("INVITE")
            bob.answer(incoming, tag="bobtag", body=sdp(bob.rtp.port, "2"))
            ok = await gateway.response("INVITE", 200)
            ack = gateway.sip.request(
                "ACK",
                uri,
                user="+3211111111",
                to_user=BOBS_NUMBER,
                call_id="rec-number",
                to_tag=ok.to_addr.tag,
            )
            gateway.sip.send(ack, sip_port)
            await bob.request("ACK")
            await asyncio.gather(
                gateway.rtp.send_tone(media_port(ok.body), 440, 1500),
                bob.rtp.send_tone(media_port(incoming.body), 1000, 1500),
            )
            await wait_for_condition(
                lambda: spoke(bob, 440) and spoke(gateway, 1000), timeout=30, what="media"
            )
            bye = gateway.sip.request(
                "BYE", uri, user="+3211111111", to_user=BOBS_NUMBER, call_id="rec-number", cseq=2,
                to_tag=ok.to_addr.tag,
            )  # fmt: skip
            gateway.sip.send(bye, sip_port)
            bob.answer(await bob.request("BYE"))
            await wait_for_condition(lambda: not runtime.server.calls(), timeout=30, what="the call to end")
            await runtime.stop(grace_s=1)  # the media released, the recording stored
    finally:
        gateway.close()


@pytest.mark.rule("CFG-9")
async def test_a_call_to_a_selected_number_is_recorded_with_both_voices(
    demo: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, carrier_port = demo
    account_id = _record_bobs_number(platform, RecordingDirection.INBOUND)
    await _carrier_calls_bobs_number(runtime, carrier_port)
    with platform.uow() as uow:
        (recording,) = uow.call_recordings.list()
    assert (recording.account_id, recording.call_id) == (account_id, "rec-number")
    audio, rate = soundfile.read(
        str(recording_file(platform.settings.data_dir, account_id, recording.id)),
        dtype="int16",
        always_2d=True,
    )
    assert rate == 8000
    assert heard(audio[800:8800, 0], 440)  # the caller's voice
    assert heard(audio[800:8800, 1], 1000)  # bob's


@pytest.mark.rule("CFG-9")
async def test_a_call_to_a_number_selected_for_the_calls_it_makes_is_not_recorded(
    demo: tuple[Platform, SipRuntime, int],
) -> None:
    platform, runtime, carrier_port = demo
    _record_bobs_number(platform, RecordingDirection.OUTBOUND)
    await _carrier_calls_bobs_number(runtime, carrier_port)  # both still hear each other
    with platform.uow() as uow:
        assert uow.call_recordings.list() == []
