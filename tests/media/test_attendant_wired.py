"""The auto-attendant and conference rooms end to end (issue #16) on the wired SIP plane, demo data
on SQLite and PostgreSQL: DTMF reaches the menu (alice dials a number routed to a menu, keys 2 for
the conference room, its PIN, is listed live, then kicked), and three baresip softphones (each
sending its own tone) hear each other in a room, each hearing the two others and not itself."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from media.app_phone import AppPhone
from media.peers import rms
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import CallRecording, ConferenceRoom, DeviceKind
from nuage.media import ivr_prompts
from nuage.media.player import tone
from nuage.media_settings import SipMediaSettings, SipVoicemailSettings
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.directory import applications as a
from nuage.services.directory import conferences as c
from nuage.services.directory.devices import add_device
from nuage.services.directory.media import set_recording
from nuage.services.directory.numbers import add_number
from nuage.shared.clock import SystemClock
from nuage.sip.message import make_response
from nuage.tenancy.model import PartyKind
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition

MENU_NUMBER = "+3223000199"
PIN = "2468"


@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ivr-prompts")
    ivr_prompts.generate(directory)
    return directory


@pytest.fixture
async def wired(
    platform: Platform, prompts_dir: Path
) -> AsyncIterator[tuple[Platform, SipRuntime, dict[str, str]]]:
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        ctx = Context.operator(account.id, platform.clock)
        locked = c.add_conference_room(uow, ctx, account.id, "Board", PIN, extension="851")
        open_room = c.add_conference_room(uow, ctx, account.id, "Open room", extension="850")
        menu = a.add_menu(
            uow,
            ctx,
            account.id,
            a.MenuChanges(
                name="Main",
                options={"2": f"conference:{locked.id}", "9": "dial_by_extension", "0": "hangup"},
            ),
        )
        number = add_number(uow, ctx, account.id, MENU_NUMBER)
        a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
        admin = uow.users.find_by(account_id=account.id, extension="211")
        assert admin is not None
        set_recording(
            uow, ctx, account.id, enabled=True, administrator_id=admin.id, acknowledged=True
        )  # CFG-9
        add_device(
            uow,
            ctx,
            account.id,
            DeviceKind.DOOR_PHONE,
            "Door",
            sip_username="door",
            sip_password="Door-Phone-2026!",
        )
        uow.commit()
    low = free_port(span=300)
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(port_min=low, port_max=low + 299, timeout_s=60)
    platform.settings.sip.voicemail = SipVoicemailSettings(prompts_dir=prompts_dir)
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    try:
        yield platform, runtime, {"locked": locked.id, "open": open_room.id}
    finally:
        await runtime.stop(grace_s=1)
        release(low, 300)


def level_at(pcm: np.ndarray, hz: float) -> float:
    t = np.arange(len(pcm)) / 8000
    x = pcm.astype(np.float64)
    return float(
        2 * np.hypot(np.dot(x, np.sin(2 * np.pi * hz * t)), np.dot(x, np.cos(2 * np.pi * hz * t))) / len(pcm)
    )


def participants(platform: Platform, room_id: str) -> list[tuple[str, bool]]:
    with platform.uow() as uow:
        return [(p.label, p.kicked) for p in uow.conference_participants.list(room_id=room_id)]


@pytest.mark.rule("CFG-8")
async def test_dtmf_reaches_the_menu_which_leads_to_a_conference_behind_its_pin(
    wired: tuple[Platform, SipRuntime, dict[str, str]],
) -> None:
    platform, runtime, rooms = wired
    port = runtime.server.bound_address("UDP").port
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, MENU_NUMBER)).status == 200
        await alice.tone(300, 100)  # latches the engine on alice's port
        await wait_for_condition(lambda: rms(alice.rtp.audio()) > 300, timeout=30, what="the welcome prompt")
        await alice.digits("2")  # the menu's option 2: the conference room, which asks its PIN
        await alice.digits("1111#")  # a wrong PIN first
        await alice.digits(PIN + "#")
        await wait_for_condition(
            lambda: participants(platform, rooms["locked"]) == [("+3223000100", False)],
            timeout=30,
            what="alice in",
        )
        with platform.uow() as uow:
            ctx = Context.operator("", platform.clock)
            (row,) = uow.conference_participants.list(room_id=rooms["locked"])
            c.kick_participant(uow, ctx, rooms["locked"], row.id)
            uow.commit()
        await alice.bye_from_server(port)
        await wait_for_condition(
            lambda: not participants(platform, rooms["locked"]), timeout=30, what="alice out"
        )
    finally:
        alice.close()


async def test_dial_by_extension_transfers_the_caller_by_refer(
    wired: tuple[Platform, SipRuntime, dict[str, str]],
) -> None:
    """Key 9, then 212 and # : the menu sends alice's phone on to extension 212 (RFC 3515 REFER; the
    phone places that call itself, as any call of its own), and hangs up."""
    _, runtime, _ = wired
    port = runtime.server.bound_address("UDP").port
    alice = await AppPhone.start("alice", "Alice-Demo-2026")
    try:
        assert (await alice.dial(port, MENU_NUMBER)).status == 200
        await alice.tone(300, 100)
        await wait_for_condition(lambda: rms(alice.rtp.audio()) > 300, timeout=30, what="the welcome prompt")
        await alice.digits("9")
        await alice.digits("212#")
        refer = await alice.sip.incoming_request(timeout=30)
        assert refer.method == "REFER", refer
        assert refer.headers.get("refer-to") == f"<sip:212@127.0.0.1:{port}>"
        alice.sip.send(make_response(refer, 202).to_bytes(), port)
        await alice.bye_from_server(port)
    finally:
        alice.close()


HZ = {"alice": 500.0, "bob": 1100.0, "door": 1700.0}
PASSWORDS = {"alice": "Alice-Demo-2026", "bob": "Bob-Demo-2026!", "door": "Door-Phone-2026!"}


@contextlib.asynccontextmanager
async def softphone(folder: Path, user: str, sip_port: int) -> AsyncIterator[Baresip]:
    (folder / "rec").mkdir(parents=True)
    account = f"<sip:{user}@127.0.0.1:{sip_port}>;auth_pass={PASSWORDS[user]};regint=0;audio_codecs=PCMU"
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as phone:
        soundfile.write(str(folder / "tone.wav"), tone(HZ[user], 30000, -14.0), 8000, subtype="PCM_16")
        yield phone


def heard_by(folder: Path, user: str) -> bool:
    """Whether one of baresip's recordings holds the two others' tones and not the user's own."""
    for path in (folder / "rec").glob("*.wav"):
        with contextlib.suppress(RuntimeError):
            audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
            if len(audio) < 24000:
                continue
            pcm = audio[8000:24000, 0]
            others = [level_at(pcm, hz) for who, hz in HZ.items() if who != user]
            if min(others) > 800 and level_at(pcm, HZ[user]) < min(others) / 10:
                return True
    return False


@pytest.mark.rule("CFG-8")
@pytest.mark.baresip
@pytest.mark.slow
@needs_baresip
async def test_three_baresip_participants_hear_each_other_in_a_conference(
    wired: tuple[Platform, SipRuntime, dict[str, str]], tmp_path: Path
) -> None:
    platform, runtime, rooms = wired
    port = runtime.server.bound_address("UDP").port
    async with contextlib.AsyncExitStack() as stack:
        phones = {
            user: await stack.enter_async_context(softphone(tmp_path / user, user, port)) for user in HZ
        }
        for phone in phones.values():
            await phone.command("dial", f"sip:850@127.0.0.1:{port}")
        for phone in phones.values():
            await phone.wait_event("CALL_ESTABLISHED")
        await wait_for_condition(
            lambda: len(participants(platform, rooms["open"])) == 3, timeout=30, what="three in the room"
        )
        await wait_for_condition(
            lambda: all(heard_by(tmp_path / user, user) for user in HZ),
            timeout=30,
            what="each hears the others",
        )
        for phone in phones.values():
            await phone.command("hangup")
        await wait_for_condition(
            lambda: not participants(platform, rooms["open"]), timeout=30, what="all out"
        )
    with platform.uow() as uow:
        room = uow.conference_rooms.get(rooms["open"])
    assert isinstance(room, ConferenceRoom)

    def room_recordings() -> list[CallRecording]:
        with platform.uow() as uow:
            return uow.call_recordings.list(account_id=room.account_id, call_id=f"conference-{room.id}")

    # CFG-9: the account records calls, so the room's mix was recorded (stored once the room empties)
    await wait_for_condition(lambda: bool(room_recordings()), timeout=30, what="the room's recording")
    (recording,) = room_recordings()
    assert recording.duration_ms > 2000
    (path,) = (platform.settings.data_dir / "recordings").rglob(f"{recording.id}.flac")
    mix, _ = soundfile.read(str(path), dtype="int16")
    middle = mix[len(mix) // 3 : len(mix) // 3 + 8000]
    assert all(level_at(middle, hz) > 800 for hz in HZ.values())  # everyone is in the room's recording
