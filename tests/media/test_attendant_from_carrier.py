"""The demo's auto-attendant answers calls from the public network (issue #16), on the wired SIP
plane over SQLite and PostgreSQL: the demo carrier (a hand-driven UDP peer on 127.0.0.2, the
carrier's address) calls Atelier Dupont's number, hears the menu's prompt, keys 1 for the weekly
meeting room and its PIN, and is in the room; the CDR is an inbound call of Atelier Dupont on the
carrier, holding one of the account's channels (CAP-3); beyond them, the next outside call is refused.
A menu's voicemail choice takes the outside caller to the box (the deposit runs on the call)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from media.peers import Peer, media_port, rms, sdp
from media.test_voicemail_wired import pure_tone
from netports import free_port, release
from nuage.bootstrap import Platform, SipRuntime
from nuage.directory.model import TrafficPack
from nuage.media import ivr_prompts
from nuage.media_settings import SipMediaSettings, SipVoicemailSettings
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.demo_applications import DEMO_ATTENDANT, ROOM_EXTENSION, ROOM_PIN, load_applications_demo
from nuage.services.directory import applications as a
from nuage.services.directory.numbers import add_number
from nuage.shared.clock import SystemClock, business_date
from nuage.shared.ids import new_id
from nuage.sip.message import SipResponse, make_response
from nuage.storage.sql import tables
from nuage.tenancy.model import PartyKind
from sip.harness import RawUdpPhone, run_sipp
from waiting import wait_for_condition

CARRIER_HOST = "127.0.0.2"  # the demo carrier's gateway address
CALLER = "+32470123456"


class CarrierGateway(RawUdpPhone):
    """The carrier's gateway: hand-written SIP from 127.0.0.2 (no digest: trusted by its address)."""

    def __init__(self) -> None:
        super().__init__()
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((CARRIER_HOST, self.port))
        self.sock.setblocking(False)


class OutsideCaller:
    """Someone on the public network calling through the carrier: its gateway and an RTP peer."""

    def __init__(self, gateway: CarrierGateway, rtp: Peer) -> None:
        self.sip, self.rtp = gateway, rtp
        self.call_id = f"pstn-{secrets.token_hex(4)}"
        self.uri = ""
        self.ok: SipResponse | None = None
        self.engine_port = 0

    async def call(self, server_port: int, dialled: str) -> SipResponse:
        """INVITE ``dialled``; the final response (a 200 is ACKed, its media port kept)."""
        self.uri = f"sip:{dialled}@127.0.0.1:{server_port}"
        offer = sdp(self.rtp.port, "7").decode()
        request = self.sip.request
        self.sip.send(
            request("INVITE", self.uri, user=CALLER, to_user=dialled, call_id=self.call_id, body=offer),
            server_port,
        )
        final = await self.sip.response(timeout=30)
        while final.status < 200:
            final = await self.sip.response(timeout=30)
        if final.status == 200:
            self.ok = final
            self.engine_port = media_port(final.body)
            tag = final.to_addr.tag
            ack = request("ACK", self.uri, user=CALLER, to_user=dialled, call_id=self.call_id, to_tag=tag)
            self.sip.send(ack, server_port)
        return final

    async def bye_from_server(self, server_port: int, timeout: float = 30) -> None:
        """The BYE the application sends when it is done (answered 200)."""
        bye = await self.sip.incoming_request(timeout=timeout)
        assert bye.method == "BYE", bye
        self.sip.send(make_response(bye, 200).to_bytes(), server_port)

    async def hang_up(self, server_port: int) -> None:
        assert self.ok is not None
        tag = self.ok.to_addr.tag
        bye = self.sip.request("BYE", self.uri, user=CALLER, call_id=self.call_id, cseq=2, to_tag=tag)
        self.sip.send(bye, server_port)
        response = await self.sip.response(timeout=30)
        while response.cseq.method != "BYE":
            response = await self.sip.response(timeout=30)
        assert response.status == 200, response


@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ivr-prompts")
    ivr_prompts.generate(directory)
    return directory


@pytest.fixture
async def outside(
    platform: Platform, prompts_dir: Path
) -> AsyncIterator[tuple[Platform, int, OutsideCaller]]:
    """The demo and its applications loaded, the demo carrier's gateway on a free port of 127.0.0.2
    (the demo's own 5090 may be taken on a shared machine), the SIP plane with its media engine."""
    async with outside_plane(platform, prompts_dir) as plane:
        yield plane


@contextlib.asynccontextmanager
async def outside_plane(
    platform: Platform, prompts_dir: Path, **sip: object
) -> AsyncIterator[tuple[Platform, int, OutsideCaller]]:
    """What ``outside`` gives, with the ``[sip]`` settings ``sip`` changes."""
    gateway = CarrierGateway()
    with platform.uow() as uow:
        load_demo(uow, platform.clock)
        load_applications_demo(uow, platform.clock)
        (carrier,) = uow.carrier_trunks.list()
        uow.carrier_trunks.update(replace(carrier, host=CARRIER_HOST, port=gateway.port))
        uow.commit()
    low = free_port(span=300)
    platform.settings.sip.port = 0
    platform.settings.sip.media = SipMediaSettings(port_min=low, port_max=low + 299, timeout_s=60)
    platform.settings.sip.voicemail = SipVoicemailSettings(prompts_dir=prompts_dir)
    platform.clock = SystemClock()
    for name, value in sip.items():
        setattr(platform.settings.sip, name, value)
    runtime = SipRuntime(platform)
    await runtime.start()
    caller = OutsideCaller(gateway, await Peer.start())
    try:
        yield platform, runtime.server.bound_address("UDP").port, caller
    finally:
        gateway.close()
        caller.rtp.close()
        await runtime.stop(grace_s=1)
        release(low, 300)


def dupont(platform: Platform) -> str:
    with platform.uow() as uow:
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
        assert party is not None
        return party.id


def participants(platform: Platform) -> list[str]:
    with platform.uow() as uow:
        room = uow.conference_rooms.find_by(account_id=dupont(platform), extension=ROOM_EXTENSION)
        assert room is not None
        return [p.label for p in uow.conference_participants.list(room_id=room.id)]


def in_use(platform: Platform) -> int:
    """CAP-3: the channels Atelier Dupont holds now."""
    assert platform.sip is not None
    return platform.sip.policy.channels.in_use(dupont(platform))


async def cdrs(platform: Platform) -> list[dict[str, object]]:
    assert platform.sip is not None
    await platform.sip.server.cdr_writer.flush()
    with platform.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(tables.cdrs)).mappings()]


@pytest.mark.rule("CAP-3")
async def test_a_carrier_call_to_the_demo_attendant_reaches_the_meeting_room(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    assert (await caller.call(port, DEMO_ATTENDANT)).status == 200
    await caller.rtp.send_tone(caller.engine_port, 300, 100)  # latches the engine on the caller's port
    await wait_for_condition(lambda: rms(caller.rtp.audio()) > 300, timeout=30, what="the menu's prompt")
    assert in_use(platform) == 1  # CAP-3: an inbound channel held
    await caller.rtp.send_digit(caller.engine_port, "1")  # open or closed, key 1 is the weekly meeting
    for key in ROOM_PIN + "#":
        await caller.rtp.send_digit(caller.engine_port, key)
    await wait_for_condition(lambda: participants(platform) == ["caller"], timeout=30, what="in the room")
    await caller.hang_up(port)
    await wait_for_condition(lambda: not participants(platform), timeout=30, what="out of the room")
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    (cdr,) = await cdrs(platform)
    with platform.uow() as uow:
        (carrier,) = uow.carrier_trunks.list()
    assert (cdr["direction"], cdr["outcome"], cdr["sip_status"]) == ("inbound", "answered", 200)
    assert (cdr["account_id"], cdr["callee"], cdr["caller"]) == (dupont(platform), DEMO_ATTENDANT, CALLER)
    assert (cdr["carrier_trunk_id"], cdr["trunk_id"]) == (carrier.id, None)  # no customer trunk


@pytest.mark.rule("CAP-3")
async def test_the_outside_call_beyond_the_accounts_channels_is_refused(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """Atelier Dupont has one channel (CAP-2 pack): the first outside call holds it in the menu, the
    second is refused with 486 and a Warning citing CAP-3, and its CDR says so."""
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        today = business_date(platform.clock.now())
        uow.packs.add(
            TrafficPack(new_id("pack"), account, "One line", 1, platform.clock.now(), today, channel_limit=1)
        )
        uow.commit()
    assert platform.sip is not None
    await platform.sip.policy_state.reload()
    assert (await caller.call(port, DEMO_ATTENDANT)).status == 200
    second = OutsideCaller(caller.sip, caller.rtp)
    refused = await second.call(port, DEMO_ATTENDANT)
    assert refused.status == 486
    assert '"CAP-3 ' in (refused.headers.get("warning") or "")
    await caller.hang_up(port)
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    rows = sorted((r["direction"], r["outcome"], r["refusal_rule"]) for r in await cdrs(platform))
    assert rows == [("inbound", "answered", None), ("inbound", "refused", "CAP-3")]


@pytest.mark.sipp
@pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp (Debian sip-tester) is not installed")
async def test_the_readme_carrier_scenario_is_answered_by_the_attendant(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """The README's command: SIPp as the demo carrier (from 127.0.0.2, the carrier's port) calls the
    demo's auto-attendant number; the menu answers, the carrier hangs up after 2 s."""
    platform, port, caller = outside
    caller.sip.close()  # SIPp takes the gateway's address
    scenario = Path(__file__).resolve().parents[2] / "examples" / "sipp" / "carrier_call.xml"
    result = await run_sipp(
        scenario,
        f"127.0.0.1:{port}",
        port=caller.sip.port,
        ip=CARRIER_HOST,
        args=("-s", DEMO_ATTENDANT, "-m", "1"),
    )
    assert result.returncode == 0, result.output[-3000:]
    rows = [(r["direction"], r["outcome"], r["account_id"], r["callee"]) for r in await cdrs(platform)]
    assert rows == [("inbound", "answered", dupont(platform), DEMO_ATTENDANT)]


async def test_a_menus_voicemail_choice_takes_an_outside_caller_to_the_box(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """Key 3 of a menu leads to bob's voicemail: no phone of the platform to REFER, so the deposit
    runs on the carrier's call itself (greeting skipped, beep, a tone, #), and the message is in bob's box."""
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        ctx = Context.operator(account, platform.clock)
        bob = uow.users.find_by(account_id=account, extension="212")
        assert bob is not None
        box = vm.create_box(uow, ctx, account, user_id=bob.id, language="en")
        menu = a.add_menu(
            uow, ctx, account, a.MenuChanges(name="Messages", options={"3": f"voicemail:{bob.id}"})
        )
        number = add_number(uow, ctx, account, "+3223000159")
        a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
        uow.commit()
    assert (await caller.call(port, "+3223000159")).status == 200
    await caller.rtp.send_tone(caller.engine_port, 300, 100)
    await wait_for_condition(lambda: rms(caller.rtp.audio()) > 300, timeout=30, what="the menu's prompt")
    await caller.rtp.send_digit(caller.engine_port, "3")
    heard = len(caller.rtp.received)
    await wait_for_condition(lambda: len(caller.rtp.received) >= heard + 10, timeout=30, what="the greeting")
    await caller.rtp.send_digit(caller.engine_port, "0")  # skips the greeting

    def beeped() -> bool:
        audio = caller.rtp.audio()[heard * 160 :]
        return any(pure_tone(audio[i : i + 2400], 1000) for i in range(0, max(0, len(audio) - 2400), 400))

    await wait_for_condition(beeped, timeout=30, what="the beep")
    await caller.rtp.send_tone(caller.engine_port, 440, 2000)
    await caller.rtp.send_digit(caller.engine_port, "#")
    await caller.bye_from_server(port)
    with platform.uow() as uow:
        assert uow.voicemail_messages.count(box_id=box.id) == 1
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")  # the call's end, its CDR
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["account_id"], cdr["callee"]) == ("inbound", account, "+3223000159")
