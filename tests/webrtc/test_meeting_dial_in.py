"""A phone dials in to a Web Meeting room (MTG-1, BIL-6): a number of the account routed to the room,
the room's PIN keyed by DTMF, then the phone is in the room's audio bridge on Janus, bridged by
Nuage's media engine. Two Chromium pages and a baresip phone meet: each browser hears the phone's
tone (a WebAudio analyser on the room's mix), and baresip's recording holds the browsers' sound;
the host removes the phone and its call ends. An unpaid room and three wrong PINs send the phone
away.

The SIP plane runs in-process on the demo (SQLite) with the web server in a thread, as for the
browser softphone; Chromium is driven with Playwright's async API.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from playwright.async_api import Page, async_playwright
from sqlalchemy import select

from media.peers import rms
from nuage.bootstrap import Platform
from nuage.directory.meetings import MeetingRoom
from nuage.media.player import tone
from nuage.services.context import Context
from nuage.services.directory import applications as a
from nuage.services.directory.numbers import add_number
from nuage.services.meetings.rooms import (
    MeetingOrder,
    meeting_participants,
    order_meeting_room,
    remove_participant,
)
from nuage.storage.sql import tables
from nuage.tenancy.model import Language, PartyKind
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition
from webrtc.conftest import CHROMIUM, MEDIA_FLAGS
from webrtc.pbx import Pbx, carrier_port, pbx, sip_platform
from webrtc.test_meeting_rooms_api import pay_invoice

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]
__all__ = ["carrier_port", "pbx", "sip_platform"]  # the browser phone's fixtures: SIP plane and web server

DIAL_IN = "+3223000177"
PIN = "2468"
PHONE_HZ = 1300.0  # the phone's tone: away from Chromium's fake microphone beep

TONE_DB = """async ([hz, ms]) => {
  const m = window.nuageMeeting;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(m.mix).connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const at = Math.round(hz / (context.sampleRate / analyser.fftSize));
  let best = -1000;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    analyser.getFloatFrequencyData(bins);
    best = Math.max(best, bins[at - 1], bins[at], bins[at + 1]);
  }
  await context.close();
  return best;
}"""


async def tone_heard(page: Page, hz: int, *, above: float, timeout: float = 45) -> float:
    """The loudest level of ``hz`` in the page's mix (dB), listened to in 2 s windows until one is
    ``above`` the given level or ``timeout`` seconds have passed (then the last window's level)."""
    deadline = time.monotonic() + timeout
    level: float = await page.evaluate(TONE_DB, [hz, 2000])
    while level <= above and time.monotonic() < deadline:
        level = await page.evaluate(TONE_DB, [hz, 2000])
    return level


def order_for_dupont(platform: Platform) -> MeetingRoom:
    """A room of Atelier Dupont, and the account's number DIAL_IN routed to it."""
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        customer = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert operator is not None
        assert customer is not None
        ctx = Context.operator(operator.id, platform.clock)
        wanted = MeetingOrder(
            name="Dial-in",
            pin=PIN,
            months=1,
            terms_version="2026-01",
            language=Language("fr"),
            accepted_by="Alice",
        )
        room = order_meeting_room(
            uow,
            ctx,
            customer.id,
            wanted,
            settings=platform.payments,
            validator=platform.einvoice_validator,
        )
        number = add_number(uow, ctx, customer.id, DIAL_IN)
        a.route_number(uow, ctx, number.id, f"meeting:{room.id}")
        uow.commit()
    return room


@contextlib.asynccontextmanager
async def phone(pbx: Pbx, folder: Path) -> AsyncIterator[Baresip]:
    """Alice's desk phone (baresip, PCMU), sending a PHONE_HZ tone and recording what it hears."""
    (folder / "rec").mkdir(parents=True)
    account = f"<sip:alice@127.0.0.1:{pbx.sip_port}>;auth_pass=Alice-Demo-2026;regint=0;audio_codecs=PCMU"
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as found:
        soundfile.write(str(folder / "tone.wav"), tone(PHONE_HZ, 60000, -14.0), 8000, subtype="PCM_16")
        yield found


def level_at(pcm: np.ndarray, hz: float) -> float:
    t = np.arange(len(pcm)) / 8000
    x = pcm.astype(np.float64)
    return float(
        2 * np.hypot(np.dot(x, np.sin(2 * np.pi * hz * t)), np.dot(x, np.cos(2 * np.pi * hz * t))) / len(pcm)
    )


def heard_after(folder: Path, seconds: float) -> float:
    """The loudest 100 ms (RMS) baresip heard ``seconds`` into the call (its ``-dec`` recording),
    counting only the windows where its own tone is not what is heard."""
    best = 0.0
    for path in folder.glob("*dec*.wav"):
        with contextlib.suppress(RuntimeError):
            audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
            samples = np.asarray(audio[int(seconds * 8000) :, 0])
            for start in range(0, len(samples) - 800, 800):
                window = samples[start : start + 800]
                if level_at(window, PHONE_HZ) < rms(window):
                    best = max(best, rms(window))
    return best


def in_room(platform: Platform, room: MeetingRoom) -> list[str]:
    gateways = platform.meeting_gateways
    assert gateways is not None
    with platform.uow() as uow:
        stored = uow.meeting_rooms.get(room.id)
    if stored.gateway_instance is None:
        return []
    return [p.display for p in gateways.gateway(stored.gateway_instance).participants(stored.gateway_room)]


def remove_the_phone(platform: Platform, room: MeetingRoom) -> None:
    gateways = platform.meeting_gateways
    assert gateways is not None
    with platform.uow() as uow:
        operator = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        assert operator is not None
        ctx = Context.operator(operator.id, platform.clock)
        [phone_id] = [
            p.participant_id
            for p in meeting_participants(uow, ctx, room.id, gateways)
            if p.display.endswith("(phone)")
        ]
        remove_participant(uow, ctx, room.id, phone_id, gateways)


async def join(page: Page, room: MeetingRoom, display: str) -> None:
    await page.goto(f"/meet/{room.id}")
    await page.fill("#display", display)
    await page.fill("#pin", PIN)
    await page.click("#join")


async def mix_ready(page: Page) -> None:
    await page.wait_for_function(
        "() => { const m = window.nuageMeeting; return m && m.remote.size === 1 && m.mix !== null; }",
        timeout=30_000,
    )


@pytest.mark.rule("MTG-1")
@pytest.mark.rule("BIL-6")
async def test_two_browsers_and_a_phone_meet_and_hear_each_other(pbx: Pbx, tmp_path: Path) -> None:
    platform = pbx.platform
    room = order_for_dupont(platform)
    # a phone's call finds numbers routed to applications in the node's index, read again every
    # 2 s (issue #22): read it now rather than wait
    await pbx.runtime.attendant.reload_index()
    target = f"sip:{DIAL_IN}@127.0.0.1:{pbx.sip_port}"

    async with phone(pbx, tmp_path / "unpaid") as desk:  # BIL-6: not paid: goodbye, nobody in
        await desk.command("dial", target)
        await desk.wait_event("CALL_ESTABLISHED", timeout=60)  # a loaded machine
        await desk.command("sndcode", f"{PIN}#")
        await desk.wait_event("CALL_CLOSED", timeout=30)
    assert in_room(platform, room) == []

    pay_invoice(platform, room.invoice_number)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(MEDIA_FLAGS))
        try:
            pages = []
            for name in ("Ann", "Ben"):
                context = await browser.new_context(base_url=pbx.web, locale="en-GB")
                context.set_default_timeout(20_000)
                page = await context.new_page()
                await join(page, room, name)
                pages.append(page)
            for page in pages:
                await mix_ready(page)
            before = [await page.evaluate(TONE_DB, [PHONE_HZ, 1500]) for page in pages]

            async with phone(pbx, tmp_path / "desk") as desk:
                await desk.command("dial", target)
                await desk.wait_event("CALL_ESTABLISHED", timeout=60)  # a loaded machine
                started = time.monotonic()
                await desk.command("sndcode", f"1111#{PIN}#")  # a wrong PIN first, then the right one
                await wait_for_condition(
                    lambda: any(name.endswith("(phone)") for name in in_room(platform, room)),
                    timeout=60,
                    what="the phone in the room",
                )
                joined_after = time.monotonic() - started
                # each browser hears the phone: listened to in 2 s windows until it does (the phone's
                # audio takes the bridge and the browsers' jitter buffers first; a loaded machine is slow)
                after = [
                    await tone_heard(page, PHONE_HZ, above=quiet + 20)
                    for page, quiet in zip(pages, before, strict=True)
                ]
                print(f"phone tone at the browsers: before {before} dB, after {after} dB")
                for quiet, heard in zip(before, after, strict=True):
                    assert heard > quiet + 20
                rec = tmp_path / "desk" / "rec"
                await wait_for_condition(
                    lambda: heard_after(rec, joined_after + 1) > 300,
                    timeout=30,
                    what="the browsers' sound at the phone",
                )
                remove_the_phone(platform, room)  # the host removes it: the call ends
                await desk.wait_event("CALL_CLOSED", timeout=30)
            await wait_for_condition(
                lambda: sorted(in_room(platform, room)) == ["Ann", "Ben"], timeout=30, what="the phone out"
            )

            async with phone(pbx, tmp_path / "guess") as guesser:  # three wrong PINs: goodbye
                await guesser.command("dial", target)
                await guesser.wait_event("CALL_ESTABLISHED")
                await guesser.command("sndcode", "1111#2222#3333#")
                await guesser.wait_event("CALL_CLOSED", timeout=60)
            assert sorted(in_room(platform, room)) == ["Ann", "Ben"]
        finally:
            await browser.close()
    assert platform.sip is not None  # each dial-in is a call of the room's account, with its CDR
    await platform.sip.server.cdr_writer.flush()
    with platform.engine.connect() as connection:
        rows = connection.execute(select(tables.cdrs).where(tables.cdrs.c.callee == DIAL_IN)).mappings().all()
    assert [row["outcome"] for row in rows] == ["answered"] * 3
