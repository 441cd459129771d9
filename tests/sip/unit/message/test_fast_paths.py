"""The per-message fast paths of issue #22 give what the full parsers give, and step aside when
they cannot: shared parsed values, the header index, the usual Via, Authorization, Via stamping."""

from __future__ import annotations

import random

import pytest

from nuage.sip.message import NameAddr, SipParseError, SipRequest, SipUri, Via, parse_message
from nuage.sip.message.auth import _read_params, _split_params, parse_auth
from nuage.sip.transport import Address, stamp_received

REGISTER = (
    b"REGISTER sip:192.0.2.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n"
    b"From: <sip:alice@192.0.2.9>;tag=1928\r\n"
    b"To: <sip:alice@192.0.2.9>\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:alice@192.0.2.1:5070>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def test_values_parsed_from_the_same_text_are_shared_and_equal_to_a_fresh_parse() -> None:
    first = NameAddr.parse("<sip:alice@192.0.2.9;transport=udp>")
    again = NameAddr.parse("<sip:alice@192.0.2.9;transport=udp>")
    assert again is first
    assert first == NameAddr._parse("<sip:alice@192.0.2.9;transport=udp>")
    assert SipUri.parse("sip:bob@example.com") is SipUri.parse("sip:bob@example.com")
    assert str(SipUri.parse("sip:bob@example.com:5080")) == "sip:bob@example.com:5080"


def test_a_bad_value_is_refused_every_time_it_is_seen() -> None:
    for _ in range(2):
        with pytest.raises(SipParseError):
            SipUri.parse("mailto:bob@example.com")
        with pytest.raises(SipParseError):
            NameAddr.parse("<sip:bob@example.com")


def test_the_header_index_follows_every_change() -> None:
    message = parse_message(REGISTER)
    headers = message.headers
    assert headers.get("expires") is None
    assert "expires" not in headers
    headers.add("expires", "60")
    assert headers.get("expires") == "60"
    assert headers.get_all("expires") == ["60"]
    headers.prepend("expires", "30")
    assert headers.get("expires") == "30"
    headers.set("expires", "90")
    assert headers.get_all("expires") == ["90"]
    headers.remove("expires")
    assert headers.get("expires") is None
    assert headers.get_all("expires") == []


def test_a_folded_or_new_header_goes_through_the_full_reader() -> None:
    folded = REGISTER.replace(
        b"Contact: <sip:alice@192.0.2.1:5070>\r\n", b"Contact:\r\n <sip:a@192.0.2.1>\r\n"
    )
    message = parse_message(folded)
    assert [str(c.uri) for c in message.contacts] == ["sip:a@192.0.2.1"]
    odd = REGISTER.replace(b"Content-Length: 0\r\n", b"X-Odd-Fast-Path-Name: 1\r\nContent-Length: 0\r\n")
    assert parse_message(odd).headers.get("x-odd-fast-path-name") == "1"
    bad = REGISTER.replace(b"Content-Length: 0\r\n", b"no colon here\r\nContent-Length: 0\r\n")
    with pytest.raises(SipParseError, match="without colon"):
        parse_message(bad)


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;rport",
        "SIP/2.0/tcp Host.Example.COM;branch=z9hG4bKx",
        "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKx",
        "SIP/2.0/UDP 192.0.2.1 ; branch=z9hG4bKx",
        'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;x="a;b"',
    ],
)
def test_the_usual_via_reads_as_the_full_reader_does(text: str) -> None:
    via = Via.parse(text)
    assert via == Via.parse(text + " ")  # trailing space: stripped either way
    assert str(Via.parse(str(via))) == str(via)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("SIP/2.0/UDP 192.0.2.1:0;branch=z9hG4bKx", "port out of range"),
        ("SIP/2.0/UDP 192.0.2.1:99999;branch=z9hG4bKx", "port out of range"),
        ("SIP/2.0/UDP 192.0.2.1;rport=0", "Via rport out of range"),
        ("SIP/2.0/UDP 192.0.2.1;;branch=z9hG4bKx", "empty header parameter"),
    ],
)
def test_a_bad_usual_via_gets_the_full_reader_s_reason(text: str, reason: str) -> None:
    with pytest.raises(SipParseError, match=reason):
        Via.parse(text)


def test_authorization_with_escapes_or_an_open_quote_takes_the_character_loop() -> None:
    scheme, params = parse_auth('Digest username="al\\"ice", realm="r", nc=00000001')
    assert (scheme, params["username"], params["nc"]) == ("Digest", 'al"ice', "00000001")
    with pytest.raises(SipParseError, match="unterminated"):
        parse_auth('Digest username="alice, realm=r')
    assert parse_auth("Digest a=1, =2, b=3")[1] == {"a": "1"}  # the loop stops at a nameless one


def test_a_header_section_with_a_bare_lf_among_crlfs_is_read_line_by_line() -> None:
    mixed = REGISTER.replace(b"Call-ID: a84b4c76e66710\r\n", b"Call-ID: a84b4c76e66710\n")
    message = parse_message(mixed)
    assert message.call_id == "a84b4c76e66710"
    assert message.headers.get_all("cseq") == ["1 REGISTER"]
    assert [key for key, _ in message.headers._items] == [
        key for key, _ in parse_message(REGISTER).headers._items
    ]


def test_the_usual_authorization_is_read_by_splitting_at_its_commas() -> None:
    rest = (
        'username="alice",realm="nuage.local",cnonce="6b8b4567",nc=00000001,qop=auth,'
        'uri="sip:212@127.0.0.1:5060",nonce="6b15.4cf5.89b0",response="66878cc9",algorithm=MD5'
    )
    assert _split_params(rest) == _read_params(rest)
    assert _split_params(rest) is not None
    assert parse_auth(f"Digest {rest}")[1]["uri"] == "sip:212@127.0.0.1:5060"
    assert parse_auth('Digest uri="sip:a;x=1,2", nc=1')[1] == {"uri": "sip:a;x=1,2", "nc": "1"}


def test_the_comma_reader_agrees_with_the_character_loop_or_steps_aside() -> None:
    """Every string of an alphabet of separators, quotes and name characters: the comma reader
    gives what the character loop gives, or None (the other readers then decide)."""
    rng = random.Random(22)
    alphabet = ["a", "B", "x", "=", ",", '"', " ", "\t", ":", "1"]
    used = 0
    for _ in range(20_000):
        rest = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 16)))
        split = _split_params(rest)
        if split is None:
            continue
        used += 1
        assert split == _read_params(rest), rest
    assert used > 500  # the comparison was not vacuous


def test_via_is_stamped_where_it_stands_and_other_vias_are_kept() -> None:
    message = parse_message(REGISTER)
    assert isinstance(message, SipRequest)
    stamp_received(message, Address("UDP", "203.0.113.7", 40000))
    assert message.headers.get_all("via") == [
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;received=203.0.113.7;rport=40000"
    ]
    assert message.top_via.param("rport") == "40000"
    two = REGISTER.replace(
        b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n",
        b"Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKp\r\n",
    )
    message = parse_message(two)
    assert isinstance(message, SipRequest)
    stamp_received(message, Address("UDP", "203.0.113.7", 40000))
    assert message.headers.get_all("via") == [
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;received=203.0.113.7;rport=40000, "
        "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKp"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "<sip:alice@192.0.2.9>;tag=1928",
        '"Alice" <sip:alice@192.0.2.9;transport=udp>;tag=a.b-c',
        "Alice <sip:alice@192.0.2.9> ;tag=1928",
        "<sip:alice@192.0.2.9>;x=1;TAG=2;tag=3",
        "<sip:alice@192.0.2.9>;tag=1;tag=2",
        "sip:alice@192.0.2.9;transport=udp;tag=7",
        "sip:alice@192.0.2.9;tag=7",
        '"a;tag=b" <sip:alice@192.0.2.9>;tag=c',
        '<sip:alice@192.0.2.9>;x="q;r";tag=c',
        "<sip:alice@192.0.2.9;tag=inside>",
        "<sip:alice@192.0.2.9>;tag=a b",
        "<sip:alice@192.0.2.9>;tag=",
        "<sip:alice@192.0.2.9>;;tag=1",
        "<sip:alice@192.0.2.9>x;tag=1",
        "*;tag=1",
        "<sip:alice@192.0.2.9;tag=1",
        "sip:al ice@192.0.2.9;tag=1",
        '<sip:alice@192.0.2.9>;x="open;tag=1',
        "<sip:alice@192.0.2.9>;tag=1 ",
    ],
)
def test_a_value_with_a_tag_reads_as_the_full_reader_reads_it(text: str) -> None:
    try:
        expected: NameAddr | str = NameAddr._parse(text)
    except SipParseError as exc:
        expected = exc.reason
    for _ in range(2):  # the value before the tag is shared from the second time on
        try:
            got: NameAddr | str = NameAddr.parse(text)
        except SipParseError as exc:
            got = exc.reason
        assert got == expected


def test_random_values_with_tags_read_as_the_full_reader_reads_them() -> None:
    import random

    pieces = ['"A;tag=x"', " ", "Alice", "<", ">", "sip:", "alice@192.0.2.9", ";", "tag=", "t1", "=",
              '"', "x=1", "*", ",", "TAG=", ";tag=", "\t", "sips:b@h:5061", "lr"]  # fmt: skip
    chooser = random.Random(22)
    for _ in range(3000):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randint(1, 9)))
        if chooser.random() < 0.5:
            text = "<sip:alice@192.0.2.9>" + text
        results: list[NameAddr | str] = []
        for parse in (NameAddr._parse, NameAddr.parse, NameAddr.parse):
            try:
                results.append(parse(text))
            except SipParseError as exc:
                results.append(exc.reason)
        assert results[1] == results[0], text
        assert results[2] == results[0], text


def test_the_header_index_follows_a_line_replaced_in_place() -> None:
    second_via = b"Via: SIP/2.0/UDP 192.0.2.2\r\nContent-Length"
    message = parse_message(REGISTER.replace(b"Content-Length", second_via))
    headers = message.headers
    assert headers.get("via") is not None  # the index is built
    first_line, second_line = (i for i, (key, _) in enumerate(headers) if key == "via")
    headers.set_at(second_line, "via", "SIP/2.0/UDP 192.0.2.3")  # not the first value: unchanged
    assert headers.get("via") == "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKabc;rport"
    headers.set_at(first_line, "via", "SIP/2.0/UDP 192.0.2.4")
    fresh = type(headers)(list(headers))
    for key in ("via", "from", "cseq", "contact", "expires"):
        assert headers.get(key) == fresh.get(key)
        assert headers.get_all(key) == fresh.get_all(key)
    assert headers.get_all("via") == ["SIP/2.0/UDP 192.0.2.4", "SIP/2.0/UDP 192.0.2.3"]


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKx;rport",
        "SIP/2.0/udp Host.Example.COM;branch=z9hG4bK.a-b_c!~*'+%`",
        "SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKx",
        "SIP/2.0/UDP 192.0.2.1:65535;branch=1;rport",
        "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;RPORT",
        "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;rport=5",
        "SIP/2.0/UDP 192.0.2.1;branch=a=b;rport",
        "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx;rport;received=192.0.2.9",
    ],
)
def test_a_via_with_its_branch_first_reads_as_the_full_reader_does(text: str) -> None:
    spaced = text.replace(";branch=", "; branch=")  # a space: only the full reader takes it
    assert Via.parse(text) == Via.parse(spaced)
    assert Via.parse(text).params == Via.parse(spaced).params
