"""Forwarding feature codes and call pickup (issue #15), dialled on a phone of the in-memory B2BUA.

A phone's INVITE is challenged (407) and sent again with its digest credentials, as a real phone
does; the carrier's calls ring Bob (two phones) and Carol (one).
"""

from __future__ import annotations

import pytest

from nuage.sip.digest import authorization_header
from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.message import Headers, SipRequest, SipResponse, SipUri
from nuage.sip.ports import SipAccount
from nuage.sip.routing import ForwardingRule
from sip.unit.b2bua.lab import BOB, BOB_DESK, CAROL, DOMAIN, SERVER, B2buaLab, Peer, sdp
from sip.unit.b2bua.test_routing import BOB_USER, lab_with, routing


def _invite(
    peer: Peer, account: SipAccount, dialled: str, call_id: str, cseq: int, auth: str | None
) -> SipRequest:
    host, port = peer.address.host, peer.address.port
    out = Headers()
    out.add("via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
    out.add("max-forwards", "70")
    out.add("from", f"<sip:{account.username}@{DOMAIN}>;tag={new_tag()}")
    out.add("to", f"<sip:{dialled}@{DOMAIN}>")
    out.add("call-id", call_id)
    out.add("cseq", f"{cseq} INVITE")
    out.add("contact", f"<sip:{account.username}@{host}:{port}>")
    if auth is not None:
        out.add("proxy-authorization", auth)
    out.add("content-type", "application/sdp")
    request = SipRequest("INVITE", SipUri("sip", SERVER.host, user=dialled, port=SERVER.port), out)
    request.body = sdp(host, 24000)
    peer.send(request)
    return request


async def dial(lab: B2buaLab, account: SipAccount, dialled: str) -> SipRequest:
    """``account``'s phone dials ``dialled``, answering the digest challenge; the INVITE that counts."""
    phone = lab.phones[account.device_id]
    call_id = new_tag() + new_tag()
    first = _invite(phone, account, dialled, call_id, 1, None)
    challenge = await phone.response(407)
    assert challenge.to_tag  # RFC 3261 §8.2.6.2, the ACK below carries it
    phone.ack_error(first, challenge)
    uri = str(first.uri)
    auth = authorization_header(
        challenge.headers.get("proxy-authenticate") or "",
        username=account.username,
        password=account.password,
        method="INVITE",
        uri=uri,
    )
    return _invite(phone, account, dialled, call_id, 2, auth)


async def confirmed(lab: B2buaLab, account: SipAccount, invite: SipRequest) -> SipResponse:
    """The feature code's 200 (media declined), ACKed; the platform hangs up."""
    phone = lab.phones[account.device_id]
    ok = await phone.response(200)
    phone.send_in_dialog(phone.dialog_as_caller(invite, ok), "ACK", cseq=2)
    bye = await phone.request("BYE")
    phone.reply(bye, 200)
    return ok


async def test_a_phone_sets_and_clears_its_users_forwards_with_feature_codes() -> None:
    found = routing()
    async with lab_with(found) as lab:
        ok = await confirmed(lab, CAROL, await dial(lab, CAROL, "*21*200%23"))
        assert "Forward unconditional: 200" in (ok.headers.get("p-asserted-identity") or "")
        assert found.rules["usr-carol"].unconditional == "200"
        await confirmed(lab, CAROL, await dial(lab, CAROL, "*61*200*15%23"))
        assert (found.rules["usr-carol"].no_answer, found.rules["usr-carol"].no_answer_s) == ("200", 15.0)
        await confirmed(lab, CAROL, await dial(lab, CAROL, "%2321%23"))
        await confirmed(lab, CAROL, await dial(lab, CAROL, "*78"))
        assert found.rules["usr-carol"] == ForwardingRule(no_answer="200", no_answer_s=15.0, dnd=True)
        cdrs = await lab.cdrs_written(4)
        assert [cdr.callee for cdr in cdrs] == ["*21", "*61", "#21#", "*78"]  # never the destination


@pytest.mark.rule("EMG-2")
async def test_a_forward_to_an_emergency_number_is_refused_from_the_phone() -> None:
    found = routing()
    async with lab_with(found) as lab:
        await dial(lab, CAROL, "*21*112%23")
        refused = await lab.phones[CAROL.device_id].response(403)
        assert "EMG-2" in (refused.headers.get("warning") or "")
        assert "usr-carol" not in found.rules


@pytest.mark.parametrize("code", ["*8", "**200"])
async def test_a_ringing_call_is_picked_up_from_another_phone(code: str) -> None:
    async with lab_with(routing()) as lab:
        lab.carrier.invite(BOB_USER)
        rung = {}
        for account in (BOB, BOB_DESK):
            phone = lab.phones[account.device_id]
            rung[account.device_id] = incoming = await phone.request("INVITE")
            phone.reply(incoming, 180, to_tag=new_tag())
        await lab.carrier.response(180)
        invite = await dial(lab, CAROL, code)
        carol = lab.phones[CAROL.device_id]
        picked = await carol.response(200)
        assert picked.body == sdp("192.0.2.1", 20000)  # the caller's offer
        answered = await lab.carrier.response(200)
        assert answered.body == sdp(carol.address.host, 24000)  # the picking phone's
        for account in (BOB, BOB_DESK):
            phone = lab.phones[account.device_id]
            phone.reply(await phone.request("CANCEL"), 200)
            phone.reply(rung[account.device_id], 487, to_tag=new_tag())
        carol.send_in_dialog(carol.dialog_as_caller(invite, picked), "ACK", cseq=2)
        carol.send_in_dialog(carol.dialog_as_caller(invite, picked), "BYE", cseq=3)
        bye = await lab.carrier.request("BYE")
        lab.carrier.reply(bye, 200)
        (cdr,) = await lab.cdrs_written(1)
        assert cdr.answered_at is not None


async def test_nothing_ringing_to_pick_up_is_not_found() -> None:
    async with lab_with(routing()) as lab:
        await dial(lab, CAROL, "*8")
        await lab.phones[CAROL.device_id].response(404)
