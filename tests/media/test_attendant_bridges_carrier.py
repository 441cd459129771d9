"""A caller from the public network is connected to what they chose in a menu (issue #16), on the
wired SIP plane: the demo carrier's gateway (127.0.0.2) calls a number routed to a menu of Atelier
Dupont and keys a choice by RFC 4733; the B2BUA bridges the call there (no phone to REFER):

- a user: bob's baresip phone rings, answers, and each side hears the other's tone; with no
  phone registered, the caller leaves bob a voicemail instead;
- a ring group (by its extension): its member's phone rings, answers, and they hear each other;
- an external number: an outbound call of the account through the carrier, presenting the
  number the caller called (SIP-2), holding a second channel of the account (CAP-3) and billed on
  its own CDR; with one channel only, CAP-3 refuses it and the caller hears goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile

from media.app_phone import AppPhone
from media.peers import Peer, media_port, rms, sdp
from media.test_anchoring import heard
from media.test_attendant_from_carrier import OutsideCaller, cdrs, dupont, in_use, outside, prompts_dir
from media.test_attendant_wired import level_at
from media.test_voicemail_wired import pure_tone
from nuage.bootstrap import Platform
from nuage.directory.model import TrafficPack
from nuage.services import voicemail as vm
from nuage.services.context import Context
from nuage.services.directory import applications as a
from nuage.services.directory.numbers import add_number
from nuage.services.directory.ring_groups import add_ring_group
from nuage.shared.clock import business_date
from nuage.shared.ids import new_id
from nuage.sip.b2bua.app_bridge import CONNECTED, MENU_LEG
from nuage.sip.message import SipRequest, make_response
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import needs_baresip
from waiting import wait_for_condition

__all__ = ["outside", "prompts_dir"]  # the fixtures this module uses

MENU_NUMBER = "+3223000161"
OUTSIDE_NUMBER = "+3225551234"


async def menu_on_number(platform: Platform, option: str) -> None:
    """A menu of Atelier Dupont on MENU_NUMBER whose key 1 leads to ``option`` (the policy's
    snapshot reloaded: the number is the account's, SIP-2)."""
    account = dupont(platform)
    with platform.uow() as uow:
        ctx = Context.operator(account, platform.clock)
        if option.startswith("user:"):
            bob = uow.users.find_by(account_id=account, extension="212")
            assert bob is not None
            option = f"user:{bob.id}"
        menu = a.add_menu(uow, ctx, account, a.MenuChanges(name="Reception", options={"1": option}))
        number = add_number(uow, ctx, account, MENU_NUMBER)
        a.route_number(uow, ctx, number.id, f"menu:{menu.id}")
        uow.commit()
    assert platform.sip is not None
    await platform.sip.directory.reload()
    await platform.sip.policy_state.reload()


async def choose(caller: OutsideCaller, port: int, key: str) -> None:
    """Call the menu, hear its prompt, key ``key`` (RFC 4733)."""
    assert (await caller.call(port, MENU_NUMBER)).status == 200
    await caller.rtp.send_tone(caller.engine_port, 300, 100)  # latches the engine on the caller's port
    await wait_for_condition(lambda: rms(caller.rtp.audio()) > 300, timeout=30, what="the menu's prompt")
    await caller.rtp.send_digit(caller.engine_port, key)


async def request(caller: OutsideCaller, method: str, seen: set[str], timeout: float = 30) -> SipRequest:
    """The next new ``method`` request reaching the carrier's gateway (retransmissions skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            got = await caller.sip.incoming_request(timeout=timeout)
            key = f"{got.call_id} {got.cseq.number} {got.method}"
            if got.method == method and key not in seen:
                seen.add(key)
                return got


def answer(caller: OutsideCaller, port: int, req: SipRequest, body: bytes, tag: str = "gw") -> None:
    response = make_response(req, 200, to_tag=tag, body=body)
    response.headers.add("contact", f"<sip:gateway@127.0.0.2:{caller.sip.port}>")
    response.headers.add("content-type", "application/sdp")
    caller.sip.send(response.to_bytes(), port)


def recorded_hz(folder: Path, hz: float) -> bool:
    """Whether one of baresip's recordings holds a clear tone at ``hz`` (what bob heard)."""
    for path in (folder / "rec").glob("*.wav"):
        with contextlib.suppress(RuntimeError):
            audio, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
            pcm = audio[:, 0]
            for start in range(0, len(pcm) - 4000, 2000):
                if level_at(pcm[start : start + 4000], hz) > 800:
                    return True
    return False


@contextlib.asynccontextmanager
async def bob_phone(folder: Path, sip_port: int) -> AsyncIterator[Baresip]:
    """Bob's desk phone (the demo's credentials): baresip answering by itself, sending 440 Hz and
    recording what it hears."""
    (folder / "rec").mkdir(parents=True)
    account = (
        f"<sip:bob@127.0.0.1:{sip_port}>;auth_pass=Bob-Demo-2026!;regint=300;answermode=auto;"
        "audio_codecs=PCMU"
    )
    async with running_baresip(
        folder, account=account, modules=("sndfile",), extra=(f"snd_path {folder / 'rec'}",)
    ) as phone:
        yield phone


@pytest.mark.baresip
@pytest.mark.slow
@needs_baresip
async def test_an_outside_caller_choosing_a_user_talks_with_the_users_phone(
    outside: tuple[Platform, int, OutsideCaller], tmp_path: Path
) -> None:
    platform, port, caller = outside
    await menu_on_number(platform, "user:bob")
    assert platform.sip is not None
    server = platform.sip.server
    async with bob_phone(tmp_path / "bob", port) as bob:
        await wait_for_condition(
            lambda: any(b.username == "bob" for b in server.registrations()), 30, 0.05, "bob registered"
        )
        await choose(caller, port, "1")
        seen: set[str] = set()
        reinvite = await request(caller, "INVITE", seen)  # bob answered: his offer, through the engine
        assert reinvite.call_id == caller.call_id
        answer(
            caller, port, reinvite, sdp(caller.rtp.port, "7"), tag=caller.ok.to_addr.tag if caller.ok else ""
        )
        await bob.wait_event("CALL_ESTABLISHED")  # the caller's answer reached bob in the ACK
        assert (await request(caller, "ACK", seen)).call_id == caller.call_id
        to_bob = media_port(reinvite.body)
        caller.rtp.received.clear()
        await caller.rtp.send_tone(to_bob, 700, 2000)
        await wait_for_condition(
            lambda: heard(caller.rtp.audio()[-4000:], 440), timeout=30, what="bob's tone at the caller"
        )
        await wait_for_condition(lambda: recorded_hz(tmp_path / "bob", 700), 15, 0.2, "the caller at bob")
        assert in_use(platform) == 1  # CAP-3: one inbound call of the account, whoever answered it
        await caller.hang_up(port)
        await bob.wait_event("CALL_CLOSED")
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["outcome"], cdr["account_id"]) == ("inbound", "answered", dupont(platform))
    assert (cdr["callee"], cdr["disposition"]) == (MENU_NUMBER, CONNECTED)


async def test_an_outside_caller_choosing_a_user_with_no_phone_reaches_their_voicemail(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """Bob's phone is not registered: nothing to ring, so the caller leaves bob a message."""
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        bob = uow.users.find_by(account_id=account, extension="212")
        assert bob is not None
        box = vm.create_box(
            uow, Context.operator(account, platform.clock), account, user_id=bob.id, language="en"
        )
        uow.commit()
    await menu_on_number(platform, "user:bob")
    await choose(caller, port, "1")
    heard_from = len(caller.rtp.received)
    await wait_for_condition(
        lambda: len(caller.rtp.received) >= heard_from + 10, timeout=30, what="the greeting"
    )
    await caller.rtp.send_digit(caller.engine_port, "0")  # skips the greeting

    def beeped() -> bool:
        audio = caller.rtp.audio()[heard_from * 160 :]
        return any(pure_tone(audio[i : i + 2400], 1000) for i in range(0, max(0, len(audio) - 2400), 400))

    await wait_for_condition(beeped, timeout=30, what="the beep")
    await caller.rtp.send_tone(caller.engine_port, 440, 2000)
    await caller.rtp.send_digit(caller.engine_port, "#")
    await caller.bye_from_server(port)
    with platform.uow() as uow:
        assert uow.voicemail_messages.count(box_id=box.id) == 1


async def test_an_outside_caller_choosing_a_ring_group_talks_with_a_members_phone(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        bob = uow.users.find_by(account_id=account, extension="212")
        assert bob is not None
        ctx = Context.operator(account, platform.clock)
        group = add_ring_group(uow, ctx, account, "Workshop", members=(bob.id,), extension="260")
        uow.commit()
    await menu_on_number(platform, f"group:{group.id}")
    phone = await AppPhone.start("bob", "Bob-Demo-2026!")
    try:
        assert await phone.sip.register(port, "bob", "Bob-Demo-2026!") == 200
        await choose(caller, port, "1")
        invite = await phone.sip.incoming_request(timeout=30)
        assert invite.method == "INVITE"
        assert media_port(invite.body)  # the engine's offer: bob answers it, the caller gets his answer
        answered = make_response(invite, 200, to_tag="bob", body=sdp(phone.rtp.port, "5"))
        answered.headers.add("contact", f"<sip:bob@127.0.0.1:{phone.sip.port}>")
        answered.headers.add("content-type", "application/sdp")
        phone.sip.send(answered.to_bytes(), port)
        seen: set[str] = set()
        reinvite = await request(caller, "INVITE", seen)
        answer(
            caller, port, reinvite, sdp(caller.rtp.port, "7"), tag=caller.ok.to_addr.tag if caller.ok else ""
        )
        assert (await request(caller, "ACK", seen)).call_id == caller.call_id
        ack = await phone.sip.incoming_request(timeout=30)
        while ack.method == "INVITE":  # a retransmission that crossed bob's 200
            ack = await phone.sip.incoming_request(timeout=30)
        assert ack.method == "ACK"
        await asyncio.gather(
            caller.rtp.send_tone(media_port(reinvite.body), 700, 1500),
            phone.rtp.send_tone(media_port(invite.body), 1200, 1500),
        )
        await wait_for_condition(lambda: heard(phone.rtp.audio()[-4000:], 700), 10, what="the caller at bob")
        await wait_for_condition(
            lambda: heard(caller.rtp.audio()[-4000:], 1200), 10, what="bob at the caller"
        )
        await caller.hang_up(port)
        bye = await phone.sip.incoming_request(timeout=30)
        assert bye.method == "BYE"
        phone.sip.send(make_response(bye, 200).to_bytes(), port)
    finally:
        phone.close()
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["callee"], cdr["disposition"]) == ("inbound", MENU_NUMBER, CONNECTED)


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-2")
async def test_an_outside_caller_choosing_an_external_number_is_connected_through_the_carrier(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    await menu_on_number(platform, f"external:{OUTSIDE_NUMBER}")
    far = await Peer.start()
    try:
        await choose(caller, port, "1")
        seen: set[str] = set()
        invite = await request(caller, "INVITE", seen)  # the menu's outbound leg, to the carrier
        assert invite.uri.user == OUTSIDE_NUMBER
        assert media_port(invite.body)  # the engine's offer (the far end may answer it early)
        assert invite.from_addr.uri.user == MENU_NUMBER  # SIP-2: the account's number, not the caller's
        assert in_use(platform) == 2  # CAP-3: the inbound call and the outbound leg
        answer(caller, port, invite, sdp(far.port, "11"), tag="far")
        reinvite = await request(caller, "INVITE", seen)
        assert reinvite.call_id == caller.call_id
        answer(
            caller, port, reinvite, sdp(caller.rtp.port, "7"), tag=caller.ok.to_addr.tag if caller.ok else ""
        )
        assert (await request(caller, "ACK", seen)).call_id == caller.call_id  # the re-INVITE's
        await asyncio.gather(
            caller.rtp.send_tone(media_port(reinvite.body), 700, 1500),
            far.send_tone(media_port(invite.body), 1200, 1500),
        )
        await wait_for_condition(
            lambda: heard(far.audio()[-4000:], 700), timeout=30, what="the caller at the far end"
        )
        await wait_for_condition(
            lambda: heard(caller.rtp.audio()[-4000:], 1200), timeout=30, what="the far end at the caller"
        )
        await caller.hang_up(port)
        bye = await request(caller, "BYE", seen)
        assert bye.call_id == invite.call_id
        caller.sip.send(make_response(bye, 200).to_bytes(), port)
    finally:
        far.close()
    await wait_for_condition(lambda: in_use(platform) == 0, what="both channels released")
    rows = {r["direction"]: r for r in await cdrs(platform)}
    assert rows["inbound"]["disposition"] == CONNECTED
    leg = rows["outbound"]
    assert (leg["account_id"], leg["callee"], leg["outcome"]) == (
        dupont(platform),
        OUTSIDE_NUMBER,
        "answered",
    )
    assert (leg["disposition"], leg["caller"]) == (MENU_LEG, MENU_NUMBER)
    assert leg["billable_seconds"] >= 1  # rated like any outbound call of the account


@pytest.mark.rule("CAP-3")
async def test_the_external_choice_beyond_the_accounts_channels_is_refused_and_says_goodbye(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    account = dupont(platform)
    await menu_on_number(platform, f"external:{OUTSIDE_NUMBER}")
    with platform.uow() as uow:
        today = business_date(platform.clock.now())
        uow.packs.add(
            TrafficPack(new_id("pack"), account, "One line", 1, platform.clock.now(), today, channel_limit=1)
        )
        uow.commit()
    assert platform.sip is not None
    await platform.sip.policy_state.reload()
    await choose(caller, port, "1")
    await caller.bye_from_server(port)  # goodbye, then the menu hangs up: no INVITE to the carrier
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    rows = sorted((r["direction"], r["outcome"], r["refusal_rule"]) for r in await cdrs(platform))
    assert rows == [("inbound", "answered", None), ("outbound", "refused", "CAP-3")]
