"""Call pickup and forwarding (issue #15) with audio through the anchored media plane (the embedded
engine and rtpengine): alice calls bob, bob's phone rings; carol picks the call up with ``*8``, or
bob's no-answer forward rings carol; alice and carol hear each other's tone through Nuage's ports,
and bob's ringing phone gets a CANCEL."""

from __future__ import annotations

import asyncio

from media.conftest import Events
from media.peers import media_port, sdp
from media.test_anchoring import Phone, heard
from netports import free_port
from nuage.sip import SipServer
from nuage.sip.b2bua.media import AnchorSettings, MediaServices
from nuage.sip.digest import authorization_header
from nuage.sip.media import MediaPort
from nuage.sip.memory import MemoryCdrSink
from nuage.sip.message import SipResponse, make_response
from nuage.sip.ports import CallOutcome, SipAccount, UserDestination
from nuage.sip.routing import ForwardingRule, MemoryRouting, RoutedUser
from sip.harness import lab_server, make_lab_parts
from waiting import wait_for_condition

CAROL = SipAccount("dev-carol", "acc-1", "usr-carol", "carol", "carol-secret", "Carol")


async def dial(port: int, phone: Phone, user: str, password: str, dialled: str, offer: bytes) -> SipResponse:
    """``user``'s phone dials ``dialled`` (answering the digest challenge); the final response, ACKed."""
    uri, call_id, sip = f"sip:{dialled}@127.0.0.1:{port}", f"pickup-{user}", phone.sip
    sip.send(
        sip.request("INVITE", uri, user=user, to_user=dialled, call_id=call_id, body=offer.decode()), port
    )
    challenge = await sip.response()
    assert challenge.status == 407
    sip.send(
        sip.request("ACK", uri, user=user, to_user=dialled, call_id=call_id, to_tag=challenge.to_addr.tag),
        port,
    )
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username=user,
        password=password,
        method="INVITE",
        uri=uri,
    )
    headers = [("Proxy-Authorization", auth)]
    sip.send(
        sip.request(
            "INVITE",
            uri,
            user=user,
            to_user=dialled,
            call_id=call_id,
            cseq=2,
            headers=headers,
            body=offer.decode(),
        ),
        port,
    )
    final = await sip.response(timeout=30)
    while final.status < 200 or final.cseq.number != 2:  # a provisional, or the challenge again
        final = await sip.response(timeout=30)
    sip.send(
        sip.request(
            "ACK", uri, user=user, to_user=dialled, call_id=call_id, cseq=2, to_tag=final.to_addr.tag
        ),
        port,
    )
    return final


def _server(engine: tuple[MediaPort, Events], routing: MemoryRouting, cdrs: MemoryCdrSink) -> SipServer:
    credentials, dial_plan = make_lab_parts(free_port())
    credentials.add(CAROL)
    bob_route = UserDestination("usr-bob", "acc-1", ("dev-bob", "dev-bob-desk"))
    routing.users["usr-bob"] = RoutedUser("usr-bob", "acc-1", "Bob", None, bob_route)
    server = lab_server(credentials, dial_plan, cdrs, routing)
    server.media = MediaServices(engine[0], AnchorSettings(always=True), None, None)
    return server


async def _hear_each_other(alice: Phone, carol: Phone, to_alice_side: int, to_carol_side: int) -> None:
    assert {to_alice_side, to_carol_side}.isdisjoint({alice.rtp.port, carol.rtp.port})  # through Nuage
    await asyncio.gather(
        alice.rtp.send_tone(to_alice_side, 440, 1000), carol.rtp.send_tone(to_carol_side, 1000, 1000)
    )
    await wait_for_condition(
        lambda: len(alice.rtp.received) >= 40 and len(carol.rtp.received) >= 40, timeout=30, what="media"
    )
    assert heard(carol.rtp.audio(), 440)  # carol hears alice
    assert heard(alice.rtp.audio(), 1000)  # alice hears carol


async def test_a_call_forwarded_on_no_answer_carries_audio_both_ways(
    engine: tuple[MediaPort, Events],
) -> None:
    routing, cdrs = MemoryRouting(), MemoryCdrSink()
    routing.rules["usr-bob"] = ForwardingRule(no_answer="carol", no_answer_s=1.0)
    server = _server(engine, routing, cdrs)
    await server.start()
    port = server.bound_address("UDP").port
    alice, bob, carol = await Phone.start(), await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(port, "bob", "bob-secret") == 200
        assert await carol.sip.register(port, "carol", "carol-secret") == 200
        calling = asyncio.create_task(
            dial(port, alice, "alice", "alice-secret", "bob", sdp(alice.rtp.port, "1"))
        )
        invite = await bob.sip.incoming_request(timeout=30)
        ringing = make_response(invite, 180, to_tag="bobtag")
        ringing.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
        bob.sip.send(ringing.to_bytes(), port)
        cancel = await bob.sip.incoming_request(timeout=30)  # bob rang his second
        assert cancel.method == "CANCEL"
        bob.sip.send(make_response(cancel, 200).to_bytes(), port)
        bob.sip.send(make_response(invite, 487, to_tag="bobtag").to_bytes(), port)
        forwarded = await carol.sip.incoming_request(timeout=30)
        assert forwarded.method == "INVITE"
        assert "reason=no-answer" in (forwarded.headers.get("diversion") or "")
        answer = make_response(forwarded, 200, to_tag="caroltag", body=sdp(carol.rtp.port, "3"))
        answer.headers.add("contact", f"<sip:carol@127.0.0.1:{carol.sip.port}>")
        answer.headers.add("content-type", "application/sdp")
        carol.sip.send(answer.to_bytes(), port)
        answered = await calling
        assert answered.status == 200
        await _hear_each_other(alice, carol, media_port(answered.body), media_port(forwarded.body))
    finally:
        await server.stop(grace_s=0.5)
        for phone in (alice, bob, carol):
            phone.close()


async def test_a_picked_up_call_carries_audio_both_ways(engine: tuple[MediaPort, Events]) -> None:
    cdrs = MemoryCdrSink()
    server = _server(engine, MemoryRouting(), cdrs)
    await server.start()
    port = server.bound_address("UDP").port
    alice, bob, carol = await Phone.start(), await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(port, "bob", "bob-secret") == 200
        assert await carol.sip.register(port, "carol", "carol-secret") == 200
        calling = asyncio.create_task(
            dial(port, alice, "alice", "alice-secret", "bob", sdp(alice.rtp.port, "1"))
        )
        invite = await bob.sip.incoming_request(timeout=30)
        ringing = make_response(invite, 180, to_tag="bobtag")
        ringing.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
        bob.sip.send(ringing.to_bytes(), port)
        await wait_for_condition(
            lambda: server.calls() and server.calls()[0].state == "routing", what="ringing"
        )
        picked = await dial(port, carol, "carol", "carol-secret", "*8", sdp(carol.rtp.port, "3"))
        answered = await calling
        assert (picked.status, answered.status) == (200, 200)
        cancel = await bob.sip.incoming_request(timeout=30)
        assert cancel.method == "CANCEL"  # the phone that rang stops
        bob.sip.send(make_response(cancel, 200).to_bytes(), port)
        bob.sip.send(make_response(invite, 487, to_tag="bobtag").to_bytes(), port)
        await _hear_each_other(alice, carol, media_port(answered.body), media_port(picked.body))
    finally:
        await server.stop(grace_s=0.5)
        for phone in (alice, bob, carol):
            phone.close()
    await wait_for_condition(lambda: len(cdrs.records) == 1, timeout=30, what="the call's one CDR")
    assert cdrs.records[0].outcome is CallOutcome.ANSWERED
