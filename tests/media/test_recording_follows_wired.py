"""CFG-9: the recording follows the chosen user wherever the call reaches them (issue #15), on the
wired demo (SQLite and PostgreSQL, the embedded engine; the media is anchored only because the
account records some of its calls).

Atelier Dupont records the calls one user receives. The carrier calls alice's number, and the call
reaches bob as a ring-group member, through alice's forward, by bob picking it up, or by alice
transferring it to him: when bob is the selected user it is recorded from the moment he answers,
and the stored FLAC holds the caller's voice and bob's, never alice's. The same call answered by
alice is not recorded; and when alice is the selected one, her transfer to bob stops the recording:
the file holds alice and the caller, never bob.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import numpy as np
import pytest
import soundfile

from media.peers import Peer, media_port, sdp
from media.test_anchoring import heard
from media.test_transfer_anchoring import contact_of, in_dialog
from media.wire import Wire, call_out, spoke, wires
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import CallRecording, RecordingSetting
from nuage.directory.recording import RecordingDirection, RecordingScope
from nuage.directory.routing import CallForwarding, RingGroup
from nuage.media_settings import SipMediaSettings
from nuage.services.demo import load_demo
from nuage.services.directory.media import recording_file
from nuage.shared.clock import SystemClock
from nuage.shared.ids import new_id
from nuage.tenancy.model import PartyKind
from sip.harness import RawUdpPhone
from waiting import wait_for_condition

ALICES_NUMBER = "+3223000100"
GATEWAY = "+3211111111"  # who the carrier presents
PASSWORDS = {"alice": "Alice-Demo-2026", "bob": "Bob-Demo-2026!"}
CALLER_HZ, ALICE_HZ, BOB_HZ, CALLER_LATER_HZ = 440, 1000, 1500, 600


@dataclass
class Dupont:
    platform: Platform
    account_id: str
    users: dict[str, str]  # alice and bob: their user ids
    carrier_port: int


@pytest.fixture
async def dupont(platform: Platform) -> AsyncIterator[Dupont]:
    """The demo, its carrier on a free loopback port; media anchored only when a call needs it."""
    carrier_port, low = free_port(), free_port(span=200)
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host="127.0.0.1", port=carrier_port))
        account = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert account is not None
        users = {}
        for name in PASSWORDS:
            user = uow.users.find_by(email=f"{name}@dupont.example")
            assert user is not None
            users[name] = user.id
        uow.commit()
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(always_anchor=False, port_min=low, port_max=low + 199)
    try:
        yield Dupont(platform, account.id, users, carrier_port)
    finally:
        release(low, 200)


def record_calls_received_by(dupont: Dupont, name: str) -> None:
    """Atelier Dupont records the calls ``name`` receives (and only those)."""
    platform = dupont.platform
    with platform.uow() as uow:
        uow.recording.add(
            RecordingSetting(
                dupont.account_id,
                True,
                None,
                platform.clock.now(),
                scope=RecordingScope.USERS,
                direction=RecordingDirection.INBOUND,
                user_ids=(dupont.users[name],),
            )
        )
        uow.commit()


@contextlib.asynccontextmanager
async def running(dupont: Dupont) -> AsyncIterator[tuple[SipRuntime, Wire, Wire, Wire]]:
    """Nuage's SIP plane, alice's and bob's phones registered, and the carrier's gateway."""
    platform = dupont.platform
    platform.clock = SystemClock()
    runtime = SipRuntime(platform)
    await runtime.start()
    sip_port = runtime.server.bound_address("UDP").port
    raw = RawUdpPhone()
    raw.sock.close()
    raw.port = dupont.carrier_port
    raw.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sock.bind(("127.0.0.1", dupont.carrier_port))
    raw.sock.setblocking(False)
    gateway = Wire(raw, await Peer.start(), GATEWAY)
    gateway._server = sip_port
    try:
        async with wires(sip_port, *PASSWORDS.items(), unregistered=()) as (alice, bob):
            yield runtime, gateway, alice, bob
    finally:
        gateway.close()
        if platform.sip is not None:
            await runtime.stop(grace_s=1)


class CarrierCall:
    """The carrier's call to alice's number, driven by hand."""

    def __init__(self, runtime: SipRuntime, gateway: Wire, call_id: str) -> None:
        self.runtime, self.gateway, self.call_id = runtime, gateway, call_id
        self.port = runtime.server.bound_address("UDP").port
        self.uri = f"sip:{ALICES_NUMBER}@127.0.0.1:{self.port}"

    def invite(self) -> None:
        sip = self.gateway.sip
        offer = sdp(self.gateway.rtp.port, "1").decode()
        sip.send(
            sip.request(
                "INVITE", self.uri, user=GATEWAY, to_user=ALICES_NUMBER, call_id=self.call_id, body=offer,
                headers=[("Content-Type", "application/sdp")],
            ),
            self.port,
        )  # fmt: skip

    async def answered(self) -> int:
        """The 200 arrived and was ACKed: the port the carrier sends its media to."""
        self.ok = await self.gateway.response("INVITE", 200)
        sip = self.gateway.sip
        sip.send(
            sip.request(
                "ACK", self.uri, user=GATEWAY, to_user=ALICES_NUMBER, call_id=self.call_id,
                to_tag=self.ok.to_addr.tag,
            ),
            self.port,
        )  # fmt: skip
        return media_port(self.ok.body)

    async def hang_up(self, answerer: Wire) -> None:
        """The carrier hangs up; ``answerer`` gets the BYE; the media released, recordings stored."""
        sip = self.gateway.sip
        sip.send(
            sip.request(
                "BYE", self.uri, user=GATEWAY, to_user=ALICES_NUMBER, call_id=self.call_id, cseq=2,
                to_tag=self.ok.to_addr.tag,
            ),
            self.port,
        )  # fmt: skip
        answerer.answer(await answerer.request("BYE"))
        await wait_for_condition(lambda: not self.runtime.server.calls(), timeout=10, what="the call to end")
        await self.runtime.stop(grace_s=1)


async def talk(
    one: Wire, to_one: int, one_hz: int, other: Wire, to_other: int, other_hz: int, ms: int = 2000
) -> None:
    """Both send a tone for ``ms`` through Nuage; each hears the other's."""
    one.rtp.received.clear()
    other.rtp.received.clear()
    await asyncio.gather(one.rtp.send_tone(to_one, one_hz, ms), other.rtp.send_tone(to_other, other_hz, ms))
    await wait_for_condition(
        lambda: spoke(other, one_hz) and spoke(one, other_hz), timeout=10, what="both voices through Nuage"
    )


def stored(dupont: Dupont) -> list[tuple[CallRecording, np.ndarray]]:
    """The account's recordings and their audio (caller's side, callee's side)."""
    platform = dupont.platform
    with platform.uow() as uow:
        rows = uow.call_recordings.list()
    found = []
    for row in rows:
        path = recording_file(platform.settings.data_dir, dupont.account_id, row.id)
        audio, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
        assert rate == 8000
        found.append((row, audio))
    return found


def holds(audio: np.ndarray, channel: int, hz: int) -> bool:
    """Whether a channel of a recording carries a clear tone at ``hz`` for 200 ms somewhere."""
    return any(heard(audio[start : start + 1600, channel], hz) for start in range(0, len(audio) - 1599, 400))


def recorded_caller_and_bob(dupont: Dupont, caller_hz: int = CALLER_HZ) -> None:
    """One recording of the carrier's call: the caller's voice and bob's, never alice's."""
    ((row, audio),) = stored(dupont)
    assert (row.account_id, row.call_id) == (dupont.account_id, "rec-follows")
    assert holds(audio, 0, caller_hz)  # the caller's side
    assert holds(audio, 1, BOB_HZ)  # bob's
    assert not any(holds(audio, channel, ALICE_HZ) for channel in (0, 1))


@pytest.mark.rule("CFG-9")
@pytest.mark.parametrize("answerer", ["bob", "alice"])
async def test_a_ring_group_call_is_recorded_when_the_selected_member_answers(
    dupont: Dupont, answerer: str
) -> None:
    platform = dupont.platform
    with platform.uow() as uow:
        group = RingGroup(
            new_id("grp"), dupont.account_id, "Accueil", platform.clock.now(),
            members=(dupont.users["alice"], dupont.users["bob"]), timeout_s=30,
        )  # fmt: skip
        uow.ring_groups.add(group)
        number = uow.numbers.find_by(e164=ALICES_NUMBER)
        assert number is not None
        uow.numbers.update(replace(number, user_id=None, ring_group_id=group.id))
        uow.commit()
    record_calls_received_by(dupont, "bob")
    async with running(dupont) as (runtime, gateway, alice, bob):
        call = CarrierCall(runtime, gateway, "rec-follows")
        call.invite()
        phones = {"alice": alice, "bob": bob}
        invites = {name: await phone.request("INVITE") for name, phone in phones.items()}  # both ring
        other = "alice" if answerer == "bob" else "bob"
        phones[other].answer(invites[other], 180, tag="othertag")  # a CANCEL follows a provisional
        phones[answerer].answer(invites[answerer], tag="answertag", body=sdp(phones[answerer].rtp.port, "2"))
        to_engine = await call.answered()
        await phones[answerer].request("ACK")
        phones[other].answer(await phones[other].request("CANCEL"))
        phones[other].answer(invites[other], 487, tag="othertag")
        hz = BOB_HZ if answerer == "bob" else ALICE_HZ
        await talk(gateway, to_engine, CALLER_HZ, phones[answerer], media_port(invites[answerer].body), hz)
        await call.hang_up(phones[answerer])
    if answerer == "bob":
        recorded_caller_and_bob(dupont)
    else:
        assert stored(dupont) == []


@pytest.mark.rule("CFG-9")
async def test_a_call_forwarded_to_the_selected_user_is_recorded(dupont: Dupont) -> None:
    platform = dupont.platform
    with platform.uow() as uow:
        uow.forwarding.add(
            CallForwarding(
                dupont.users["alice"], dupont.account_id, platform.clock.now(), unconditional="212"
            )
        )
        uow.commit()
    record_calls_received_by(dupont, "bob")
    async with running(dupont) as (runtime, gateway, _alice, bob):
        call = CarrierCall(runtime, gateway, "rec-follows")
        call.invite()
        invite = await bob.request("INVITE")  # alice's forward: bob's phone rings
        assert "reason=unconditional" in (invite.headers.get("diversion") or "")
        bob.answer(invite, tag="bobtag", body=sdp(bob.rtp.port, "2"))
        to_engine = await call.answered()
        await bob.request("ACK")
        await talk(gateway, to_engine, CALLER_HZ, bob, media_port(invite.body), BOB_HZ)
        await call.hang_up(bob)
    recorded_caller_and_bob(dupont)


@pytest.mark.rule("CFG-9")
async def test_a_call_the_selected_user_picks_up_is_recorded(dupont: Dupont) -> None:
    record_calls_received_by(dupont, "bob")
    async with running(dupont) as (runtime, gateway, alice, bob):
        call = CarrierCall(runtime, gateway, "rec-follows")
        call.invite()
        invite = await alice.request("INVITE")
        alice.answer(invite, 180, tag="alicetag")
        await wait_for_condition(
            lambda: bool(runtime.server.calls()) and runtime.server.calls()[0].state == "routing",
            timeout=10, what="alice's phone ringing",
        )  # fmt: skip
        picked, _ = await call_out(call.port, bob, "*8", PASSWORDS["bob"], "bob-picks-up")
        to_engine = await call.answered()
        alice.answer(await alice.request("CANCEL"))
        alice.answer(invite, 487, tag="alicetag")
        await talk(gateway, to_engine, CALLER_HZ, bob, media_port(picked.body), BOB_HZ)
        await call.hang_up(bob)
    recorded_caller_and_bob(dupont)


@pytest.mark.rule("CFG-9")
@pytest.mark.parametrize("selected", ["bob", "alice"])
async def test_the_recording_follows_a_transfer_towards_or_away_from_the_selected_user(
    dupont: Dupont, selected: str
) -> None:
    record_calls_received_by(dupont, selected)
    async with running(dupont) as (runtime, gateway, alice, bob):
        call = CarrierCall(runtime, gateway, "rec-follows")
        call.invite()
        invite = await alice.request("INVITE")
        alice.answer(invite, tag="alicetag", body=sdp(alice.rtp.port, "2"))
        to_engine = await call.answered()
        await alice.request("ACK")
        await talk(gateway, to_engine, CALLER_HZ, alice, media_port(invite.body), ALICE_HZ)

        local, remote = f"{invite.headers.get('to')};tag=alicetag", invite.headers.get("from") or ""
        refer_to = f"Refer-To: <sip:212@127.0.0.1:{call.port}>"
        alice.sip.send(
            in_dialog(alice, contact_of(invite), local, remote, invite.call_id, 5, "REFER", [refer_to]),
            call.port,
        )
        await alice.response("REFER", 202)
        ringing = await bob.request("INVITE")  # the target rings with no offer
        bob.answer(ringing, tag="bobtag", body=sdp(bob.rtp.port, "3"))
        reinvite = await gateway.request("INVITE")  # the caller is joined to bob through the engine
        gateway.answer(reinvite, body=sdp(gateway.rtp.port, "4"))
        ack = await bob.request("ACK")
        alice.answer(await alice.request("BYE"))  # alice is done
        if selected == "alice":  # the call left her: the recording so far is stored at once
            await wait_for_condition(
                lambda: len(stored(dupont)) == 1, timeout=10, what="the recording stored"
            )
        # long enough that the recording, started once bob is joined, holds a good part of it
        await talk(
            gateway, media_port(reinvite.body), CALLER_LATER_HZ, bob, media_port(ack.body), BOB_HZ, 3000
        )
        await call.hang_up(bob)
    ((row, audio),) = stored(dupont)
    assert row.call_id == "rec-follows"
    if selected == "bob":  # recorded from the transfer on: the caller and bob, never alice
        assert holds(audio, 0, CALLER_LATER_HZ)
        assert holds(audio, 1, BOB_HZ)
        assert not holds(audio, 0, CALLER_HZ)
        assert not any(holds(audio, channel, ALICE_HZ) for channel in (0, 1))
    else:  # recorded until the transfer: the caller and alice, never bob
        assert holds(audio, 0, CALLER_HZ)
        assert holds(audio, 1, ALICE_HZ)
        assert not any(holds(audio, channel, BOB_HZ) for channel in (0, 1))
        assert not holds(audio, 0, CALLER_LATER_HZ)
