"""Parser and serializer of SIP messages (RFC 3261 §7, §18.3, §20, §25)."""

from __future__ import annotations

import pytest

from nuage.sip.message import NameAddr, SipParseError, SipRequest, SipResponse, SipUri, Via, parse_message
from nuage.sip.message.auth import parse_auth
from nuage.sip.message.headers import split_list
from nuage.sip.message.parser import StreamFramer

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928\r\n'
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.1:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def test_request_core_headers_are_parsed() -> None:
    message = parse_message(INVITE)
    assert isinstance(message, SipRequest)
    assert message.method == "INVITE"
    assert message.uri.user == "bob"
    assert message.call_id == "a84b4c76e66710"
    assert message.cseq.number == 314159
    assert message.from_addr.tag == "1928"
    assert message.from_addr.display == "Alice"
    assert message.to_addr.tag is None
    assert message.top_via.branch == "z9hG4bKabc"
    assert message.top_via.param("rport") == ""
    assert message.body == b"v=0\n"


def test_serialised_message_parses_back_to_the_same_headers() -> None:
    message = parse_message(INVITE)
    again = parse_message(message.to_bytes())
    assert list(again.headers) == list(message.headers)
    assert again.body == message.body


def test_compact_forms_case_and_folding_are_accepted() -> None:
    data = (
        b"OPTIONS sip:x@example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\n"
        b"f: <sip:a@example.com>;tag=a\r\n"
        b"t: sip:x@example.com\r\n"
        b"i: cid\r\n"
        b"cseq: 1 OPTIONS\r\n"
        b"SUBJECT: first\r\n"
        b"\t second\r\n"
        b"l: 0\r\n\r\n"
    )
    message = parse_message(data)
    assert message.headers.get("subject") == "first second"
    assert message.call_id == "cid"
    assert message.to_addr.uri.host == "example.com"
    assert b"Call-ID: cid\r\n" in message.to_bytes()


def test_bare_lf_line_ends_and_leading_blank_lines_are_accepted() -> None:
    data = INVITE.replace(b"\r\n", b"\n")
    message = parse_message(b"\r\n\r\n" + data)
    assert message.call_id == "a84b4c76e66710"


def test_several_vias_on_one_line_and_on_several_lines() -> None:
    data = INVITE.replace(
        b"Max-Forwards: 70\r\n",
        b'Via: SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bK2, SIP/2.0/UDP h;branch=z9hG4bK3;x="a,b"\r\n'
        b"Max-Forwards: 70\r\n",
    )
    vias = parse_message(data).vias
    assert [v.branch for v in vias] == ["z9hG4bKabc", "z9hG4bK2", "z9hG4bK3"]
    assert vias[1].host == "2001:db8::1"
    assert vias[1].port == 5080
    assert vias[1].transport == "TCP"
    assert vias[2].param("x") == "a,b"


def test_content_length_larger_than_datagram_body_is_refused_with_a_reason() -> None:
    data = INVITE.replace(b"Content-Length: 4", b"Content-Length: 40")
    with pytest.raises(SipParseError, match="Content-Length") as info:
        parse_message(data)
    assert isinstance(info.value.partial, SipRequest)  # enough to answer with a 400


def test_body_beyond_content_length_is_cut() -> None:
    data = INVITE.replace(b"Content-Length: 4", b"Content-Length: 2")
    assert parse_message(data).body == b"v="


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE", "CSeq method"),
        (b"CSeq: 314159 INVITE", b"CSeq: abc INVITE", "CSeq"),
        (b"Call-ID: a84b4c76e66710\r\n", b"", "missing Call-ID"),
        (b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia", "Version"),
        (b"Max-Forwards: 70", b"Max-Forwards: x", "Max-Forwards"),
        (b"Via: SIP/2.0/UDP 192.0.2.1:5070", b"Via: SIP/2.0/UDP 192.0.2.1:99999", "port"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(old: bytes, new: bytes, reason: str) -> None:
    with pytest.raises(SipParseError, match=reason):
        parse_message(INVITE.replace(old, new))


def test_response_status_line() -> None:
    data = (
        b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
        b"To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    message = parse_message(data)
    assert isinstance(message, SipResponse)
    assert (message.status, message.reason) == (486, "Busy Here")
    assert message.to_addr.tag == "2"


def test_uri_with_escapes_params_headers_and_ipv6() -> None:
    uri = SipUri.parse("sip:%61lice:pw@[2001:DB8::10]:5070;transport=tcp;lr?Subject=hi%20there")
    assert uri.user == "alice"
    assert uri.password == "pw"
    assert uri.host == "2001:db8::10"
    assert uri.port == 5070
    assert uri.transport == "TCP"
    assert uri.param("lr") == ""
    assert uri.headers == (("Subject", "hi there"),)
    assert SipUri.parse(str(uri)) == uri


def test_tel_uri_and_unknown_scheme() -> None:
    assert SipUri.parse("tel:+3222001122;phone-context=x").user == "+3222001122"
    with pytest.raises(SipParseError):
        SipUri.parse("http://example.com")


def test_name_addr_forms() -> None:
    quoted = NameAddr.parse('"A \\"quoted\\" name" <sip:a@h;lr>;tag=x;expires=30')
    assert quoted.display == 'A "quoted" name'
    assert quoted.uri.param("lr") == ""
    assert quoted.tag == "x"
    assert quoted.param("expires") == "30"
    bare = NameAddr.parse("sip:a@h;tag=y")
    assert bare.tag == "y"
    assert bare.uri.params == ()
    token = NameAddr.parse("Bob <sip:b@h>")
    assert token.display == "Bob"
    assert NameAddr.parse("*").wildcard


def test_split_list_respects_quotes_and_brackets() -> None:
    assert split_list('"a, b" <sip:x@h;p=1,2>, <sip:y@h>') == ['"a, b" <sip:x@h;p=1,2>', "<sip:y@h>"]


def test_auth_header_params() -> None:
    scheme, params = parse_auth('Digest username="bob", realm="r, x", nonce=abc, qop=auth, nc=00000001')
    assert scheme == "Digest"
    assert params == {"username": "bob", "realm": "r, x", "nonce": "abc", "qop": "auth", "nc": "00000001"}


def test_via_with_received_and_rport_serialises() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport")
    via = via.with_param("received", "192.0.2.7").with_param("rport", "40000")
    assert str(via) == "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=192.0.2.7;rport=40000"


def test_stream_framer_cuts_messages_on_content_length() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n" + INVITE[:50]) == []
    out = framer.feed(INVITE[50:] + INVITE)
    assert out == [INVITE, INVITE]


def test_reason_phrases_of_auth_challenges() -> None:
    from nuage.sip.message import reason_phrase

    assert reason_phrase(407) == "Proxy Authentication Required"
    assert reason_phrase(401) == "Unauthorized"
    assert reason_phrase(499) == "Bad Request"  # unknown: the class's phrase


def test_tags_are_read_without_parsing_the_whole_header() -> None:
    message = parse_message(
        INVITE.replace(b"To: <sip:bob@example.com>", b'To: "B>" <sip:bob@h;tag=no>;tag=yes')
    )
    assert message.to_tag == "yes"
    assert message.from_tag == "1928"
    bare = parse_message(INVITE.replace(b"To: <sip:bob@example.com>", b"To: sip:bob@h;tag=t1"))
    assert bare.to_tag == "t1"


def test_forgotten_views_are_parsed_again_to_the_same_values() -> None:
    """Issue #22: a request kept only for retransmissions drops its parsed views."""
    data = (
        b"INVITE sip:bob@example.com;transport=udp SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKx\r\n"
        b'From: "Alice" <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n'
        b"Call-ID: c1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    request = parse_message(data)
    assert isinstance(request, SipRequest)
    before = (
        request.from_addr.uri.user,
        request.from_tag,
        request.cseq.number,
        request.uri.host,
        request.top_via,
    )
    request.forget_views()
    after = (
        request.from_addr.uri.user,
        request.from_tag,
        request.cseq.number,
        request.uri.host,
        request.top_via,
    )
    assert str(before[4]) == str(after[4])
    assert before[:4] == after[:4] == ("alice", "a1", 7, "example.com")
    assert request.to_bytes() == parse_message(request.to_bytes()).to_bytes()
