"""Real softphones over TLS: baresip registers and calls another baresip with SRTP keys (SDES)
exchanged only over TLS; towards a phone on UDP an offer that mandates SRTP is refused (SIP-5)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from nuage.sip import SipSettings
from nuage.sip.ports import CallOutcome
from nuage.sip.tls import TlsContexts
from nuage.sip.tls_certs import CertificatePair, client_context, demo_certificate, server_context
from sip.baresip_phone import Baresip, running_baresip
from sip.harness import Lab, needs_baresip
from waiting import wait_for_condition

pytestmark = [pytest.mark.baresip, pytest.mark.slow, needs_baresip]


@pytest.fixture
def certificate(tmp_path: Path) -> CertificatePair:
    return demo_certificate(tmp_path / "tls", ("127.0.0.1",))


@pytest.fixture
def lab_settings(certificate: CertificatePair) -> SipSettings:
    contexts = TlsContexts(server_context(certificate), client_context(certificate.certificate), port=0)
    return SipSettings(
        listen_port=0, t1_s=0.1, t2_s=0.4, no_answer_timeout_s=10.0, cdr_flush_interval_ms=50, tls=contexts
    )


def _account(lab: Lab, user: str, *, transport: str, answer: str, mediaenc: str | None) -> str:
    port = lab.server.bound_address(transport.upper()).port
    encryption = f";mediaenc={mediaenc}" if mediaenc else ""
    return (
        f"<sip:{user}@127.0.0.1:{port};transport={transport}>;auth_pass={user}-secret;regint=300;"
        f"answermode={answer};audio_codecs=PCMU{encryption}"
    )


async def _registered(lab: Lab, user: str, transport: str) -> None:
    def done() -> bool:
        return any(b.username == user and b.source_transport == transport for b in lab.server.registrations())

    await wait_for_condition(done, 30, 0.05, f"{user} registered over {transport}")


@pytest.mark.rule("SIP-5")
async def test_baresip_calls_baresip_over_tls_with_mandatory_srtp(
    lab: Lab, tmp_path: Path, certificate: CertificatePair
) -> None:
    async with (
        running_baresip(
            tmp_path / "alice",
            account=_account(lab, "alice", transport="tls", answer="manual", mediaenc="srtp-mand"),
            modules=("srtp",),
            extra=(f"sip_cafile {certificate.certificate}",),
        ) as alice,
        running_baresip(
            tmp_path / "bob",
            account=_account(lab, "bob", transport="tls", answer="auto", mediaenc="srtp-mand"),
            modules=("srtp",),
            extra=(f"sip_cafile {certificate.certificate}",),
        ) as bob,
    ):
        await _registered(lab, "alice", "TLS")
        await _registered(lab, "bob", "TLS")
        tls_port = lab.server.bound_address("TLS").port
        await alice.command("dial", f"sip:bob@127.0.0.1:{tls_port};transport=tls")
        await alice.wait_event("CALL_ESTABLISHED")  # SRTP or nothing: the keys went both ways
        await bob.wait_event("CALL_ESTABLISHED")
        assert [call.state.value for call in lab.server.calls()] == ["connected"]
        await asyncio.sleep(1.2)  # how long the call lasts (both send audio meanwhile): no wait on anyone
        await alice.command("hangup")
        await bob.wait_event("CALL_CLOSED")
    await wait_for_condition(lambda: lab.server.calls() == [], 30, what="the call to end")
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.billable_seconds >= 1


@pytest.mark.rule("SIP-5")
async def test_baresip_with_mandatory_srtp_gets_488_for_a_phone_on_udp(
    lab: Lab, tmp_path: Path, certificate: CertificatePair
) -> None:
    async with (
        running_baresip(
            tmp_path / "alice",
            account=_account(lab, "alice", transport="tls", answer="manual", mediaenc="srtp-mand"),
            modules=("srtp",),
            extra=(f"sip_cafile {certificate.certificate}",),
        ) as alice,
        running_baresip(
            tmp_path / "bob", account=_account(lab, "bob", transport="udp", answer="auto", mediaenc=None)
        ) as bob,
    ):
        await _registered(lab, "alice", "TLS")
        await _registered(lab, "bob", "UDP")
        tls_port = lab.server.bound_address("TLS").port
        await alice.command("dial", f"sip:bob@127.0.0.1:{tls_port};transport=tls")
        closed = await alice.wait_event("CALL_CLOSED")
        assert "488" in str(closed.get("param")), closed
        assert not _saw(bob, "CALL_INCOMING")
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.REFUSED


def _saw(phone: Baresip, kind: str) -> bool:
    return any(event.get("type") == kind for event in phone.events)


@pytest.mark.rule("SIP-5")
async def test_baresip_with_srtp_if_possible_calls_a_phone_on_udp_in_plain_rtp(
    lab: Lab, tmp_path: Path, certificate: CertificatePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "nuage.sip.transport")
    async with (
        running_baresip(
            tmp_path / "alice",
            account=_account(lab, "alice", transport="tls", answer="manual", mediaenc="srtp"),
            modules=("srtp",),
            extra=(f"sip_cafile {certificate.certificate}",),
        ) as alice,
        running_baresip(
            tmp_path / "bob",
            account=_account(lab, "bob", transport="udp", answer="auto", mediaenc="srtp"),
            modules=("srtp",),
        ) as bob,
    ):
        await _registered(lab, "alice", "TLS")
        await _registered(lab, "bob", "UDP")
        tls_port = lab.server.bound_address("TLS").port
        await alice.command("dial", f"sip:bob@127.0.0.1:{tls_port};transport=tls")
        # bob got the offer without its keys (they never leave over UDP) and answered plain RTP
        await alice.wait_event("CALL_ESTABLISHED")
        await bob.wait_event("CALL_ESTABLISHED")
        await alice.command("hangup")
        await bob.wait_event("CALL_CLOSED")
    assert "SDES keys removed from a message sent in clear (SIP-5)" in caplog.text
