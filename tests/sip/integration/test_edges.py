"""Edge cases over real UDP with hand-written messages: garbage, auth answers, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from nuage.sip.digest import authorization_header
from nuage.sip.policy import RefuseAllPolicy
from nuage.sip.ports import CallOutcome, CallPolicy
from sip.harness import Lab, RawUdpPhone


@pytest.fixture
async def phone() -> AsyncIterator[RawUdpPhone]:
    p = RawUdpPhone()
    yield p
    p.close()


async def _register(
    lab: Lab, phone: RawUdpPhone, user: str, password: str, *, expires: int = 300, cseq: int = 1
) -> int:
    uri = f"sip:127.0.0.1:{lab.port}"
    phone.send(
        phone.request("REGISTER", uri, user=user, cseq=cseq, headers=[("Expires", str(expires))]), lab.port
    )
    challenge = await phone.response()
    assert challenge.status == 401
    auth = authorization_header(
        challenge.headers.get("www-authenticate") or "",
        username=user,
        password=password,
        method="REGISTER",
        uri=uri,
    )
    phone.send(
        phone.request(
            "REGISTER",
            uri,
            user=user,
            cseq=cseq + 1,
            headers=[("Expires", str(expires)), ("Authorization", auth)],
        ),
        lab.port,
    )
    return (await phone.response()).status


async def test_malformed_request_gets_400_with_a_reason_and_the_server_keeps_serving(
    lab: Lab, phone: RawUdpPhone
) -> None:
    bad = phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")
    phone.send(bad, lab.port)
    response = await phone.response()
    assert response.status == 400
    assert "CSeq" in response.reason
    bad_from = phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", cseq=3).replace(
        "From: <sip:alice@nuage.local>", "From: <sip:alice@[::1>"
    )
    phone.send(bad_from.replace("OPTIONS sip", "INVITE sip").replace("3 OPTIONS", "3 INVITE"), lab.port)
    assert (await phone.response()).status == 400  # From is parsed lazily, still answered with 400
    phone.send(b"\x00\xffgarbage that is not SIP at all\r\n\r\n", lab.port)
    phone.send(phone.request("OPTIONS", f"sip:127.0.0.1:{lab.port}", cseq=2), lab.port)
    assert (await phone.response()).status == 200


@pytest.mark.rule("SIP-5")
async def test_unknown_user_and_wrong_password_get_identical_answers(lab: Lab, phone: RawUdpPhone) -> None:
    assert await _register(lab, phone, "alice", "wrong") == 403
    assert await _register(lab, phone, "mallory", "whatever") == 403


@pytest.mark.rule("SIP-1")
async def test_register_refresh_and_unregister(lab: Lab, phone: RawUdpPhone) -> None:
    assert await _register(lab, phone, "alice", "alice-secret") == 200
    assert [b.username for b in lab.server.registrations()] == ["alice"]
    assert await _register(lab, phone, "alice", "alice-secret", expires=0, cseq=1) == 500  # out of order
    assert await _register(lab, phone, "alice", "alice-secret", expires=0, cseq=3) == 200
    assert lab.server.registrations() == []
    assert lab.bindings.bindings == {}


async def test_too_short_expiry_gets_423_with_min_expires(lab: Lab, phone: RawUdpPhone) -> None:
    uri = f"sip:127.0.0.1:{lab.port}"
    phone.send(phone.request("REGISTER", uri, headers=[("Expires", "5")]), lab.port)
    challenge = await phone.response()
    auth = authorization_header(
        challenge.headers.get("www-authenticate") or "",
        username="alice",
        password="alice-secret",
        method="REGISTER",
        uri=uri,
    )
    phone.send(
        phone.request("REGISTER", uri, cseq=2, headers=[("Expires", "5"), ("Authorization", auth)]), lab.port
    )
    response = await phone.response()
    assert response.status == 423
    assert response.headers.get("min-expires") == "60"


async def _invite(lab: Lab, phone: RawUdpPhone, dialled: str) -> tuple[int, str | None]:
    uri = f"sip:{dialled}@127.0.0.1:{lab.port}"
    phone.send(phone.request("INVITE", uri, to_user=dialled, call_id="inv-1"), lab.port)
    challenge = await phone.response()
    assert challenge.status == 407
    phone.send(phone.request("ACK", uri, to_user=dialled, call_id="inv-1"), lab.port)
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username="alice",
        password="alice-secret",
        method="INVITE",
        uri=uri,
    )
    phone.send(
        phone.request(
            "INVITE", uri, to_user=dialled, call_id="inv-1", cseq=2, headers=[("Proxy-Authorization", auth)]
        ),
        lab.port,
    )
    final = await phone.response()
    phone.send(phone.request("ACK", uri, to_user=dialled, call_id="inv-1", cseq=2), lab.port)
    return final.status, final.headers.get("warning")


async def test_unknown_destination_gets_404_and_a_cdr(lab: Lab, phone: RawUdpPhone) -> None:
    status, _ = await _invite(lab, phone, "nobody")
    assert status == 404
    await lab.flush_cdrs()
    (cdr,) = lab.cdrs.records
    assert cdr.outcome is CallOutcome.NOT_FOUND


async def test_user_without_registered_phone_gets_480(lab: Lab, phone: RawUdpPhone) -> None:
    status, _ = await _invite(lab, phone, "bob")
    assert status == 480
    await lab.flush_cdrs()
    assert lab.cdrs.records[0].outcome is CallOutcome.UNAVAILABLE


class TestRefusals:
    @pytest.fixture
    def lab_policy(self) -> CallPolicy:
        return RefuseAllPolicy("CAP-3", "all 2 channels in use")

    @pytest.mark.rule("CAP-3")
    async def test_refusal_cites_the_rule_in_a_warning_header(self, lab: Lab, phone: RawUdpPhone) -> None:
        status, warning = await _invite(lab, phone, "bob")
        assert status == 486
        assert warning == '399 nuage.local "CAP-3 all 2 channels in use"'
        await lab.flush_cdrs()
        (cdr,) = lab.cdrs.records
        assert cdr.outcome is CallOutcome.REFUSED
        assert cdr.refusal_rule_id == "CAP-3"
