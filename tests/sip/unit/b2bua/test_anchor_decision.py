"""When the B2BUA anchors a call's media: the operator's setting, or a caller behind NAT (issue #15)."""

from __future__ import annotations

import pytest

from nuage.sip.b2bua.media import AnchorSettings, holds, needs_anchor
from nuage.sip.message import SipRequest, parse_message


def _invite(c_address: str | None) -> SipRequest:
    body = (
        ""
        if c_address is None
        else f"v=0\r\no=- 1 1 IN IP4 {c_address}\r\ns=-\r\nc=IN IP4 {c_address}\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n"
    )
    raw = (
        "INVITE sip:bob@nuage.local SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bKx\r\n"
        "From: <sip:alice@nuage.local>;tag=a\r\nTo: <sip:bob@nuage.local>\r\n"
        "Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    message = parse_message(raw.encode())
    assert isinstance(message, SipRequest)
    return message


@pytest.mark.parametrize(
    ("c_address", "source", "anchored"),
    [
        ("192.168.1.20", "203.0.113.7", True),  # a phone behind NAT names its private address
        ("10.0.0.5", "198.51.100.9", True),
        ("203.0.113.7", "203.0.113.7", False),  # it names where its packets come from
        ("81.246.0.10", "203.0.113.7", False),  # a carrier's public media gateway is reachable
        ("0.0.0.0", "203.0.113.7", False),  # RFC 2543 hold, not NAT
        (None, "203.0.113.7", False),  # a delayed offer passes untouched
    ],
)
def test_a_caller_behind_nat_is_anchored(c_address: str | None, source: str, anchored: bool) -> None:
    assert needs_anchor(AnchorSettings(), _invite(c_address), source) is anchored


def test_always_anchor_anchors_every_call_with_an_offer() -> None:
    settings = AnchorSettings(always=True)
    assert needs_anchor(settings, _invite("203.0.113.7"), "203.0.113.7")
    assert not needs_anchor(settings, _invite(None), "203.0.113.7")
    assert not needs_anchor(AnchorSettings(nat=False), _invite("192.168.1.20"), "203.0.113.7")
    srtp = _invite("203.0.113.7")
    srtp.body = srtp.body.replace(b"RTP/AVP", b"RTP/SAVP")
    assert not needs_anchor(settings, srtp, "203.0.113.7")  # SRTP stays end to end


def test_hold_is_sendonly_inactive_or_the_null_address() -> None:
    offer = _invite("203.0.113.7").body
    assert not holds(offer)
    assert holds(offer.replace(b"a=sendrecv", b"a=sendonly"))
    assert holds(offer.replace(b"a=sendrecv", b"a=inactive"))
    assert holds(offer.replace(b"c=IN IP4 203.0.113.7", b"c=IN IP4 0.0.0.0"))
    assert not holds(offer.replace(b"a=sendrecv", b"a=recvonly"))
