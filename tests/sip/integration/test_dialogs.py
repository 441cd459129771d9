"""Dialog behaviour with hand-driven phones: session timers (RFC 4028), shutdown, introspection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from nuage.sip import SipSettings
from nuage.sip.digest import authorization_header
from nuage.sip.message import SipRequest, make_response
from nuage.sip.ports import CallOutcome
from sip.harness import Lab, RawUdpPhone
from waiting import wait_for_condition

SDP = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


@pytest.fixture
def lab_settings() -> SipSettings:
    return SipSettings(
        listen_port=0,
        t1_s=0.1,
        t2_s=0.4,
        no_answer_timeout_s=2.0,
        cdr_flush_interval_ms=50,
        min_session_expires_s=2,
    )


@pytest.fixture
async def alice() -> AsyncIterator[RawUdpPhone]:
    phone = RawUdpPhone()
    yield phone
    phone.close()


@pytest.fixture
async def bob(lab: Lab) -> AsyncIterator[RawUdpPhone]:
    phone = RawUdpPhone()
    assert await phone.register(lab.port, "bob", "bob-secret") == 200
    yield phone
    phone.close()


async def _call(lab: Lab, alice: RawUdpPhone, bob: RawUdpPhone, extra: list[tuple[str, str]]) -> str:
    """alice calls bob (who answers with the same extra headers); return alice's to-tag."""
    uri = f"sip:bob@127.0.0.1:{lab.port}"
    alice.send(
        alice.request("INVITE", uri, to_user="bob", call_id="dlg-1", headers=extra, body=SDP), lab.port
    )
    challenge = await alice.response()
    assert challenge.status == 407
    alice.send(
        alice.request("ACK", uri, to_user="bob", call_id="dlg-1", to_tag=challenge.to_addr.tag), lab.port
    )
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username="alice",
        password="alice-secret",
        method="INVITE",
        uri=uri,
    )
    headers = [*extra, ("Proxy-Authorization", auth)]
    alice.send(
        alice.request("INVITE", uri, to_user="bob", call_id="dlg-1", cseq=2, headers=headers, body=SDP),
        lab.port,
    )
    invite = await bob.incoming_request()
    assert invite.method == "INVITE"
    answer = make_response(invite, 200, to_tag="bobtag", body=SDP.encode(), headers=extra)
    answer.headers.add("contact", f"<sip:bob@127.0.0.1:{bob.port}>")
    answer.headers.add("content-type", "application/sdp")
    bob.send(answer.to_bytes(), lab.port)
    ok = await alice.response()
    assert ok.status == 200
    assert ok.to_addr.tag is not None
    alice.send(
        alice.request("ACK", uri, to_user="bob", call_id="dlg-1", cseq=2, to_tag=ok.to_addr.tag), lab.port
    )
    ack = await bob.incoming_request()
    assert ack.method == "ACK"
    return ok.to_addr.tag


async def _answer_bye(phone: RawUdpPhone, lab: Lab, timeout: float) -> SipRequest:
    request = await phone.incoming_request(timeout)
    assert request.method == "BYE"
    phone.send(make_response(request, 200).to_bytes(), lab.port)
    return request


async def test_session_expires_below_min_se_gets_422(lab: Lab, alice: RawUdpPhone) -> None:
    uri = f"sip:bob@127.0.0.1:{lab.port}"
    alice.send(alice.request("INVITE", uri, to_user="bob", headers=[("Session-Expires", "1")]), lab.port)
    response = await alice.response()
    assert response.status == 422
    assert response.headers.get("min-se") == "2"


async def test_unrefreshed_session_is_ended_with_bye_on_both_sides(
    lab: Lab, alice: RawUdpPhone, bob: RawUdpPhone
) -> None:
    timer = [("Session-Expires", "2;refresher=uac"), ("Supported", "timer")]
    await _call(lab, alice, bob, timer)
    assert [call.state.value for call in lab.server.calls()] == ["connected"]
    # RFC 4028 §10: without a refresh, BYE before expiry (2 - 2/3 s here)
    await asyncio.gather(_answer_bye(alice, lab, 3.0), _answer_bye(bob, lab, 3.0))
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.ANSWERED
    assert cdr.billable_seconds >= 1


async def test_shutdown_refuses_new_calls_then_ends_current_ones_and_flushes_cdrs(
    lab: Lab, alice: RawUdpPhone, bob: RawUdpPhone
) -> None:
    await _call(lab, alice, bob, [])
    (info,) = lab.server.calls()
    assert info.caller == "alice"
    assert info.callee == "bob"
    stopping = asyncio.create_task(lab.server.stop(grace_s=0.5))
    await wait_for_condition(lambda: not lab.server.accepting, timeout=30, what="the server stopping")
    late = RawUdpPhone()
    try:
        late.send(
            late.request("INVITE", f"sip:bob@127.0.0.1:{lab.port}", to_user="bob", call_id="late"), lab.port
        )
        assert (await late.response()).status == 503
    finally:
        late.close()
    await asyncio.gather(_answer_bye(alice, lab, 2.0), _answer_bye(bob, lab, 2.0))
    await stopping
    (cdr,) = lab.cdrs.records  # flushed by stop() itself
    assert cdr.outcome is CallOutcome.ANSWERED
