"""Issue #20 item 8: a 2xx the caller never ACKs is a failed call (RFC 3261 §13.3.1.4).

The B2BUA retransmits its 2xx for 64*T1 (32 s with T1 = 0.5 s), then hangs up both legs; the
CDR says the 2xx was never acknowledged and bills nothing. Virtual time: the timers fire when
the test moves the clock, whatever the machine's load."""

from __future__ import annotations

from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.message import Headers, SipRequest, SipUri
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import NOT_ACKNOWLEDGED, CallOutcome
from sip.unit.b2bua.lab import BOB_DESK, BOB_DESK_ONLY, DOMAIN, SERVER, b2bua_lab, sdp
from sip.unit.b2bua.test_calls import answer, ring


async def test_a_2xx_never_acked_hangs_up_both_legs_at_64_t1_and_bills_nothing() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        _, incoming, tag = await ring(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(incoming, 200, to_tag=tag, body=sdp(desk.address.host, 30000))
        await lab.carrier.response(200)
        await desk.request("ACK")  # the B2BUA's own ACK of the callee's 2xx
        await lab.advance(31.9)  # the caller never ACKs
        await lab.settle()
        assert len(lab.carrier.unread(200)) >= 6  # the 2xx retransmitted, T1 doubling to T2
        assert lab.carrier.unread("BYE") == []
        assert desk.unread("BYE") == []
        await lab.advance(0.1)  # 64*T1
        for peer in (lab.carrier, desk):
            peer.reply(await peer.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds, cdr.disposition, cdr.sip_status) == (
            CallOutcome.NO_ACK,
            0,
            NOT_ACKNOWLEDGED,
            200,
        )
        await lab.advance(3600.0)
        await lab.server.cdr_writer.flush()
        assert len(lab.cdrs.records) == 1
        assert lab.server.calls() == []
        assert lab.server.transaction_counts == (0, 0)


async def test_a_call_acked_is_billed_as_answered_and_not_cut_at_64_t1() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        await lab.advance(40.0)
        await lab.settle()
        assert lab.carrier.unread("BYE") == []
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(await desk.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds, cdr.disposition) == (CallOutcome.ANSWERED, 40, None)


async def test_a_delayed_offer_never_acked_acks_the_callees_2xx_before_its_bye() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        carrier = lab.carrier
        host, port = carrier.address.host, carrier.address.port
        headers = Headers()
        headers.add("via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        headers.add("max-forwards", "70")
        headers.add("from", f"<sip:+3211111111@{host}>;tag={new_tag()}")
        headers.add("to", f"<sip:{BOB_DESK_ONLY}@{DOMAIN}>")
        headers.add("call-id", new_tag())
        headers.add("cseq", "1 INVITE")
        headers.add("contact", f"<sip:peer@{host}:{port}>")
        carrier.send(
            SipRequest("INVITE", SipUri("sip", SERVER.host, user=BOB_DESK_ONLY, port=SERVER.port), headers)
        )
        desk = lab.phones[BOB_DESK.device_id]
        incoming = await desk.request("INVITE")
        assert incoming.body == b""  # a delayed offer: the callee makes the offer in its 2xx
        desk.reply(incoming, 200, to_tag=new_tag(), body=sdp(desk.address.host, 30000))
        await carrier.response(200)
        await lab.advance(32.0)  # the caller never ACKs (nor answers the offer)
        ack = await desk.request("ACK")
        bye = await desk.request("BYE")
        assert ack.cseq.number == incoming.cseq.number
        desk.reply(bye, 200)
        carrier.reply(await carrier.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds) == (CallOutcome.NO_ACK, 0)
