"""The digest challenge of a phone's first INVITE (RFC 3261 §22.3), sent statelessly (§8.2.7).

A request without credentials proves nothing: the B2BUA answers it 407 at once, keeps no
transaction for it, and challenges a retransmission again (issue #22: no task, no timers for the
first half of every call). What admission weighs first still comes first, and a source known by
its address (a carrier's gateway, SIP-3's trunks) is never challenged.
"""

from __future__ import annotations

import pytest

from nuage.sip.digest import authorization_header
from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.memory import MemoryDialPlan
from nuage.sip.message import Headers, SipRequest, SipResponse, SipUri
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import SipAccount
from sip.unit.b2bua.lab import BOB, BOB_DESK, CAROL, CAROL_ONLY, DOMAIN, SERVER, Peer, b2bua_lab, sdp


def invite(
    peer: Peer,
    dialled: str,
    *,
    extra: tuple[tuple[str, str], ...] = (),
    method: str = "INVITE",
    max_forwards: str = "70",
) -> SipRequest:
    """A request from outside any dialog, an INVITE with an offer unless ``method`` says otherwise."""
    host, port = peer.address.host, peer.address.port
    out = Headers()
    out.add("via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
    out.add("max-forwards", max_forwards)
    out.add("from", f"<sip:{BOB.username}@{DOMAIN}>;tag={new_tag()}")
    out.add("to", f"<sip:{dialled}@{DOMAIN}>")
    out.add("call-id", new_tag() + new_tag())
    out.add("cseq", f"1 {method}")
    out.add("contact", f"<sip:{BOB.username}@{host}:{port}>")
    for name, value in extra:
        out.add(name, value)
    request = SipRequest(method, SipUri("sip", SERVER.host, user=dialled, port=SERVER.port), out)
    if method == "INVITE":
        out.add("content-type", "application/sdp")
        request.body = sdp(host, 24000)
    return request


async def test_a_first_invite_is_challenged_at_once_and_leaves_no_transaction() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        phone = lab.phones[BOB.device_id]
        first = invite(phone, "300")
        phone.send(first)
        challenge = await phone.response(407)
        assert challenge.to_tag  # §8.2.6.2: the ACK carries it back
        assert "qop=" in (challenge.headers.get("proxy-authenticate") or "")
        assert phone.unread(100) == []  # answered at once: no 100 (Trying) before it
        await lab.settle()
        assert lab.server.transaction_counts == (0, 0)

        phone.ack_error(first, challenge)  # matches nothing now: dropped, nothing answered
        phone.send(first)  # the same INVITE again, as if the 407 were lost: challenged anew
        again = await phone.response(407)
        await lab.settle()
        assert again.headers.get("proxy-authenticate") != challenge.headers.get("proxy-authenticate")
        assert phone.unread(481) == []
        assert phone.unread(400) == []
        assert lab.server.transaction_counts == (0, 0)
        await lab.advance(40.0)  # no timer G or H of a 407 left to fire
        assert phone.unread(407) == []


async def test_the_answer_to_the_challenge_places_the_call() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        phone, carol = lab.phones[BOB.device_id], lab.phones[CAROL.device_id]
        first = invite(phone, CAROL_ONLY)
        phone.send(first)
        challenge = await phone.response(407)
        phone.ack_error(first, challenge)
        auth = authorization_header(
            challenge.headers.get("proxy-authenticate") or "",
            username=BOB.username,
            password=BOB.password,
            method="INVITE",
            uri=str(first.uri),
        )
        second = invite(phone, CAROL_ONLY, extra=(("proxy-authorization", auth),))
        phone.send(second)
        ringing = await carol.request("INVITE")
        carol.reply(ringing, 486)
        busy = await phone.response(486)
        assert isinstance(busy, SipResponse)


@pytest.mark.parametrize(
    ("extra", "max_forwards", "status"),
    [
        ((("session-expires", "30"),), "70", 422),  # RFC 4028: below Min-SE, whoever asks
        ((), "0", 483),
    ],
)
async def test_what_admission_weighs_before_the_challenge_still_comes_first(
    extra: tuple[tuple[str, str], ...], max_forwards: str, status: int
) -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        phone = lab.phones[BOB_DESK.device_id]
        phone.send(invite(phone, "300", extra=extra, max_forwards=max_forwards))
        answer = await phone.response(status)
        assert answer.to_tag
        assert phone.unread(407) == []


async def test_the_carriers_gateway_is_not_challenged() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        lab.carrier.send(invite(lab.carrier, CAROL_ONLY))
        ringing = await lab.phones[CAROL.device_id].request("INVITE")
        assert ringing.method == "INVITE"
        assert lab.carrier.unread(407) == []


@pytest.mark.rule("SIP-3")
async def test_a_pbx_authenticated_by_its_address_is_not_challenged() -> None:
    pbx = SipAccount("dev-pbx", "acc-1", None, "pbx", "pbx-secret", "PBX", trunk_id="trk-1")

    def plan(dial_plan: MemoryDialPlan) -> None:
        dial_plan.ip_trunks[("10.0.0.9", 5060)] = pbx

    async with b2bua_lab(DialPlanPolicy(), plan=plan) as lab:
        trunk = Peer(lab.network, "10.0.0.9")
        trunk.send(invite(trunk, CAROL_ONLY))
        ringing = await lab.phones[CAROL.device_id].request("INVITE")
        assert ringing.method == "INVITE"
        assert trunk.unread(407) == []


async def test_options_and_refusals_of_the_dispatcher_carry_a_to_tag() -> None:
    """§8.2.6.2: every response but a 100 to a request outside a dialog gets a tag of ours."""
    async with b2bua_lab(DialPlanPolicy()) as lab:
        phone = lab.phones[BOB.device_id]
        for method, status in (("OPTIONS", 200), ("MESSAGE", 405), ("BYE", 481)):
            phone.send(invite(phone, "300", method=method))
            answer = await phone.response(status, method)
            assert answer.to_tag, method
