"""Torture messages of our own, one per case category of RFC 4475 and RFC 5118 (IPv6).

Valid-but-odd messages must parse with the meaning the RFCs give them; invalid ones must raise
SipParseError whose reason (the 400's reason phrase) names what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nuage.sip.message import SipParseError, SipRequest, SipResponse, parse_message
from nuage.sip.message.sdp import SessionDescription


def _msg(start: str, *headers: str, body: str = "", length: int | None = None, crlf: str = "\r\n") -> bytes:
    blen = len(body.encode())
    lines = [start, *headers, f"Content-Length: {blen if length is None else length}", "", body]
    return crlf.join(lines).encode()


CORE = (
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKt0rture",
    "To: <sip:bob@example.net>",
    "From: <sip:alice@example.org>;tag=a1",
    "Call-ID: torture-1@192.0.2.4",
    "Max-Forwards: 70",
)


def _req(method: str, uri: str, *extra: str, cseq: str | None = None, **kw: object) -> bytes:
    return _msg(f"{method} {uri} SIP/2.0", *CORE, f"CSeq: {cseq or '1 ' + method}", *extra, **kw)  # type: ignore[arg-type]


Check = Callable[[SipRequest | SipResponse], None]

SDP6 = (
    "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
)

VALID: list[tuple[str, bytes, Check]] = [
    # RFC 4475 §3.1.1.1 short tortuous INVITE: odd case, folding, compact forms, odd spacing
    (
        "tortuous",
        (
            b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
            b"TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
            b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n'
            b"MaX-fOrWaRdS: 0068\r\nCall-ID: 0ha0isndaksdj@192.0.2.1\r\n"
            b"cseq: 0009\r\n  INVITE\r\n"
            b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n"
            b"s :\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\n"
            b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n"
            b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n"
            b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n'
            b"  secondparam ; q = 0.33\r\nl: 0\r\n\r\n"
        ),
        lambda m: _all(
            m.cseq.number == 9,
            m.to_tag == "1918181833n",
            len(m.vias) == 3,
            m.vias[1].transport == "TCP",
            m.contacts[0].param("q") == "0.33",
        ),
    ),
    # §3.1.1.2 wide range of valid characters in method, params, headers
    (
        "intmeth",
        _req(
            "!interesting-Method0123456789_*+`.%indeed'~",
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
            cseq="139122385 !interesting-Method0123456789_*+`.%indeed'~",
        ),
        lambda m: _all(
            isinstance(m, SipRequest) and m.method.startswith("!interesting"), m.uri.host == "example.com"
        ),
    ),
    # §3.1.1.3 valid use of % escaping in user and parameters
    (
        "esc01",
        _req("INVITE", "sip:sips%3Auser%40example.com@example.net;transport=udp"),
        lambda m: _all(isinstance(m, SipRequest) and m.uri.user == "sips:user@example.com"),
    ),
    # §3.1.1.4 escaped nulls in URIs
    (
        "escnull",
        _req("REGISTER", "sip:example.com", "Contact: <sip:%00@host5.example.net>"),
        lambda m: _all(m.contacts[0].uri.user == "\x00"),
    ),
    # §3.1.1.5 % that is not an escape in a header value (an unknown header keeps it raw)
    (
        "esc02",
        _req("OPTIONS", "sip:example.com", "X-Odd: 100% not%an escape"),
        lambda m: _all(m.headers.get("x-odd") == "100% not%an escape"),
    ),
    # §3.1.1.6 no LWS between display name and <
    (
        "lwsdisp",
        _req("OPTIONS", "sip:example.com", "Contact: caller<sip:caller@example.com>"),
        lambda m: _all(m.contacts[0].display == "caller"),
    ),
    # §3.1.1.7 long values in header fields
    (
        "longreq",
        _req(
            "INVITE",
            "sip:bob@example.net",
            "X-Long: " + "a" * 3000,
            "Contact: <sip:" + "u" * 500 + "@example.org>",
        ),
        lambda m: _all(len(m.headers.get("x-long") or "") == 3000),
    ),
    # §3.1.1.8 extra trailing octets in a UDP datagram: Content-Length wins
    (
        "dblreq",
        _req("OPTIONS", "sip:example.com", length=0) + b"OPTIONS sip:x SIP/2.0\r\n",
        lambda m: _all(m.body == b""),
    ),
    # §3.1.1.9 semicolons in the user part
    (
        "semiuri",
        _req("OPTIONS", "sip:user;par=u%40example.net@example.com"),
        lambda m: _all(isinstance(m, SipRequest) and m.uri.host == "example.com"),
    ),
    # §3.1.1.10 varied transport names in Via
    (
        "transports",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/SCTP t1.example.com;branch=z9hG4bKkdjuw",
            "Via: SIP/2.0/NEWTRANSPORT t2.example.com;branch=z9hG4bK2",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        lambda m: _all(m.vias[1].transport == "NEWTRANSPORT"),
    ),
    # §3.1.1.11 multipart body
    (
        "mpart01",
        _req(
            "MESSAGE",
            "sip:kumiko@example.org",
            "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
            body="--7a9cbec02ceef655\r\nContent-Type: text/plain\r\n\r\nhi\r\n--7a9cbec02ceef655--\r\n",
        ),
        lambda m: _all(m.content_type == "multipart/mixed", m.body.endswith(b"--\r\n")),
    ),
    # §3.1.1.12 a reason phrase with UTF-8 and odd characters; §3.1.1.13 an empty reason phrase
    (
        "unreason",
        _msg("SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e", *CORE, "CSeq: 1 INVITE"),
        lambda m: _all(isinstance(m, SipResponse) and m.status == 200),
    ),
    (
        "noreason",
        _msg("SIP/2.0 100 ", *CORE, "CSeq: 1 INVITE"),
        lambda m: _all(isinstance(m, SipResponse) and m.reason == ""),
    ),
    # §3.3 transaction layer: a branch without the magic cookie (RFC 2543 peer)
    (
        "badbranch",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.4;branch=oldstyle",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        lambda m: _all(m.top_via.branch == "oldstyle"),
    ),
    # §3.4 application layer: unknown scheme in To (valid syntax), unknown Proxy-Require, multiple values
    (
        "novelsc",
        _req("OPTIONS", "sip:example.com", "X-Target: <soap.beep://192.0.2.103:3002>"),
        lambda m: _all(True),
    ),
    (
        "bext01",
        _req(
            "OPTIONS",
            "sip:example.com",
            "Require: nothingSupportsThis, nothingSupportsThisEither",
            "Proxy-Require: noProxiesSupportThis",
        ),
        lambda m: _all(m.headers.values("require") == ["nothingSupportsThis", "nothingSupportsThisEither"]),
    ),
    (
        "multi01",
        _req(
            "INVITE",
            "sip:user@company.com",
            "Route: <sip:a.example.com;lr>, <sip:b.example.com;lr>",
            "Route: <sip:c.example.com;lr>",
        ),
        lambda m: _all(len(m.name_addrs("route")) == 3),
    ),
    (
        "regaut01",
        _req("REGISTER", "sip:example.com", "Authorization: NoOneKnowsThisScheme opaque-data=here"),
        lambda m: _all(
            m.headers.get(
                "authorization",
            )
            is not None
        ),
    ),
    (
        "zeromf",
        _req("OPTIONS", "sip:example.com").replace(b"Max-Forwards: 70", b"Max-Forwards: 0"),
        lambda m: _all(m.int_header("max-forwards") == 0),
    ),
    (
        "cparam01",
        _req("REGISTER", "sip:example.com", "Contact: sip:+19725552222@gw1.example.net;unknownparam"),
        lambda m: _all(m.contacts[0].param("unknownparam") == ""),
    ),
    (
        "cparam02",
        _req(
            "REGISTER",
            "sip:example.com",
            "Contact: <sip:+19725552222@gw1.example.net;unknownparam>;expires=60",
        ),
        lambda m: _all(m.contacts[0].param("expires") == "60", m.contacts[0].uri.param("unknownparam") == ""),
    ),
    (
        "regescrt",
        _req("REGISTER", "sip:example.com", "Contact: <sip:user@host?Route=%3Csip:sip.example.com%3E>"),
        lambda m: _all(m.contacts[0].uri.headers == (("Route", "<sip:sip.example.com>"),)),
    ),
    (
        "sdp01",
        _req(
            "INVITE",
            "sip:bob@example.net",
            "Content-Type: application/sdp",
            body=SDP6.replace("IP6 2001:db8::1", "IP4 192.0.2.4"),
        ),
        lambda m: _all(SessionDescription.parse(m.body.decode()) is not None),
    ),
    # §3.5 backward compatibility: an RFC 2543 INVITE (no branch cookie, bare LF line ends)
    (
        "inv2543",
        _msg(
            "INVITE sip:UserB@example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.15",
            "From: <sip:UserA@example.com>",
            "To: <sip:UserB@example.com>",
            "Call-ID: 2543@example.com",
            "CSeq: 1 INVITE",
            crlf="\n",
        ),
        lambda m: _all(m.top_via.branch is None),
    ),
    # RFC 5118 §4.1 IPv6 in the Request-URI, §4.3 port after the brackets, §4.5 IPv6 in Via and received
    (
        "ipv6-good",
        _req("REGISTER", "sip:[2001:db8::10]"),
        lambda m: _all(isinstance(m, SipRequest) and m.uri.host == "2001:db8::10"),
    ),
    (
        "port-unambiguous",
        _req("REGISTER", "sip:[2001:db8::10]:5070"),
        lambda m: _all(isinstance(m, SipRequest) and m.uri.port == 5070),
    ),
    (
        "via-received6",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111;received=2001:db8::9:255",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        lambda m: _all(m.top_via.host == "2001:db8::9:1", m.top_via.param("received") == "2001:db8::9:255"),
    ),
    # §4.6 IPv6 in SDP; §4.7 multiple IP addresses in SDP; §4.10 IPv4-mapped IPv6
    (
        "ipv6-sdp",
        _req("INVITE", "sip:user@[2001:db8::10]", "Content-Type: application/sdp", body=SDP6),
        lambda m: _all(SessionDescription.parse(m.body.decode()) is not None),
    ),
    (
        "ipv4-mapped",
        _req("OPTIONS", "sip:[::ffff:192.0.2.128]:5060"),
        lambda m: _all(isinstance(m, SipRequest) and m.uri.host == "::ffff:192.0.2.128"),
    ),
    (
        "ipv6-multi-via",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3",
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        lambda m: _all(m.vias[0].port == 6050, m.vias[1].host == "192.0.2.1"),
    ),
]

INVALID: list[tuple[str, bytes, str]] = [
    # RFC 4475 §3.1.2.1 extraneous header field separators
    (
        "badinv01",
        _req("INVITE", "sip:user@example.com", cseq="1 INVITE").replace(
            b"To: <sip:bob@example.net>", b"To: <sip:bob@example.net>;;,;"
        ),
        "parameter",
    ),
    # §3.1.2.2 Content-Length larger than the message; §3.1.2.3 negative Content-Length
    ("clerr", _req("INVITE", "sip:user@example.com", length=9999), "Content-Length"),
    ("ncl", _req("INVITE", "sip:user@example.com", length=-999), "Content-Length"),
    # §3.1.2.4 request scalar fields with overlarge values
    (
        "scalar02",
        _req(
            "REGISTER",
            "sip:example.com",
            "Expires: 10000000000000000000000",
            cseq="36893488147419103232 REGISTER",
        ),
        "CSeq",
    ),
    (
        "scalar-mf",
        _req("OPTIONS", "sip:example.com").replace(b"Max-Forwards: 70", b"Max-Forwards: 300"),
        "Max-Forwards",
    ),
    ("scalar-expires", _req("REGISTER", "sip:example.com", "Expires: 99999999999999999999"), "Expires"),
    (
        "scalar-port",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP host.example.com:70000;branch=z9hG4bK1",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        "port",
    ),
    # §3.1.2.5 response scalar fields with overlarge values
    ("scalarlg", _msg("SIP/2.0 503 Service Unavailable", *CORE, "CSeq: 36893488147419103232 INVITE"), "CSeq"),
    # §3.1.2.6 unterminated quoted string in the display name
    (
        "quotbal",
        _req("INVITE", "sip:user@example.com").replace(
            b"From: <sip:alice@example.org>", b'From: "Bob <sip:alice@example.org>'
        ),
        "quoted",
    ),
    # §3.1.2.7 <> enclosing the Request-URI; §3.1.2.8 LWS in the Request-URI; §3.1.2.9 extra SP
    ("ltgtruri", _req("INVITE", "<sip:user@example.com>"), "scheme"),
    ("lwsruri", _msg("INVITE sip:user@example.com; lr SIP/2.0", *CORE, "CSeq: 1 INVITE"), "request line"),
    ("lwsstart", _msg("INVITE  sip:user@example.com  SIP/2.0", *CORE, "CSeq: 1 INVITE"), "request line"),
    ("trws", _msg("OPTIONS sip:user@example.com SIP/2.0 ", *CORE, "CSeq: 1 OPTIONS"), "request line"),
    # §3.1.2.12 name-addr with params not enclosed in <>; §3.1.2.13 spaces within an addr-spec
    (
        "regbadct",
        _req(
            "REGISTER", "sip:example.com", "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E;;"
        ),
        "parameter",
    ),
    (
        "badaspec",
        _req("OPTIONS", "sip:example.com").replace(
            b"From: <sip:alice@example.org>;tag=a1", b"From: sip:alice @example.org;tag=a1"
        ),
        "",
    ),
    # §3.1.2.15 unknown protocol version; §3.1.2.16 start line and CSeq method mismatch
    ("badvers", _msg("OPTIONS sip:t.watson@example.org SIP/7.0", *CORE, "CSeq: 1 OPTIONS"), "Version"),
    ("mismatch01", _req("OPTIONS", "sip:user@example.com", cseq="1 INVITE"), "CSeq"),
    # §3.1.2.18 overlarge response code
    ("bigcode", _msg("SIP/2.0 4294967301 better not break the receiver", *CORE, "CSeq: 1 INVITE"), "status"),
    # §3.1.2.? missing required header fields; multiple conflicting Content-Length values
    ("insuf", _msg("INVITE sip:user@example.com SIP/2.0", "Call-ID: x", "CSeq: 1 INVITE"), "missing"),
    ("mcl01", _req("OPTIONS", "sip:example.com", "Content-Length: 7", length=0), "Content-Length"),
    # Unicode digits and thousands of digits in numeric fields (issue #20 item 4)
    ("unicode-cseq", _req("OPTIONS", "sip:example.com", cseq="\u00b2 OPTIONS"), "CSeq"),
    (
        "unicode-cl",
        _req("OPTIONS", "sip:example.com").replace(b"Content-Length: 0", "Content-Length: \u0660".encode()),
        "Content-Length",
    ),
    (
        "digits-cl",
        _req("OPTIONS", "sip:example.com").replace(b"Content-Length: 0", b"Content-Length: " + b"0" * 5000),
        "Content-Length",
    ),
    (
        "rport",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport=\u00b9",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        "rport",
    ),
    (
        "empty-via-param",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        "parameter",
    ),
    (
        "empty-via-value",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.1;branch=",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        "branch",
    ),
    # RFC 5118 §4.2 IPv6 without brackets in a URI; §4.4 an ambiguous port; §4.8 bad IPv6 in Via
    ("ipv6-bad", _req("OPTIONS", "sip:2001:db8::10"), "IPv6"),
    ("port-ambiguous", _req("OPTIONS", "sip:[2001:db8::10:5070"), "IPv6"),
    (
        "via-ipv6-bare",
        _msg(
            "OPTIONS sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bK1",
            *CORE[1:],
            "CSeq: 1 OPTIONS",
        ),
        "IPv6",
    ),
]


def _all(*conditions: bool) -> None:
    assert all(conditions), conditions


def _parse_fully(data: bytes) -> SipRequest | SipResponse:
    message = parse_message(data)
    # what the server reads of every request: the Request-URI, From, To, Contacts
    if isinstance(message, SipRequest):
        message.uri  # noqa: B018
    message.from_addr  # noqa: B018
    message.to_addr  # noqa: B018
    message.contacts  # noqa: B018
    return message


@pytest.mark.parametrize(("name", "data", "check"), VALID, ids=[case[0] for case in VALID])
def test_valid_but_odd_messages_parse(name: str, data: bytes, check: Check) -> None:
    message = parse_message(data)
    check(message)
    message.to_bytes()


@pytest.mark.parametrize(("name", "data", "reason"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_messages_are_refused_with_a_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as refused:
        _parse_fully(data)
    assert reason.lower() in refused.value.reason.lower()
