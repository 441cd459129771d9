"""Responses written straight to bytes (issue #22) are the bytes of the message objects'
responses: ``response_bytes`` against ``make_response(...).to_bytes()``."""

from __future__ import annotations

import pytest

from nuage.sip.message import SipRequest, make_response, parse_message, response_bytes
from nuage.sip.transport import Address, stamp_received

REGISTER = (
    b"REGISTER sip:192.0.2.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n"
    b"From: <sip:alice@192.0.2.9>;tag=1928\r\n"
    b"To: <sip:alice@192.0.2.9>\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:alice@192.0.2.1:5070>\r\n"
    b"Expires: 300\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)
INVITE = (
    b"INVITE sip:bob@192.0.2.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKp1, SIP/2.0/TCP 192.0.2.6:5080;branch=z9hG4bKp2\r\n"
    b"v: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc\r\n"
    b"Record-Route: <sip:192.0.2.7;lr>\r\n"
    b"Record-Route: <sip:192.0.2.6;lr>, <sip:192.0.2.5;lr>\r\n"
    b'f: "Alice" <sip:alice@192.0.2.9>;tag=77\r\n'
    b"t: sip:bob@192.0.2.9\r\n"
    b"i: 1234@192.0.2.1\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\n"
)
SUBSCRIBE_IN_DIALOG = (
    b"SUBSCRIBE sip:bob@192.0.2.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKs1\r\n"
    b"Record-Route: <sip:192.0.2.7;lr>\r\n"
    b"From: <sip:alice@192.0.2.9>;tag=a\r\n"
    b"To: <sip:bob@192.0.2.9>;tag=b\r\n"
    b"Call-ID: s1\r\n"
    b"CSeq: 2 SUBSCRIBE\r\n"
    b"Event: message-summary\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def _requests() -> list[SipRequest]:
    out = []
    for data in (REGISTER, INVITE, SUBSCRIBE_IN_DIALOG):
        message = parse_message(data)
        assert isinstance(message, SipRequest)
        out.append(message)
    stamped = parse_message(REGISTER)
    assert isinstance(stamped, SipRequest)
    stamp_received(stamped, Address("UDP", "198.51.100.4", 40000))  # a Via rewritten in place
    out.append(stamped)
    built = SipRequest("OPTIONS", "sip:192.0.2.9")  # headers added one by one, none missing
    built.headers.add("via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKo")
    built.headers.add("call-id", "o1")
    out.append(built)
    return out


@pytest.mark.parametrize("status", [100, 180, 183, 200, 202, 401, 403, 423, 481, 486, 500, 603, 699])
@pytest.mark.parametrize("to_tag", [None, "t0"])
def test_the_same_bytes_as_the_response_objects(status: int, to_tag: str | None) -> None:
    extra = [
        ("www-authenticate", 'Digest realm="r", nonce="n", qop="auth"'),
        ("contact", "<sip:alice@192.0.2.1:5070>;expires=300"),
        ("content-length", "99"),  # never written from the extra headers: the real one is
        ("x-custom-thing", "1"),
    ]
    for request in _requests():
        for reason in (None, "Custom Reason"):
            for headers in ((), extra):
                expected = make_response(request, status, reason, to_tag=to_tag, headers=headers).to_bytes()
                assert response_bytes(request, status, reason, to_tag=to_tag, headers=headers) == expected
