"""Issue #20: a SIP edge that can face the internet, attacked over real UDP and TCP on loopback.

Each test reproduces one finding of the issue against a running server: digest replay (item 1),
a blocking look-up on the loop (2), a REGISTER left unanswered (3), numbers that broke the
parser (4), 500s and errors escaping into the loop (5), TCP without limits or framing (6).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest

from netports import free_port
from nuage.sip import SipSettings
from nuage.sip.digest import authorization_header
from nuage.sip.message import SipResponse, parse_message
from nuage.sip.security import SecuritySettings
from nuage.sip.tcp import TcpLimits
from nuage.sip.transport import Address
from sip.harness import Lab, RawUdpPhone
from waiting import wait_for_condition


@pytest.fixture
def lab_settings() -> SipSettings:
    return SipSettings(
        listen_port=0,
        t1_s=0.05,
        t2_s=0.4,
        no_answer_timeout_s=2.0,
        cdr_flush_interval_ms=50,
        security=SecuritySettings(rate_per_s=0),
        tcp=TcpLimits(idle_timeout_s=0.6, max_connections_per_address=4, max_connections=6),
    )


@pytest.fixture
async def phone() -> AsyncIterator[RawUdpPhone]:
    p = RawUdpPhone()
    yield p
    p.close()


class Attacker:
    """A UDP socket on another loopback address (127.0.0.2): a different source host."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.2", free_port()))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def send(self, data: str, port: int) -> None:
        self.sock.sendto(data.encode(), ("127.0.0.1", port))

    async def response(self) -> SipResponse:
        loop = asyncio.get_running_loop()
        while True:
            message = parse_message(await asyncio.wait_for(loop.sock_recv(self.sock, 65535), 5))
            assert isinstance(message, SipResponse)
            if message.status != 100:
                return message


def _as_from(text: str, host: str, port: int) -> str:
    """Rewrite a captured request's Via and Contact as if it was sent from ``host:port``."""
    lines = []
    for line in text.split("\r\n"):
        if line.startswith("Via:"):
            line = f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bKreplay{port};rport"
        elif line.startswith("Contact:"):
            line = f"Contact: <sip:alice@{host}:{port}>"
        lines.append(line)
    return "\r\n".join(lines)


async def _challenge(phone: RawUdpPhone, port: int, method: str, uri: str, *, cseq: int = 1) -> str:
    phone.send(phone.request(method, uri, call_id=f"c-{method}-{cseq}", cseq=cseq), port)
    response = await phone.response(5)
    assert response.status in (401, 407)
    header = "www-authenticate" if response.status == 401 else "proxy-authenticate"
    return response.headers.get(header) or ""


# -- item 1: digest replay ------------------------------------------------------------------------


@pytest.mark.rule("SIP-5")
async def test_a_captured_register_authorization_does_not_add_an_attackers_contact(
    lab: Lab, phone: RawUdpPhone
) -> None:
    uri = f"sip:127.0.0.1:{lab.port}"
    challenge = await _challenge(phone, lab.port, "REGISTER", uri)
    auth = authorization_header(
        challenge, username="alice", password="alice-secret", method="REGISTER", uri=uri
    )
    request = phone.request(
        "REGISTER", uri, call_id="c-REGISTER-1", cseq=2, headers=[("Authorization", auth), ("Expires", "300")]
    )
    phone.send(request, lab.port)
    assert (await phone.response(5)).status == 200
    attacker = Attacker()
    try:
        # the very same Authorization, from another address and with the attacker's contact
        attacker.send(_as_from(request.replace("CSeq: 2", "CSeq: 3"), "127.0.0.2", attacker.port), lab.port)
        replayed = await attacker.response()
    finally:
        attacker.sock.close()
    assert replayed.status == 401
    assert "stale=true" in (replayed.headers.get("www-authenticate") or "")
    assert all("127.0.0.2" not in b.contact for b in lab.server.registrations())
    # and replayed from the phone's own address (same nonce, same nc): refused as well
    phone.send(request.replace("CSeq: 2", "CSeq: 4").replace("z9hG4bK", "z9hG4bKagain"), lab.port)
    assert (await phone.response(5)).status == 401


@pytest.mark.rule("SIP-5")
async def test_a_captured_proxy_authorization_does_not_pay_for_a_call_to_another_number(
    lab: Lab, phone: RawUdpPhone
) -> None:
    legit_uri = f"sip:200@127.0.0.1:{lab.port}"
    challenge = await _challenge(phone, lab.port, "INVITE", legit_uri)
    auth = authorization_header(
        challenge, username="alice", password="alice-secret", method="INVITE", uri=legit_uri
    )
    premium = f"sip:+3290012345@127.0.0.1:{lab.port}"
    phone.send(
        phone.request("INVITE", premium, call_id="premium", cseq=1, headers=[("Proxy-Authorization", auth)]),
        lab.port,
    )
    assert (await phone.response(5)).status == 403
    assert lab.server.calls() == []


# -- item 2: nothing blocks the loop ------------------------------------------------------------


async def test_a_via_naming_an_unresolvable_host_never_blocks_the_loop(
    lab: Lab, phone: RawUdpPhone, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    caplog.set_level(logging.WARNING, logger="asyncio")
    try:
        via = "Via: SIP/2.0/UDP nosuch-nuage-host.invalid:{port};branch=z9hG4bK{n}"
        for n in range(3):
            # malformed (CSeq method mismatch): the transport's own 400, to the received address
            bad = phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id=f"blk-{n}", cseq=1)
            bad = bad.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")
            bad = "\r\n".join(
                via.format(port=phone.port, n=f"bad{n}") if line.startswith("Via:") else line
                for line in bad.split("\r\n")
            )
            phone.send(bad, lab.port)
            assert (await phone.response(5)).status == 400
            # well-formed: the transaction's 200 goes to the received address too
            good = phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id=f"ok-{n}", cseq=1)
            good = "\r\n".join(
                via.format(port=phone.port, n=f"ok{n}") if line.startswith("Via:") else line
                for line in good.split("\r\n")
            )
            phone.send(good, lab.port)
            assert (await phone.response(5)).status == 200
        # a request of ours to a name: resolved off the loop (and dropped: it does not resolve)
        lab.server.send_raw(
            b"OPTIONS sip:x SIP/2.0\r\n\r\n", Address("UDP", "nosuch-nuage-host.invalid", 5060)
        )
        await asyncio.sleep(0)  # the look-up runs in a worker thread; give it a chance to start
        phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id="after"), lab.port)
        assert (await phone.response(5)).status == 200
    finally:
        loop.set_debug(False)
    slow = [
        r.getMessage() for r in caplog.records if "took" in r.getMessage() and "Executing" in r.getMessage()
    ]
    assert slow == []


async def test_a_banned_source_gets_no_400_and_causes_no_look_up(lab: Lab, phone: RawUdpPhone) -> None:
    lab.server.security.ban("127.0.0.1")
    try:
        bad = phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}").replace("CSeq: 1 OPTIONS", "CSeq: 1 BYE")
        phone.send(bad, lab.port)
        with pytest.raises(TimeoutError):
            await phone.response(0.5)
    finally:
        lab.server.unban("127.0.0.1")


# -- items 3-5: every request answered, 400 never 500, no state kept ------------------------------


async def test_a_register_with_an_unterminated_quote_gets_400_and_leaves_no_transaction(
    lab: Lab, phone: RawUdpPhone
) -> None:
    uri = f"sip:127.0.0.1:{lab.port}"
    auth = 'Digest username="alice", realm="nuage.local", nonce="abc, uri="sip:x", response="00'
    phone.send(phone.request("REGISTER", uri, headers=[("Authorization", auth)]), lab.port)
    response = await phone.response(5)
    assert response.status == 400
    assert "Authorization" in response.reason
    await wait_for_condition(lambda: lab.server.transaction_counts == (0, 0), what="transactions freed")


@pytest.mark.parametrize(
    ("header", "value", "named"),
    [
        ("Expires", "\u00b2", "Expires"),
        ("Expires", "9" * 5000, "Expires"),
        ("Max-Forwards", "256", "Max-Forwards"),
        ("Max-Forwards", "\u0661\u0662", "Max-Forwards"),
        ("CSeq", "2147483648 REGISTER", "CSeq"),
        ("CSeq", "\u00b2 REGISTER", "CSeq"),
        ("Content-Length", "0" * 4000 + "0", "Content-Length"),
        ("Content-Length", "\u00b2", "Content-Length"),
        ("Via", "SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKx;rport=\u00b2", "rport"),
        ("Via", "SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKx;rport=70000", "rport"),
        ("Contact", "<sip:alice@127.0.0.1:{port}>;expires=\u00b3", "expires"),
        ("Contact", "<sip:alice@127.0.0.1:{port}>;expires=", "expires"),
        ("Via", "SIP/2.0/UDP 127.0.0.1:{port};;branch=z9hG4bKx", "parameter"),
        ("Contact", "<sip:alice@127.0.0.1:{port}>;;q=1", "parameter"),
    ],
)
async def test_bad_numbers_and_empty_parameters_get_400_naming_the_header(
    lab: Lab, phone: RawUdpPhone, header: str, value: str, named: str
) -> None:
    uri = f"sip:127.0.0.1:{lab.port}"
    challenge = await _challenge(phone, lab.port, "REGISTER", uri, cseq=1)
    auth = authorization_header(
        challenge, username="alice", password="alice-secret", method="REGISTER", uri=uri
    )
    request = phone.request("REGISTER", uri, call_id="num", cseq=2, headers=[("Authorization", auth)])
    lines = []
    for line in request.split("\r\n"):
        if line.lower().startswith(header.lower() + ":"):
            line = f"{header}: {value.format(port=phone.port)}"
        lines.append(line)
    if not any(line.startswith(f"{header}:") for line in lines):
        lines.insert(2, f"{header}: {value}")
    phone.send("\r\n".join(lines), lab.port)
    # the 400 echoes the faulty header, so it is read as text rather than parsed
    status_line = (await phone.receive(5)).split(b"\r\n", 1)[0].decode()
    assert status_line.startswith("SIP/2.0 400 "), status_line
    assert named.lower() in status_line.lower()
    await wait_for_condition(lambda: lab.server.transaction_counts == (0, 0), what="transactions freed")


async def test_an_invite_with_a_bad_request_uri_gets_400_not_500(lab: Lab, phone: RawUdpPhone) -> None:
    for n, uri in enumerate(
        ["sip:200@[::1", "sip:200@127.0.0.1:99999", "sip:@127.0.0.1", "sip:200@host;;lr"]
    ):
        phone.send(phone.request("INVITE", uri, call_id=f"bad-ruri-{n}"), lab.port)
        response = await phone.response(5)
        assert response.status == 400, (uri, response)
    await wait_for_condition(lambda: lab.server.transaction_counts == (0, 0), what="transactions freed")


async def test_an_unsendable_destination_never_reaches_the_loop(lab: Lab, phone: RawUdpPhone) -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        for destination in (
            Address("UDP", "127.0.0.1", 70000),
            Address("UDP", "127.0.0.1", 0),
            Address("UDP", "::1", 5060),
            Address("TCP", "127.0.0.1", 70000),
        ):
            lab.server.send_raw(b"OPTIONS sip:x SIP/2.0\r\n\r\n", destination)
        phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}"), lab.port)
        assert (await phone.response(5)).status == 200  # the UDP socket is still open
    finally:
        loop.set_exception_handler(None)
    assert errors == []


# -- item 6: TCP --------------------------------------------------------------------------------


def _tcp_options(port: int, n: int, *, length: bool = True) -> bytes:
    lines = [
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKtcp{n}",
        "Max-Forwards: 70",
        "From: <sip:alice@nuage.local>;tag=t",
        "To: <sip:alice@nuage.local>",
        f"Call-ID: tcp-{n}",
        f"CSeq: {n} OPTIONS",
    ]
    if length:
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_responses(reader: asyncio.StreamReader, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        statuses.append(int(head.split(b" ", 2)[1]))
    return statuses


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 5) == b""
    except ConnectionError:
        return True


async def test_tcp_framing_error_keeps_the_messages_before_it_and_answers_400(lab: Lab) -> None:
    port = lab.server.bound_address("TCP").port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_tcp_options(port, 1) + _tcp_options(port, 2) + _tcp_options(port, 3, length=False))
    await writer.drain()
    assert await _read_responses(reader, 3) == [200, 200, 400]
    assert await _closed(reader)
    writer.close()


async def test_tcp_content_length_of_thousands_of_digits_gets_400(lab: Lab) -> None:
    port = lab.server.bound_address("TCP").port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    message = _tcp_options(port, 1).replace(b"Content-Length: 0", b"Content-Length: " + b"1" * 5000)
    writer.write(message)
    await writer.drain()
    assert await _read_responses(reader, 1) == [400]
    writer.close()


async def test_tcp_connections_are_capped_and_idle_ones_closed(lab: Lab) -> None:
    tcp = lab.server._transports["TCP"]
    port = tcp.local.port
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(6)]
    # four per address: the fifth and sixth are closed at once
    assert [await _closed(reader) for reader, _ in conns[4:]] == [True, True]
    # the four kept answer; once idle for longer than the timeout they are closed too
    reader, writer = conns[0]
    writer.write(_tcp_options(port, 1))
    assert await _read_responses(reader, 1) == [200]
    assert all([await _closed(reader) for reader, _ in conns[:4]])
    await wait_for_condition(lambda: getattr(tcp, "connection_count", -1) == 0, what="connections forgotten")
    for _, writer in conns:
        writer.close()
