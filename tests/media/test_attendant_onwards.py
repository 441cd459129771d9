"""What an outside caller hears and reaches once a menu's choice rings (issue #16), on the wired SIP
plane: the demo carrier's gateway (127.0.0.2) calls a number routed to a menu of Atelier Dupont and
keys a choice by RFC 4733; the destinations are real SIP phones on loopback (hand-driven SIP and an
RTP peer each), and every check is on the audio that arrived:

- while the destination rings (180), the caller hears the European ringback tone (425 Hz, 1 s on,
  4 s off); when it sends early media (183 with SDP), the caller hears that instead; once it
  answers, the caller and the destination hear each other;
- a sequential ring group chosen in the menu rings its members one after the other, as a call
  dialling the group does: the first one rings its member time (the caller hears ringback), is
  cancelled, then the second one rings and answers; with no member to ring, the group's fallback
  to an external number is a call of the account through the carrier (CAP-3, its own CDR); a
  round-robin group starts after the member it rang first last time;
- dial-by-extension to a conference room's extension: the caller gives the room's PIN and is in
  the room's mix, hearing a phone of the account that dialled in, and heard by it.
"""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pytest

from media.app_phone import AppPhone
from media.peers import Peer, media_port, rms, sdp
from media.test_attendant_bridges_carrier import (
    MENU_NUMBER,
    OUTSIDE_NUMBER,
    answer,
    choose,
    menu_on_number,
    request,
)
from media.test_attendant_from_carrier import (
    OutsideCaller,
    cdrs,
    dupont,
    in_use,
    outside,
    participants,
    prompts_dir,
)
from media.test_voicemail_wired import pure_tone
from nuage.bootstrap import Platform
from nuage.directory.routing import HuntStrategy
from nuage.media import g711
from nuage.services.context import Context
from nuage.services.demo_applications import ROOM_EXTENSION, ROOM_PIN
from nuage.services.directory.ring_groups import add_ring_group
from nuage.sip.b2bua.app_bridge import CONNECTED, MENU_LEG
from nuage.sip.b2bua.ringback import RINGBACK_HZ
from nuage.sip.message import SipRequest, make_response
from waiting import wait_for_condition

__all__ = ["outside", "prompts_dir"]  # the fixtures this module uses

PASSWORDS = {"alice": "Alice-Demo-2026", "bob": "Bob-Demo-2026!"}


async def phone_of(user: str, port: int) -> AppPhone:
    """``user``'s desk phone, registered."""
    phone = await AppPhone.start(user, PASSWORDS[user])
    assert await phone.sip.register(port, user, PASSWORDS[user]) == 200
    return phone


async def next_request(phone: AppPhone, method: str, timeout: float = 30) -> SipRequest:
    """The next ``method`` request reaching ``phone`` (a retransmitted INVITE skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            got = await phone.sip.incoming_request(timeout=timeout)
            if got.method == method:
                return got


def respond(phone: AppPhone, port: int, invite: SipRequest, status: int, body: bytes = b"") -> None:
    """``phone`` answers ``invite`` with ``status`` (its SDP in ``body``, if any)."""
    response = make_response(invite, status, to_tag=f"{phone.sip.port}", body=body)
    response.headers.add("contact", f"<sip:{phone.user}@127.0.0.1:{phone.sip.port}>")
    if body:
        response.headers.add("content-type", "application/sdp")
    phone.sip.send(response.to_bytes(), port)


def hears(peer: Peer, hz: float, since: int = 0) -> bool:
    """Whether what ``peer`` received since its ``since``-th packet holds 200 ms of a pure tone at
    ``hz`` (with energy: speech, a prompt, never is)."""
    chunks = [g711.decode(0, p.payload) for p in peer.received[since:] if p.payload_type == 0]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return any(pure_tone(audio[i : i + 1600], hz) for i in range(0, len(audio) - 1599, 400))


def nothing_came(phone: AppPhone) -> bool:
    """Whether nothing is waiting on ``phone``'s SIP socket (not rung yet)."""
    try:
        phone.sip.sock.recv(65535, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    return False


async def talk(caller: OutsideCaller, port: int, phone: AppPhone, offer: SipRequest, seen: set[str]) -> None:
    """``phone`` answered: the caller takes its answer by re-INVITE; then each hears the other."""
    reinvite = await request(caller, "INVITE", seen)
    assert reinvite.call_id == caller.call_id
    answer(caller, port, reinvite, sdp(caller.rtp.port, "7"), tag=caller.ok.to_addr.tag if caller.ok else "")
    assert (await request(caller, "ACK", seen)).call_id == caller.call_id  # the re-INVITE's
    assert (await next_request(phone, "ACK")).call_id == offer.call_id
    marks = len(caller.rtp.received), len(phone.rtp.received)
    await asyncio.gather(
        caller.rtp.send_tone(media_port(reinvite.body), 700, 1500),
        phone.rtp.send_tone(media_port(offer.body), 1200, 1500),
    )
    await wait_for_condition(lambda: hears(phone.rtp, 700, marks[1]), 10, what="the caller at the phone")
    await wait_for_condition(lambda: hears(caller.rtp, 1200, marks[0]), 10, what="the phone at the caller")


async def hang_up(caller: OutsideCaller, port: int, phone: AppPhone) -> None:
    await caller.hang_up(port)
    bye = await next_request(phone, "BYE", timeout=10)
    phone.sip.send(make_response(bye, 200).to_bytes(), port)


async def test_the_caller_hears_ringback_then_early_media_then_the_user(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    await menu_on_number(platform, "user:bob")
    bob = await phone_of("bob", port)
    try:
        await choose(caller, port, "1")
        invite = await next_request(bob, "INVITE")
        assert media_port(invite.body)  # the engine's offer: bob may answer it early
        mark = len(caller.rtp.received)
        respond(bob, port, invite, 180)
        await wait_for_condition(
            lambda: hears(caller.rtp, RINGBACK_HZ, mark), 15, what="the ringback tone at the caller"
        )
        mark = len(caller.rtp.received)
        respond(bob, port, invite, 183, sdp(bob.rtp.port, "5"))  # early media: bob's own announcement
        announcing = asyncio.create_task(bob.rtp.send_tone(media_port(invite.body), 1000, 3000))
        await wait_for_condition(lambda: hears(caller.rtp, 1000, mark), 10, what="bob's early media")
        mark = len(caller.rtp.received)  # from bob's tone on (what came before may end a ringback burst)
        await wait_for_condition(lambda: len(caller.rtp.received) >= mark + 15, 10, what="more early media")
        assert not hears(caller.rtp, RINGBACK_HZ, mark)  # no ringback over it
        await announcing
        respond(bob, port, invite, 200, sdp(bob.rtp.port, "5"))
        seen: set[str] = set()
        await talk(caller, port, bob, invite, seen)
        assert in_use(platform) == 1  # CAP-3: the inbound call only
        await hang_up(caller, port, bob)
    finally:
        bob.close()
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    (cdr,) = await cdrs(platform)
    assert (cdr["direction"], cdr["callee"], cdr["disposition"]) == ("inbound", MENU_NUMBER, CONNECTED)


async def test_a_sequential_group_chosen_in_a_menu_rings_its_members_in_turn(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        bob = uow.users.find_by(account_id=account, extension="212")
        alice = uow.users.find_by(account_id=account, extension="211")
        assert bob is not None
        assert alice is not None
        group = add_ring_group(
            uow,
            Context.operator(account, platform.clock),
            account,
            "Workshop",
            strategy=HuntStrategy.SEQUENTIAL,
            members=(bob.id, alice.id),
            extension="260",
            member_timeout_s=5,
        )
        uow.commit()
    await menu_on_number(platform, f"group:{group.id}")
    phones = {user: await phone_of(user, port) for user in ("bob", "alice")}
    try:
        await choose(caller, port, "1")
        first = await next_request(phones["bob"], "INVITE")  # bob first: the group's order
        assert nothing_came(phones["alice"])  # alice rings only after bob's member time
        mark = len(caller.rtp.received)
        respond(phones["bob"], port, first, 180)
        await wait_for_condition(
            lambda: hears(caller.rtp, RINGBACK_HZ, mark), 15, what="ringback while bob rings"
        )
        cancel = await next_request(phones["bob"], "CANCEL")  # his member time is over
        phones["bob"].sip.send(make_response(cancel, 200).to_bytes(), port)
        respond(phones["bob"], port, first, 487)
        second = await next_request(phones["alice"], "INVITE", timeout=15)  # then alice
        assert second.call_id != first.call_id  # a leg of its own: not rung with bob
        respond(phones["alice"], port, second, 200, sdp(phones["alice"].rtp.port, "9"))
        await talk(caller, port, phones["alice"], second, set())
        await hang_up(caller, port, phones["alice"])
    finally:
        for phone in phones.values():
            phone.close()
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
    rows = await cdrs(platform)
    assert [(r["direction"], r["disposition"]) for r in rows] == [("inbound", CONNECTED)]
    assert MENU_LEG not in {r["disposition"] for r in rows}  # members of the account: no leg of its own


@pytest.mark.rule("CFG-8")
async def test_dial_by_extension_takes_an_outside_caller_into_a_conference_room(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    platform, port, caller = outside
    await menu_on_number(platform, "dial_by_extension")
    await choose(caller, port, "1")
    for key in ROOM_EXTENSION + "#" + ROOM_PIN + "#":  # the room's extension, then its PIN
        await caller.rtp.send_digit(caller.engine_port, key)
    await wait_for_condition(lambda: participants(platform) == ["caller"], timeout=30, what="in the room")
    alice = await AppPhone.start("alice", PASSWORDS["alice"])
    try:
        assert (await alice.dial(port, ROOM_EXTENSION)).status == 200  # a phone of the account joins
        await alice.tone(300, 100)
        await wait_for_condition(lambda: rms(alice.rtp.audio()) > 300, timeout=15, what="the PIN prompt")
        await alice.digits(ROOM_PIN + "#")
        await wait_for_condition(lambda: len(participants(platform)) == 2, timeout=30, what="alice in")
        marks = len(caller.rtp.received), len(alice.rtp.received)
        await asyncio.gather(alice.tone(700, 2000), caller.rtp.send_tone(caller.engine_port, 1200, 2000))
        await wait_for_condition(lambda: hears(caller.rtp, 700, marks[0]), 10, what="alice at the caller")
        await wait_for_condition(lambda: hears(alice.rtp, 1200, marks[1]), 10, what="the caller at alice")
        await alice.hang_up(port)
    finally:
        alice.close()
    await caller.hang_up(port)
    await wait_for_condition(lambda: not participants(platform), timeout=10, what="the room empty")
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-2")
async def test_a_groups_fallback_to_an_external_number_is_a_call_of_the_groups_account(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """No member of the group can ring (bob's phone is not registered): the group's fallback, an
    external number, rings through the carrier as a call of the account (its own channel and CDR,
    the Diversion naming the group), and the caller talks with the far end."""
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        bob = uow.users.find_by(account_id=account, extension="212")
        assert bob is not None
        group = add_ring_group(
            uow,
            Context.operator(account, platform.clock),
            account,
            "Workshop",
            strategy=HuntStrategy.SEQUENTIAL,
            members=(bob.id,),
            extension="260",
            fallback=OUTSIDE_NUMBER,
        )
        uow.commit()
    await menu_on_number(platform, f"group:{group.id}")
    far = await Peer.start()
    try:
        await choose(caller, port, "1")
        seen: set[str] = set()
        invite = await request(caller, "INVITE", seen)  # the fallback, to the carrier
        assert invite.uri.user == OUTSIDE_NUMBER
        assert "reason=no-answer" in (invite.headers.get("diversion") or "")  # RFC 5806: the group
        assert in_use(platform) == 2  # CAP-3: the inbound call and the fallback's leg
        answer(caller, port, invite, sdp(far.port, "11"), tag="far")
        reinvite = await request(caller, "INVITE", seen)
        assert reinvite.call_id == caller.call_id
        answer(
            caller, port, reinvite, sdp(caller.rtp.port, "7"), tag=caller.ok.to_addr.tag if caller.ok else ""
        )
        assert (await request(caller, "ACK", seen)).call_id == caller.call_id
        marks = len(caller.rtp.received), len(far.received)
        await asyncio.gather(
            caller.rtp.send_tone(media_port(reinvite.body), 700, 1500),
            far.send_tone(media_port(invite.body), 1200, 1500),
        )
        await wait_for_condition(lambda: hears(far, 700, marks[1]), 10, what="the caller at the far end")
        await wait_for_condition(lambda: hears(caller.rtp, 1200, marks[0]), 10, what="the far end")
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
    assert (leg["account_id"], leg["callee"], leg["outcome"]) == (account, OUTSIDE_NUMBER, "answered")
    assert ";fwd-" in str(leg["call_id"])  # the group's forwarded leg, as for a call dialling it
    assert leg["billable_seconds"] >= 1


async def test_a_round_robin_group_chosen_in_a_menu_starts_after_the_member_rung_first_last_time(
    outside: tuple[Platform, int, OutsideCaller],
) -> None:
    """Two outside calls choose a round-robin group of bob and alice: the first rings bob first (the
    caller gives up while it rings: bob gets a CANCEL), the second alice first."""
    platform, port, caller = outside
    account = dupont(platform)
    with platform.uow() as uow:
        bob = uow.users.find_by(account_id=account, extension="212")
        alice = uow.users.find_by(account_id=account, extension="211")
        assert bob is not None
        assert alice is not None
        group = add_ring_group(
            uow,
            Context.operator(account, platform.clock),
            account,
            "Workshop",
            strategy=HuntStrategy.ROUND_ROBIN,
            members=(bob.id, alice.id),
            extension="260",
        )
        uow.commit()
    await menu_on_number(platform, f"group:{group.id}")
    phones = {user: await phone_of(user, port) for user in ("bob", "alice")}
    try:
        await choose(caller, port, "1")
        first = await next_request(phones["bob"], "INVITE")
        assert nothing_came(phones["alice"])
        respond(phones["bob"], port, first, 180)
        await caller.hang_up(port)  # gives up while bob rings
        cancel = await next_request(phones["bob"], "CANCEL")
        phones["bob"].sip.send(make_response(cancel, 200).to_bytes(), port)
        respond(phones["bob"], port, first, 487)
        assert (await next_request(phones["bob"], "ACK")).call_id == first.call_id  # the 487's
        await wait_for_condition(lambda: in_use(platform) == 0, what="the first call over")
        again = OutsideCaller(caller.sip, caller.rtp)
        await choose(again, port, "1")
        second = await next_request(phones["alice"], "INVITE")  # alice's turn to be first
        assert nothing_came(phones["bob"])
        respond(phones["alice"], port, second, 486)  # busy: bob next
        third = await next_request(phones["bob"], "INVITE")
        assert third.call_id not in (first.call_id, second.call_id)
        respond(phones["bob"], port, third, 486)
        await again.bye_from_server(port)  # nobody answered: goodbye, then the menu hangs up
    finally:
        for phone in phones.values():
            phone.close()
    await wait_for_condition(lambda: in_use(platform) == 0, what="released")
