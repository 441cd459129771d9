"""The media-application runtime: a call answered by Nuage itself plays, collects digits, records
and hangs up, over real RTP to a phone on loopback (both engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from media.app_phone import AppPhone
from media.conftest import Events
from media.peers import dominant_hz, rms
from netports import free_port
from nuage.media import g711
from nuage.sip import SipServer
from nuage.sip.b2bua.apps import AppCall, AppDispatch
from nuage.sip.b2bua.media import MediaServices
from nuage.sip.media import MediaPort, Recording, Tone
from nuage.sip.memory import MemoryCdrSink
from nuage.sip.ports import CallOutcome, SipAccount
from sip.harness import lab_server, make_lab_parts
from waiting import wait_for_condition


class Echo:
    """An application: a 600 Hz prompt, two digits, a recording until #, the recording played back."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.digits: list[str] = []
        self.recording: Recording | None = None
        self.callers: list[str] = []

    async def __call__(self, call: AppCall) -> None:
        self.callers.append(call.account.username if call.account else "")
        await call.play(Tone(600, 600))
        self.digits.append(await call.collect(2, timeout_s=10))
        self.recording = await call.record(self.directory / "echo.flac", max_s=20)
        assert self.recording is not None
        await call.play(self.recording.path, interrupt=False)

    async def until_silence(self, call: AppCall) -> None:
        """Records until the caller is silent for a second, then says so with a 700 Hz tone."""
        self.recording = await call.record(self.directory / "silence.flac", max_s=20, silence_s=1.0)
        await call.play(Tone(700, 600), interrupt=False)

    async def route(self, account: SipAccount, dialled: str) -> AppDispatch | None:
        if dialled == "*56":
            return AppDispatch(self.until_silence, "*56")
        return AppDispatch(self, "*55") if dialled == "*55" else None


@pytest.fixture
async def lab(
    engine: tuple[MediaPort, Events], tmp_path: Path
) -> AsyncIterator[tuple[SipServer, Echo, MemoryCdrSink]]:
    credentials, dial_plan = make_lab_parts(free_port())
    cdrs = MemoryCdrSink()
    server = lab_server(credentials, dial_plan, cdrs)
    server.media = MediaServices(engine[0])
    echo = Echo(tmp_path)
    server.applications.append(echo.route)
    await server.start()
    yield server, echo, cdrs
    await server.stop(grace_s=0.5)


def _tone_at(pcm: object, hz: float) -> bool:
    samples = np.asarray(pcm)
    return len(samples) >= 1600 and rms(samples) > 500 and abs(dominant_hz(samples) - hz) < 15


async def test_an_application_plays_collects_records_and_plays_back(
    lab: tuple[SipServer, Echo, MemoryCdrSink],
) -> None:
    server, echo, cdrs = lab
    port = server.bound_address("UDP").port
    phone = await AppPhone.start()
    try:
        ok = await phone.dial(port, "*55")
        assert ok.status == 200
        # the prompt arrives (the phone's first packet latches it on the engine)
        await phone.tone(300, 100)
        await wait_for_condition(lambda: len(phone.rtp.received) >= 25, timeout=30, what="the prompt")
        assert _tone_at(phone.rtp.audio(), 600)
        await phone.digits("42")
        await wait_for_condition(lambda: echo.digits == ["42"], timeout=30, what="the digits")
        # counted from here: the playback starts as soon as the recording ends, which a loaded
        # machine may let happen before this test sees the recording
        before = len(phone.rtp.received)
        await phone.tone(440, 1500)
        await phone.digits("#")
        await wait_for_condition(lambda: echo.recording is not None, timeout=30, what="the recording")
        assert echo.recording is not None
        assert echo.recording.duration_s > 1.0
        # the recording comes back (the only 440 Hz the phone is sent), then the application hangs up
        await phone.bye_from_server(port)
        await phone.rtp.drained()  # what arrived before the BYE, all of it
        played = phone.rtp.received[before:]
        back = np.concatenate([g711.decode(0, p.payload) for p in played if p.payload_type == 0])
        windows = [back[at : at + 1600] for at in range(0, len(back) - 1599, 800)]  # 200 ms, every 100
        assert sum(_tone_at(window, 440) for window in windows) >= 4  # 500 ms or more of it
        await server.cdr_writer.flush()
        await wait_for_condition(lambda: len(cdrs.records) == 1, timeout=30, what="the CDR")
        (cdr,) = cdrs.records
        assert cdr.outcome is CallOutcome.ANSWERED
        assert cdr.callee == "*55"
        assert echo.callers == ["alice"]
    finally:
        phone.close()


async def test_a_caller_hanging_up_while_recording_keeps_the_recording(
    lab: tuple[SipServer, Echo, MemoryCdrSink],
) -> None:
    server, echo, cdrs = lab
    port = server.bound_address("UDP").port
    phone = await AppPhone.start()
    try:
        assert (await phone.dial(port, "*55")).status == 200
        await phone.digits("12")
        await wait_for_condition(lambda: echo.digits == ["12"], timeout=30, what="the digits")
        await phone.tone(440, 1000)
        await phone.hang_up(port)
        await wait_for_condition(lambda: echo.recording is not None, timeout=30, what="the recording")
        assert echo.recording is not None
        assert echo.recording.path.exists()
        await server.cdr_writer.flush()
        await wait_for_condition(lambda: len(cdrs.records) == 1, timeout=30, what="the CDR")
    finally:
        phone.close()


@pytest.mark.parametrize("engine", ["embedded"], indirect=True)  # rtpengine reports no speech
async def test_a_recording_ends_when_the_caller_falls_silent(
    lab: tuple[SipServer, Echo, MemoryCdrSink],
) -> None:
    server, echo, _ = lab
    port = server.bound_address("UDP").port
    phone = await AppPhone.start()
    try:
        assert (await phone.dial(port, "*56")).status == 200
        await phone.silence(300)
        await phone.tone(440, 1000)
        talking = asyncio.get_running_loop().create_task(phone.silence(15_000))  # a phone keeps sending
        try:
            await wait_for_condition(
                lambda: echo.recording is not None, timeout=30, what="the end by silence"
            )
            await wait_for_condition(
                lambda: len(phone.rtp.received) >= 25, timeout=30, what="the 700 Hz tone"
            )
        finally:
            talking.cancel()
        assert echo.recording is not None
        assert 1.5 < echo.recording.duration_s < 6  # the tone, then a second of silence; not max_s
        assert _tone_at(phone.rtp.audio(), 700)
    finally:
        phone.close()
