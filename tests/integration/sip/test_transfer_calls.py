"""Call transfer on the wired demo platform (issue #15): real storage (SQLite and PostgreSQL), the
terms' call policy, the SQL dial plan; hand-driven phones over loopback.

The carrier delivers a call to Bob's number; Bob transfers it blind to Alice's extension. The
records in the database: the inbound call until the caller hangs up (``transferred``), and the
leg to Alice, a call of their account. A target of another customer is refused citing TEN-4.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from integration.sip.test_demo_calls import cdr_rows, demo_sip
from media.peers import Peer, sdp
from media.wire import Wire, wires
from nuage.bootstrap import Platform
from nuage.sip.b2bua.bridge import TRANSFERRED
from nuage.sip.b2bua.transfer_leg import TRANSFER_LEG
from nuage.sip.message import SipRequest
from sip.harness import RawUdpPhone

__all__ = ["demo_sip"]  # the fixture, used here


@pytest.fixture
async def carrier(demo_sip: tuple[Platform, int, int]) -> AsyncIterator[Wire]:
    """The carrier's gateway: a phone signalling from the carrier trunk's address."""
    _, sip_port, carrier_port = demo_sip
    raw = RawUdpPhone()
    raw.sock.close()
    raw.port = carrier_port
    raw.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sock.bind(("127.0.0.1", carrier_port))
    raw.sock.setblocking(False)
    gateway = Wire(raw, await Peer.start(), "+3211111111")
    gateway._server = sip_port
    yield gateway
    gateway.close()


async def inbound_call_answered_by_bob(sip_port: int, gateway: Wire, bob: Wire) -> tuple[SipRequest, str]:
    """The carrier calls Bob's number; Bob answers. (Bob's INVITE, the carrier's To tag.)"""
    uri = f"sip:+3223000101@127.0.0.1:{sip_port}"
    offer = sdp(gateway.rtp.port, "1").decode()
    invite = gateway.sip.request(
        "INVITE", uri, user="+3211111111", to_user="+3223000101", call_id="xfer-demo", body=offer,
        headers=[("Content-Type", "application/sdp")],
    )  # fmt: skip
    gateway.sip.send(invite, sip_port)
    incoming = await bob.request("INVITE")
    bob.answer(incoming, tag="bobtag", body=sdp(bob.rtp.port, "2"))
    ok = await gateway.response("INVITE", 200)
    ack = gateway.sip.request(
        "ACK", uri, user="+3211111111", to_user="+3223000101", call_id="xfer-demo", to_tag=ok.to_addr.tag
    )
    gateway.sip.send(ack, sip_port)
    await bob.request("ACK")
    return incoming, ok.to_addr.tag or ""


def refer(bob: Wire, incoming: SipRequest, refer_to: str, sip_port: int, cseq: int) -> None:
    contact = incoming.headers.get("contact") or ""
    lines = [
        f"REFER {contact[contact.index('<') + 1 : contact.index('>')]} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{bob.sip.port};branch=z9hG4bKrefer{cseq};rport",
        "Max-Forwards: 70",
        f"From: {incoming.headers.get('to')};tag=bobtag",
        f"To: {incoming.headers.get('from')}",
        f"Call-ID: {incoming.call_id}",
        f"CSeq: {cseq} REFER",
        f"Contact: <sip:bob@127.0.0.1:{bob.sip.port}>",
        f"Refer-To: {refer_to}",
        "Content-Length: 0",
        "",
        "",
    ]
    bob.sip.send("\r\n".join(lines), sip_port)


@pytest.mark.rule("TEN-4")
async def test_bob_transfers_an_inbound_call_to_alice_and_the_records_say_who_pays(
    demo_sip: tuple[Platform, int, int], carrier: Wire
) -> None:
    platform, sip_port, _ = demo_sip
    async with wires(sip_port, ("bob", "Bob-Demo-2026!"), ("alice", "Alice-Demo-2026"), unregistered=()) as (
        bob,
        alice,
    ):
        incoming, tag = await inbound_call_answered_by_bob(sip_port, carrier, bob)
        refer(bob, incoming, "<sip:+3293000200@nuage.local>", sip_port, 1)  # Jan, another customer's number
        refused = await bob.response("REFER", 403)
        assert "TEN-4" in (refused.headers.get("warning") or "")

        refer(bob, incoming, "<sip:211@nuage.local>", sip_port, 2)  # Alice's extension, the same account
        await bob.response("REFER", 202)
        ringing = await alice.request("INVITE")
        assert ringing.body == b""
        alice.answer(ringing, tag="alicetag", body=sdp(alice.rtp.port, "3"))
        reinvite = await carrier.request("INVITE")
        assert reinvite.body == sdp(alice.rtp.port, "3")  # not anchored here: Alice's own media
        carrier.answer(reinvite, body=sdp(carrier.rtp.port, "1"))
        assert (await alice.request("ACK")).body == sdp(carrier.rtp.port, "1")
        bob.answer(await bob.request("BYE"))

        bye = carrier.sip.request(
            "BYE", f"sip:+3223000101@127.0.0.1:{sip_port}", user="+3211111111", to_user="+3223000101",
            call_id="xfer-demo", cseq=2, to_tag=tag,
        )  # fmt: skip
        carrier.sip.send(bye, sip_port)
        alice.answer(await alice.request("BYE"))
        assert platform.sip is not None
        await platform.sip.server.cdr_writer.flush()
        rows = cdr_rows(platform)
    with platform.uow() as uow:
        alice_device = uow.devices.find_by(sip_username="alice")
    assert alice_device is not None
    by_disposition = {row["disposition"]: row for row in rows}
    assert len(rows) == 2  # the transfer refused citing TEN-4 placed nothing: no record
    inbound, leg = by_disposition[TRANSFERRED], by_disposition[TRANSFER_LEG]
    assert (inbound["direction"], inbound["callee"], inbound["outcome"]) == (
        "inbound",
        "+3223000101",
        "answered",
    )
    assert (leg["direction"], leg["callee"], leg["outcome"]) == ("internal", "211", "answered")
    assert leg["account_id"] == inbound["account_id"] == alice_device.account_id
