"""Issue #20, item 11: SIP over TLS on loopback, and SDES keys that never travel in clear (SIP-5).

Real TLS connections (the demo's self-signed certificate, checked by the client) and real UDP
sockets against a running server: responses on the connection the request came on, requests to
a phone on the connection it registered over, the TCP transport's caps and timeouts on TLS too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nuage.sip import SipSettings
from nuage.sip.digest import authorization_header
from nuage.sip.ports import CallOutcome, CarrierTrunk
from nuage.sip.security import SecuritySettings
from nuage.sip.tcp import TcpLimits
from nuage.sip.tls import TlsContexts
from nuage.sip.tls_certs import CertificatePair, client_context, demo_certificate, server_context
from sip.harness import Lab, RawUdpPhone
from sip.tls_phone import TlsPhone, offer, trusting
from waiting import wait_for_condition


@pytest.fixture
def certificate(tmp_path: Path) -> CertificatePair:
    return demo_certificate(tmp_path / "tls", ("127.0.0.1",))


@pytest.fixture
def lab_settings(certificate: CertificatePair) -> SipSettings:
    contexts = TlsContexts(
        server_context(certificate), client_context(certificate.certificate), port=0, handshake_timeout_s=0.5
    )
    return SipSettings(
        listen_port=0,
        t1_s=0.05,
        t2_s=0.4,
        no_answer_timeout_s=3.0,
        cdr_flush_interval_ms=50,
        security=SecuritySettings(rate_per_s=0),
        tcp=TcpLimits(idle_timeout_s=0.8, max_connections_per_address=4, max_connections=6),
        tls=contexts,
    )


@pytest.fixture
async def phones(lab: Lab, certificate: CertificatePair) -> AsyncIterator[list[TlsPhone]]:
    """alice and bob, each on a TLS connection to the server."""
    port = lab.server.bound_address("TLS").port
    opened = [
        await TlsPhone.connect(port, certificate.certificate, "alice"),
        await TlsPhone.connect(port, certificate.certificate, "bob"),
    ]
    yield opened
    for phone in opened:
        phone.close()


@pytest.fixture
async def udp_bob() -> AsyncIterator[RawUdpPhone]:
    phone = RawUdpPhone()
    yield phone
    phone.close()


def _call_uri(lab: Lab, user: str = "bob") -> str:
    return f"sip:{user}@127.0.0.1:{lab.port}"


async def test_the_server_listens_for_tls_on_a_port_of_its_own(lab: Lab) -> None:
    tls = lab.server.bound_address("TLS")
    assert tls.transport == "TLS"
    assert tls.port not in (0, lab.port)


async def test_options_over_tls_are_answered_on_the_same_connection(lab: Lab, phones: list[TlsPhone]) -> None:
    alice = phones[0]
    alice.send(alice.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id="tls-options"))
    response = await alice.response()
    assert response.status == 200
    assert (response.headers.get("via") or "").startswith("SIP/2.0/TLS 127.0.0.1:")


async def test_a_client_that_does_not_trust_the_certificate_is_not_served(lab: Lab) -> None:
    port = lab.server.bound_address("TLS").port
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(
            "127.0.0.1", port, ssl=ssl.create_default_context(), server_hostname="127.0.0.1"
        )


@pytest.mark.rule("SIP-1")
async def test_a_phone_registered_over_tls_is_called_on_its_tls_connection_with_the_keys(
    lab: Lab, phones: list[TlsPhone]
) -> None:
    alice, bob = phones
    assert (
        await bob.authenticated("REGISTER", f"sip:127.0.0.1:{lab.port}", "bob-secret", call_id="r")
    ).status == 200
    (binding,) = [b for b in lab.server.registrations() if b.username == "bob"]
    assert binding.source_transport == "TLS"

    ringing = asyncio.create_task(
        alice.authenticated(
            "INVITE", _call_uri(lab), "alice-secret", call_id="tls-call", body=offer(), to_user="bob"
        )
    )
    invite = await bob.incoming_request()
    assert invite.method == "INVITE"
    assert (invite.headers.get("via") or "").startswith("SIP/2.0/TLS ")
    assert ";transport=tls" in (invite.headers.get("contact") or "")
    assert b"a=crypto:1 AES_CM_128_HMAC_SHA1_80" in invite.body  # both legs are TLS: keys pass
    bob.send(bob.reply(invite, 200, "OK", body=offer(port=40100)))
    answer = await ringing
    assert answer.status == 200
    assert b"a=crypto:" in answer.body
    assert ";transport=tls" in (answer.headers.get("contact") or "")


@pytest.mark.rule("SIP-5")
async def test_sdes_keys_never_leave_over_udp(lab: Lab, phones: list[TlsPhone], udp_bob: RawUdpPhone) -> None:
    alice = phones[0]
    assert await udp_bob.register(lab.port, "bob", "bob-secret") == 200
    # SRTP if the callee can (RTP/AVP with keys): offered to the UDP phone without the keys
    ringing = asyncio.create_task(
        alice.authenticated(
            "INVITE",
            _call_uri(lab),
            "alice-secret",
            call_id="keys",
            body=offer(protocol="RTP/AVP"),
            to_user="bob",
        )
    )
    raw = await udp_bob.receive(5)
    assert raw.startswith(b"INVITE ")
    assert b"a=crypto" not in raw
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"m=audio 40000 RTP/AVP 0" in body
    assert f"content-length: {len(body)}".encode() in head.lower()
    ringing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ringing


@pytest.mark.rule("SIP-5")
async def test_an_offer_that_mandates_srtp_is_refused_with_488_when_the_callee_is_on_udp(
    lab: Lab, phones: list[TlsPhone], udp_bob: RawUdpPhone
) -> None:
    alice = phones[0]
    assert await udp_bob.register(lab.port, "bob", "bob-secret") == 200
    refused = await alice.authenticated(
        "INVITE", _call_uri(lab), "alice-secret", call_id="savp", body=offer(), to_user="bob"
    )
    assert refused.status == 488
    assert "SIP-5" in (refused.headers.get("warning") or "")
    with pytest.raises(TimeoutError):
        await udp_bob.receive(0.5)  # nothing was sent to the UDP phone


@pytest.mark.rule("SIP-5")
async def test_an_offer_whose_keys_came_in_clear_is_refused_with_488(lab: Lab, udp_bob: RawUdpPhone) -> None:
    assert await udp_bob.register(lab.port, "bob", "bob-secret") == 200
    phone = RawUdpPhone()
    try:
        uri = _call_uri(lab)
        sdp = [("Content-Type", "application/sdp")]
        phone.send(
            phone.request("INVITE", uri, call_id="clear", to_user="bob", headers=sdp, body=offer()), lab.port
        )
        challenge = await phone.response(5)
        assert challenge.status == 407
        auth = authorization_header(
            challenge.headers.get("proxy-authenticate") or "",
            username="alice",
            password="alice-secret",
            method="INVITE",
            uri=uri,
        )
        headers = [("Proxy-Authorization", auth), *sdp]
        phone.send(
            phone.request(
                "INVITE", uri, call_id="clear", cseq=2, to_user="bob", headers=headers, body=offer()
            ),
            lab.port,
        )
        refused = await phone.response(5)
    finally:
        phone.close()
    assert refused.status == 488
    assert "SIP-5" in (refused.headers.get("warning") or "")


async def test_tls_connections_have_the_tcp_caps_and_idle_timeout(
    lab: Lab, certificate: CertificatePair
) -> None:
    tls = lab.server._transports["TLS"]
    port = tls.local.port
    context = trusting(certificate.certificate)
    conns = [await asyncio.open_connection("127.0.0.1", port, ssl=context) for _ in range(4)]
    # four per address: a fifth is closed before its handshake
    with pytest.raises((ConnectionError, ssl.SSLError)):
        await asyncio.open_connection("127.0.0.1", port, ssl=context)
    assert all([await _closed(reader) for reader, _ in conns])  # idle: closed after the timeout
    await wait_for_condition(lambda: getattr(tls, "connection_count", -1) == 0, what="connections forgotten")
    for _, writer in conns:
        writer.close()


async def test_connections_that_never_start_a_handshake_count_under_the_caps(
    lab: Lab, certificate: CertificatePair
) -> None:
    tls = lab.server._transports["TLS"]
    port = tls.local.port
    silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]  # no ClientHello
    await wait_for_condition(lambda: getattr(tls, "connection_count", -1) == 4, what="four connections")
    with pytest.raises((ConnectionError, ssl.SSLError)):
        await asyncio.open_connection("127.0.0.1", port, ssl=trusting(certificate.certificate))
    # the handshake timeout closes them, and a phone gets in again
    assert all([await _closed(reader) for reader, _ in silent])
    await wait_for_condition(lambda: getattr(tls, "connection_count", -1) == 0, what="connections forgotten")
    phone = await TlsPhone.connect(port, certificate.certificate, "alice")
    phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id="after"))
    assert (await phone.response()).status == 200
    phone.close()
    for _, writer in silent:
        writer.close()


@pytest.mark.rule("SIP-5")
async def test_a_banned_address_gets_no_handshake(lab: Lab, certificate: CertificatePair) -> None:
    port = lab.server.bound_address("TLS").port
    lab.server.security.ban("127.0.0.1")
    with pytest.raises((ConnectionError, ssl.SSLError)):
        await asyncio.open_connection("127.0.0.1", port, ssl=trusting(certificate.certificate))
    assert lab.server.unban("127.0.0.1")
    phone = await TlsPhone.connect(port, certificate.certificate, "alice")
    phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", call_id="unbanned"))
    assert (await phone.response()).status == 200
    phone.close()


async def test_a_connection_that_never_completes_its_handshake_is_closed(lab: Lab) -> None:
    port = lab.server.bound_address("TLS").port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # plain TCP: no ClientHello
    assert await _closed(reader)
    writer.close()


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(5):
            return await reader.read(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True


async def test_a_sips_request_that_came_in_clear_is_refused(lab: Lab, udp_bob: RawUdpPhone) -> None:
    udp_bob.send(udp_bob.request("OPTIONS", f"sips:127.0.0.1:{lab.port}", user="bob"), lab.port)
    refused = await udp_bob.response(5)
    assert refused.status == 480
    assert refused.headers.get("warning") == '380 nuage.local "SIPS Not Allowed"'


async def test_a_call_to_a_sips_uri_rings_only_phones_over_tls(
    lab: Lab, phones: list[TlsPhone], udp_bob: RawUdpPhone
) -> None:
    alice = phones[0]
    assert await udp_bob.register(lab.port, "bob", "bob-secret") == 200
    tls_port = lab.server.bound_address("TLS").port
    unavailable = await alice.authenticated(
        "INVITE",
        f"sips:bob@127.0.0.1:{tls_port}",
        "alice-secret",
        call_id="sips",
        body=offer(),
        to_user="bob",
    )
    assert unavailable.status == 480
    with pytest.raises(TimeoutError):
        await udp_bob.receive(0.5)


async def test_a_call_to_a_sips_uri_is_answered_with_a_sips_contact(lab: Lab, phones: list[TlsPhone]) -> None:
    alice, bob = phones
    assert (
        await bob.authenticated("REGISTER", f"sips:127.0.0.1:{lab.port}", "bob-secret", call_id="r")
    ).status == 200
    tls_port = lab.server.bound_address("TLS").port
    calling = asyncio.create_task(
        alice.authenticated(
            "INVITE",
            f"sips:bob@127.0.0.1:{tls_port}",
            "alice-secret",
            call_id="sips-ok",
            body=offer(),
            to_user="bob",
        )
    )
    invite = await bob.incoming_request()
    assert invite.method == "INVITE"
    bob.send(bob.reply(invite, 200, "OK", body=offer(port=40100)))
    answer = await calling
    assert answer.status == 200
    assert answer.headers.get("contact") == f"<sips:nuage@127.0.0.1:{tls_port}>"  # RFC 3261 §12.1.1


class TlsCarrier:
    """A carrier gateway over TLS on localhost: it keeps the first request each connection sends."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self, certificate: CertificatePair) -> int:
        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.close()

        self.server = await asyncio.start_server(connected, "127.0.0.1", 0, ssl=server_context(certificate))
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def _call_out_over_tls(
    lab: Lab, alice: TlsPhone, carrier: TlsCarrier, certificate: CertificatePair
) -> None:
    """alice (over TLS) calls a number of the public network, which goes to a carrier over TLS;
    returns once the carrier has the INVITE or the call is over."""
    port = await carrier.start(certificate)
    # a name, so the certificate is checked against it (and the carrier is not every local client)
    lab.dial_plan.carrier = CarrierTrunk("trunk-carrier", "localhost", port, "TLS")
    calling = asyncio.create_task(
        alice.authenticated(
            "INVITE", _call_uri(lab, "+3225550000"), "alice-secret", call_id="out", body=offer(), to_user="x"
        )
    )
    try:
        await wait_for_condition(lambda: calling.done(), 10, what="the call to be placed")
        await wait_for_condition(
            lambda: bool(carrier.requests) or lab.server.calls() == [], 10, what="an end"
        )
    finally:
        calling.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncio.IncompleteReadError, TimeoutError):
            await calling


@pytest.fixture
async def carrier() -> AsyncIterator[TlsCarrier]:
    gateway = TlsCarrier()
    yield gateway
    gateway.close()


async def test_a_call_to_a_carrier_over_tls_checks_the_certificate_names_it(
    lab: Lab, phones: list[TlsPhone], certificate: CertificatePair, carrier: TlsCarrier
) -> None:
    await _call_out_over_tls(lab, phones[0], carrier, certificate)
    (invite,) = carrier.requests
    assert invite.startswith(b"INVITE sip:+3225550000@localhost:")
    assert b"Via: SIP/2.0/TLS " in invite
    assert b";transport=tls>" in invite


async def test_a_carrier_whose_certificate_is_not_trusted_gets_nothing(
    lab: Lab, phones: list[TlsPhone], tmp_path: Path, carrier: TlsCarrier
) -> None:
    impostor = demo_certificate(tmp_path / "impostor", ("127.0.0.1",))
    await _call_out_over_tls(lab, phones[0], carrier, impostor)
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is not CallOutcome.ANSWERED
    assert carrier.requests == []
