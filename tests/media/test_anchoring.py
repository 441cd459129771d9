"""The B2BUA anchors calls through the media port: two phones over loopback hear each other's tone
through Nuage's ports (both engines), re-INVITEs are rewritten too, engine errors are answered with
a status and a Warning, and a call that is not anchored keeps its SDP untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from media.conftest import Events
from media.peers import Peer, dominant_hz, media_port, rms, sdp
from netports import free_port
from nuage.media.player import HOLD_NOTES_HZ, write_hold_music
from nuage.sip import SipServer
from nuage.sip.b2bua.media import AnchorSettings, MediaServices
from nuage.sip.digest import authorization_header
from nuage.sip.media import CallRecordings, MediaError, MediaPort
from nuage.sip.memory import MemoryCdrSink
from nuage.sip.message import SipRequest, SipResponse, make_response
from nuage.sip.ports import MEDIA_TIMEOUT, CallOutcome
from sip.harness import RawUdpPhone, lab_server, make_lab_parts
from waiting import wait_for_condition

URI = "sip:bob@127.0.0.1:{port}"


@dataclass
class Pbx:
    server: SipServer
    cdrs: MemoryCdrSink
    media: MediaPort
    always: bool

    @property
    def port(self) -> int:
        return self.server.bound_address("UDP").port


async def _pbx(
    media: MediaPort,
    anchor: AnchorSettings,
    recordings: CallRecordings | None = None,
    music: Path | None = None,
) -> Pbx:
    credentials, dial_plan = make_lab_parts(free_port())
    cdrs = MemoryCdrSink()
    server = lab_server(credentials, dial_plan, cdrs)
    server.media = MediaServices(media, anchor, recordings, music)
    await server.start()
    return Pbx(server, cdrs, media, anchor.always)


@pytest.fixture(params=[True, False], ids=["always", "nat-only"])
async def pbx(
    request: pytest.FixtureRequest, engine: tuple[MediaPort, Events], tmp_path: Path
) -> AsyncIterator[Pbx]:
    music = write_hold_music(tmp_path / "hold-music.wav")
    pbx = await _pbx(engine[0], AnchorSettings(always=request.param), music=music)
    yield pbx
    await pbx.server.stop(grace_s=0.5)


class Phone:
    """A SIP phone (hand-driven signalling) with its RTP peer."""

    def __init__(self, sip: RawUdpPhone, rtp: Peer) -> None:
        self.sip, self.rtp = sip, rtp

    @classmethod
    async def start(cls) -> Phone:
        return cls(RawUdpPhone(), await Peer.start())

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()


def _body(message: SipRequest | SipResponse) -> str:
    return message.body.decode()


async def call(
    port: int, alice: Phone, bob: Phone, offer: bytes, *, password: str = "alice-secret", dialled: str = "bob"
) -> tuple[SipRequest, SipResponse]:
    """alice calls bob with ``offer``; bob answers with his SDP; return bob's INVITE and alice's 200."""
    uri = f"sip:{dialled}@127.0.0.1:{port}"
    phone = alice.sip
    phone.send(phone.request("INVITE", uri, to_user=dialled, call_id="anchor-1", body=offer.decode()), port)
    challenge = await phone.response()
    assert challenge.status == 407
    phone.send(
        phone.request("ACK", uri, to_user=dialled, call_id="anchor-1", to_tag=challenge.to_addr.tag), port
    )
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username="alice",
        password=password,
        method="INVITE",
        uri=uri,
    )
    phone.send(
        phone.request(
            "INVITE",
            uri,
            to_user=dialled,
            call_id="anchor-1",
            cseq=2,
            headers=[("Proxy-Authorization", auth)],
            body=offer.decode(),
        ),
        port,
    )
    invite = await bob.sip.incoming_request()
    assert invite.method == "INVITE"
    answer = make_response(invite, 200, to_tag="bobtag", body=sdp(bob.rtp.port, "2"))
    answer.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
    answer.headers.add("content-type", "application/sdp")
    bob.sip.send(answer.to_bytes(), port)
    ok = await phone.response()
    assert ok.status == 200, ok
    phone.send(
        phone.request("ACK", uri, to_user=dialled, call_id="anchor-1", cseq=2, to_tag=ok.to_addr.tag), port
    )
    assert (await bob.sip.incoming_request()).method == "ACK"
    return invite, ok


def heard(pcm: np.ndarray, hz: float) -> bool:
    """Whether ``pcm`` is a clear tone at ``hz``."""
    return len(pcm) >= 1600 and rms(pcm) > 1000 and abs(dominant_hz(pcm) - hz) < 15


@pytest.fixture
async def phones(pbx: Pbx) -> AsyncIterator[tuple[Phone, Phone]]:
    alice, bob = await Phone.start(), await Phone.start()
    assert await bob.sip.register(pbx.port, "bob", "bob-secret") == 200
    yield alice, bob
    alice.close()
    bob.close()


def _natted_offer(port: int) -> bytes:
    """A phone behind NAT: its SDP names its private address, its packets come from 127.0.0.1."""
    return sdp(port, "1").replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 192.168.1.20")


async def test_each_phone_hears_the_others_tone_through_nuages_ports(
    pbx: Pbx, phones: tuple[Phone, Phone]
) -> None:
    alice, bob = phones
    always = pbx.always
    offer = sdp(alice.rtp.port, "1") if always else _natted_offer(alice.rtp.port)
    invite, ok = await call(pbx.port, alice, bob, offer)
    # the SDP each phone got points to Nuage's media ports, never to the other phone
    to_engine_from_bob, to_engine_from_alice = media_port(invite.body), media_port(ok.body)
    assert to_engine_from_bob not in (alice.rtp.port, bob.rtp.port)
    assert to_engine_from_alice not in (alice.rtp.port, bob.rtp.port, to_engine_from_bob)
    assert "c=IN IP4 127.0.0.1" in _body(invite)
    assert "c=IN IP4 127.0.0.1" in _body(ok)
    await asyncio.gather(
        alice.rtp.send_tone(to_engine_from_alice, 440, 1000),
        bob.rtp.send_tone(to_engine_from_bob, 1000, 1000),
    )
    await wait_for_condition(
        lambda: len(alice.rtp.received) >= 40 and len(bob.rtp.received) >= 40, timeout=30, what="media"
    )
    assert heard(bob.rtp.audio(), 440)  # bob hears alice
    assert heard(alice.rtp.audio(), 1000)  # alice hears bob

    # alice hangs up: the call's media session is released, the CDR written once
    uri = URI.format(port=pbx.port)
    alice.sip.send(
        alice.sip.request("BYE", uri, to_user="bob", call_id="anchor-1", cseq=3, to_tag=ok.to_addr.tag),
        pbx.port,
    )
    bye = await bob.sip.incoming_request()
    assert bye.method == "BYE"
    bob.sip.send(make_response(bye, 200).to_bytes(), pbx.port)
    await wait_for_condition(lambda: len(pbx.cdrs.records) == 1, timeout=30, what="the CDR")
    (cdr,) = pbx.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    # the engine's figures at release: nothing lost on loopback, a good MOS
    assert cdr.loss_percent == 0
    assert cdr.jitter_ms is not None
    assert cdr.mos is not None
    assert cdr.mos > 4
    with pytest.raises(MediaError):
        await pbx.media.quality("anchor-1")


async def test_a_reinvite_is_rewritten_both_ways_and_media_follows(
    pbx: Pbx, phones: tuple[Phone, Phone]
) -> None:
    alice, bob = phones
    always = pbx.always
    offer = sdp(alice.rtp.port, "1") if always else _natted_offer(alice.rtp.port)
    invite, ok = await call(pbx.port, alice, bob, offer)
    # bob moves his media to a new port with a re-INVITE; alice's answer is rewritten too
    moved = await Peer.start()
    try:
        bob.sip.send(_in_dialog(bob, invite, "INVITE", 10, sdp(moved.port, "3")), pbx.port)
        relayed = await alice.sip.incoming_request()
        assert relayed.method == "INVITE"
        assert media_port(relayed.body) not in (moved.port, bob.rtp.port)
        answer = make_response(relayed, 200, body=sdp(alice.rtp.port, "1"))
        answer.headers.add("contact", f"<sip:alice@127.0.0.1:{alice.sip.port}>")
        answer.headers.add("content-type", "application/sdp")
        alice.sip.send(answer.to_bytes(), pbx.port)
        ok2 = await bob.sip.response()
        assert ok2.status == 200
        bob.sip.send(_in_dialog(bob, invite, "ACK", 10), pbx.port)
        to_engine_from_bob = media_port(ok2.body)
        assert to_engine_from_bob not in (alice.rtp.port, moved.port)
        await asyncio.gather(
            alice.rtp.send_tone(media_port(ok.body), 600, 1000),
            moved.send_tone(to_engine_from_bob, 1400, 1000),
        )
        await wait_for_condition(
            lambda: len(moved.received) >= 40 and len(alice.rtp.received) >= 40, timeout=30, what="media"
        )
        assert heard(moved.audio(), 600)  # bob's new port hears alice
        assert heard(alice.rtp.audio(), 1400)  # alice hears bob from his new port
    finally:
        moved.close()


def _in_dialog(phone: Phone, invite: SipRequest, method: str, cseq: int, body: bytes = b"") -> bytes:
    """A request from the callee in the dialog ``invite`` (Nuage's INVITE to it) set up."""
    contact = invite.headers.get("contact") or ""
    target = contact[contact.index("<") + 1 : contact.index(">")]
    lines = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{phone.sip.port};branch=z9hG4bK{method.lower()}{cseq};rport",
        "Max-Forwards: 70",
        f"From: {invite.headers.get('to')};tag=bobtag",
        f"To: {invite.headers.get('from')}",
        f"Call-ID: {invite.call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:bob@127.0.0.1:{phone.sip.port}>",
        *(["Content-Type: application/sdp"] if body else []),
        f"Content-Length: {len(body)}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode() + body


async def _invite(pbx: Pbx, alice: Phone, offer: bytes) -> SipResponse:
    """alice's authenticated INVITE to bob with ``offer``; return the first non-100 answer to it."""
    uri = URI.format(port=pbx.port)
    phone = alice.sip
    phone.send(phone.request("INVITE", uri, to_user="bob", call_id="anchor-2", body=offer.decode()), pbx.port)
    challenge = await phone.response()
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username="alice",
        password="alice-secret",
        method="INVITE",
        uri=uri,
    )
    headers = [("Proxy-Authorization", auth)]
    invite = phone.request(
        "INVITE", uri, to_user="bob", call_id="anchor-2", cseq=2, headers=headers, body=offer.decode()
    )
    phone.send(invite, pbx.port)
    return await phone.response()


async def test_an_offer_without_a_carried_codec_gets_488_with_a_warning(
    pbx: Pbx, phones: tuple[Phone, Phone]
) -> None:
    alice, _ = phones
    offer = sdp(alice.rtp.port, "1", formats="18")  # G.729 only
    if not pbx.always:
        offer = offer.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 192.168.1.20")
    refused = await _invite(pbx, alice, offer)
    assert refused.status == 488
    assert (refused.headers.get("warning") or "").startswith("305 ")
    await wait_for_condition(lambda: len(pbx.cdrs.records) == 1, timeout=30, what="the CDR")
    assert pbx.cdrs.records[0].sip_status == 488


async def test_a_call_nothing_needs_anchored_keeps_its_sdp(engine: tuple[MediaPort, Events]) -> None:
    pbx = await _pbx(engine[0], AnchorSettings(always=False))
    alice, bob = await Phone.start(), await Phone.start()
    try:
        assert await bob.sip.register(pbx.port, "bob", "bob-secret") == 200
        offer = sdp(alice.rtp.port, "1")
        invite, ok = await call(pbx.port, alice, bob, offer)
        assert invite.body == offer
        assert ok.body == sdp(bob.rtp.port, "2")
    finally:
        alice.close()
        bob.close()
        await pbx.server.stop(grace_s=0.5)


def music_on_hold(pcm: np.ndarray) -> bool:
    """Whether ``pcm`` is the default music on hold: loud enough, its energy at the melody's notes,
    each of them heard."""
    if len(pcm) < 4000 or rms(pcm) < 500:
        return False
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm)))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / 8000)
    bands = [np.abs(freqs - hz) < 20 for hz in sorted(set(HOLD_NOTES_HZ))]
    shares = [spectrum[band].sum() / spectrum.sum() for band in bands]
    return sum(shares) > 0.8 and min(shares) > 0.1


async def _reinvite(pbx: Pbx, alice: Phone, bob: Phone, ok: SipResponse, cseq: int, direction: bytes) -> None:
    """alice sends a re-INVITE with ``direction``; bob answers with its RFC 3264 counterpart."""
    contact = ok.headers.get("contact") or ""
    uri = contact[contact.index("<") + 1 : contact.index(">")]
    offer = sdp(alice.rtp.port, "1").replace(b"a=sendrecv", direction)
    alice.sip.send(
        alice.sip.request(
            "INVITE",
            uri,
            to_user="bob",
            call_id="anchor-1",
            cseq=cseq,
            to_tag=ok.to_addr.tag,
            body=offer.decode(),
        ),
        pbx.port,
    )
    relayed = await bob.sip.incoming_request()
    assert relayed.method == "INVITE"
    assert direction in relayed.body
    counterpart = {b"a=sendonly": b"a=recvonly", b"a=sendrecv": b"a=sendrecv"}[direction]
    answer = make_response(relayed, 200, body=sdp(bob.rtp.port, "2").replace(b"a=sendrecv", counterpart))
    answer.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
    answer.headers.add("content-type", "application/sdp")
    bob.sip.send(answer.to_bytes(), pbx.port)
    accepted = await alice.sip.response()
    while accepted.cseq.number != cseq:  # a late retransmission of the first INVITE's 407
        accepted = await alice.sip.response()
    assert accepted.status == 200
    alice.sip.send(
        alice.sip.request("ACK", uri, to_user="bob", call_id="anchor-1", cseq=cseq, to_tag=ok.to_addr.tag),
        pbx.port,
    )
    acked = await bob.sip.incoming_request()
    while acked.method == "INVITE" and acked.cseq.number == relayed.cseq.number:
        acked = await bob.sip.incoming_request()  # the re-INVITE sent again (T1) before bob's 200 arrived
    assert acked.method == "ACK"


async def test_the_held_party_hears_music_and_resuming_restores_the_call(
    pbx: Pbx, phones: tuple[Phone, Phone]
) -> None:
    alice, bob = phones
    offer = sdp(alice.rtp.port, "1") if pbx.always else _natted_offer(alice.rtp.port)
    _, ok = await call(pbx.port, alice, bob, offer)

    await _reinvite(pbx, alice, bob, ok, 4, b"a=sendonly")  # alice holds bob
    bob.rtp.received.clear()
    # the music follows alice's last packets (still on their way, or late on a loaded machine): the
    # last 1.4 s bob received become the music
    await wait_for_condition(
        lambda: len(bob.rtp.received) >= 75 and music_on_hold(bob.rtp.audio()[-11200:]),
        timeout=30,
        what="music on hold",
    )

    await _reinvite(pbx, alice, bob, ok, 5, b"a=sendrecv")  # and takes the call back
    bob.rtp.received.clear()
    await alice.rtp.send_tone(media_port(ok.body), 440, 1000)
    await wait_for_condition(lambda: len(bob.rtp.received) >= 40, timeout=30, what="alice's voice")
    assert heard(bob.rtp.audio(), 440)


async def test_early_media_reaches_the_caller_through_nuage(pbx: Pbx, phones: tuple[Phone, Phone]) -> None:
    alice, bob = phones
    offer = sdp(alice.rtp.port, "1") if pbx.always else _natted_offer(alice.rtp.port)
    uri = URI.format(port=pbx.port)
    phone = alice.sip
    phone.send(phone.request("INVITE", uri, to_user="bob", call_id="anchor-3", body=offer.decode()), pbx.port)
    challenge = await phone.response()
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username="alice",
        password="alice-secret",
        method="INVITE",
        uri=uri,
    )
    headers = [("Proxy-Authorization", auth)]
    phone.send(
        phone.request(
            "INVITE", uri, to_user="bob", call_id="anchor-3", cseq=2, headers=headers, body=offer.decode()
        ),
        pbx.port,
    )
    invite = await bob.sip.incoming_request()
    progress = make_response(invite, 183, to_tag="bobtag", body=sdp(bob.rtp.port, "2"))
    progress.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.sip.port}>")
    progress.headers.add("content-type", "application/sdp")
    bob.sip.send(progress.to_bytes(), pbx.port)
    early = await phone.response()
    while early.status != 183:  # a late retransmission of the first INVITE's 407
        early = await phone.response()
    to_engine_from_alice = media_port(early.body)
    assert to_engine_from_alice not in (alice.rtp.port, bob.rtp.port)
    await alice.rtp.send_tone(to_engine_from_alice, 440, 100)  # a phone sends as it gets the SDP (NAT latch)
    # the carrier's ringback or announcement, before any answer
    await bob.rtp.send_tone(media_port(invite.body), 425, 1000)
    await wait_for_condition(lambda: len(alice.rtp.received) >= 40, timeout=30, what="early media")
    assert heard(alice.rtp.audio(), 425)
    assert not pbx.cdrs.records


async def test_a_digit_crosses_nuage_as_a_telephone_event(pbx: Pbx, phones: tuple[Phone, Phone]) -> None:
    alice, bob = phones
    offer = sdp(alice.rtp.port, "1") if pbx.always else _natted_offer(alice.rtp.port)
    _, ok = await call(pbx.port, alice, bob, offer)
    await alice.rtp.send_tone(media_port(ok.body), 440, 100)  # latched
    await alice.rtp.send_digit(media_port(ok.body), "7")
    await wait_for_condition(
        lambda: any(p.payload_type == 101 for p in bob.rtp.received), timeout=30, what="the digit"
    )
    events = [p.payload for p in bob.rtp.received if p.payload_type == 101]
    assert {payload[0] for payload in events} == {7}  # RFC 4733: the event code of digit 7


async def test_a_call_whose_media_stops_is_hung_up_and_its_cdr_says_why(
    pbx: Pbx, phones: tuple[Phone, Phone]
) -> None:
    alice, bob = phones
    offer = sdp(alice.rtp.port, "1") if pbx.always else _natted_offer(alice.rtp.port)
    invite, ok = await call(pbx.port, alice, bob, offer)
    await asyncio.gather(
        alice.rtp.send_tone(media_port(ok.body), 440, 400),
        bob.rtp.send_tone(media_port(invite.body), 1000, 400),
    )
    # both phones go silent (a phone that crashed, a network that dropped): after the engine's
    # timeout (1.5 s here) Nuage hangs up both sides
    byes = await asyncio.gather(alice.sip.incoming_request(timeout=30), bob.sip.incoming_request(timeout=30))
    assert [bye.method for bye in byes] == ["BYE", "BYE"]
    for phone, bye in zip((alice, bob), byes, strict=True):
        phone.sip.send(make_response(bye, 200).to_bytes(), pbx.port)
    await wait_for_condition(lambda: len(pbx.cdrs.records) == 1, timeout=30, what="the CDR")
    (cdr,) = pbx.cdrs.records
    assert (cdr.outcome, cdr.disposition) == (CallOutcome.ANSWERED, MEDIA_TIMEOUT)
