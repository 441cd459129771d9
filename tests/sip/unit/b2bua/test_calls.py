"""The B2BUA on in-memory ports and virtual time: what a call does, message by message, and its CDR.

Calls come from the carrier's gateway (no digest to answer) to phones registered in the binding
store; the test speaks for both ends. Timers (no-answer, max duration, session, transaction
timeouts) fire when the test moves the virtual time on, never on the machine's clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_tag
from nuage.sip.message import SipRequest
from nuage.sip.policy import DialPlanPolicy, HuntPolicy, RefuseAllPolicy
from nuage.sip.ports import CallOutcome, Direction
from sip.unit.b2bua.lab import (
    BOB,
    BOB_ALL,
    BOB_DESK,
    BOB_DESK_ONLY,
    CAROL,
    CAROL_ROUTE,
    NOBODY,
    B2buaLab,
    b2bua_lab,
    sdp,
)


async def ring(lab: B2buaLab, dialled: str, device_id: str) -> tuple[SipRequest, SipRequest, str]:
    """The carrier calls ``dialled``; the phone ``device_id`` rings. (caller's INVITE, phone's, tag)."""
    invite = lab.carrier.invite(dialled)
    phone = lab.phones[device_id]
    incoming = await phone.request("INVITE")
    tag = new_tag()
    phone.reply(incoming, 180, to_tag=tag)
    await lab.carrier.response(180)
    return invite, incoming, tag


async def answer(
    lab: B2buaLab, dialled: str, device_id: str, *, headers: tuple[tuple[str, str], ...] = ()
) -> tuple[Dialog, Dialog]:
    """A call the phone answers and the caller ACKs: (caller's dialog, phone's dialog)."""
    invite, incoming, tag = await ring(lab, dialled, device_id)
    phone = lab.phones[device_id]
    phone.reply(incoming, 200, to_tag=tag, body=sdp(phone.address.host, 30000), headers=headers)
    ok = await lab.carrier.response(200)
    assert ok.body == sdp(phone.address.host, 30000)  # the callee's answer, passed on
    await phone.request("ACK")  # early offer: the B2BUA ACKs the callee's 2xx at once
    caller = lab.carrier.dialog_as_caller(invite, ok)
    lab.carrier.send_in_dialog(caller, "ACK", cseq=invite.cseq.number)
    await lab.settle()
    return caller, phone.dialog_as_callee(incoming, tag)


async def test_a_caller_gets_100_trying_only_when_nothing_else_answers_within_100_ms() -> None:
    """RFC 3261 §17.2.1: the 100 stops the caller's retransmissions; a 180 sent sooner makes it
    one datagram too many (issue #22). A callee slow to ring: the 100 comes at 100 ms, once."""
    async with b2bua_lab(DialPlanPolicy()) as lab:
        await ring(lab, BOB_DESK_ONLY, BOB_DESK.device_id)  # rings at once: 180, and no 100
        await lab.settle()
        assert lab.carrier.unread(100) == []
        lab.carrier.invite(BOB_DESK_ONLY)
        await lab.phones[BOB_DESK.device_id].request("INVITE")
        await lab.advance(0.05)
        assert lab.carrier.unread(100) == []
        await lab.advance(0.06)
        await lab.carrier.response(100)
        await lab.advance(1.0)
        assert lab.carrier.unread(100) == []


async def test_an_invite_sent_again_before_any_answer_gets_100_trying_at_once() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        invite = lab.carrier.invite(BOB_DESK_ONLY)
        await lab.phones[BOB_DESK.device_id].request("INVITE")
        lab.carrier.send(invite)  # its retransmission, before 100 ms
        await lab.carrier.response(100)


@pytest.mark.parametrize("hangs_up", ["caller", "callee"])
async def test_an_answered_call_ends_in_exactly_one_cdr_whoever_hangs_up(hangs_up: str) -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        phone = lab.phones[BOB_DESK.device_id]
        await lab.advance(61.0)
        if hangs_up == "caller":
            lab.carrier.send_in_dialog(caller, "BYE")
            await lab.carrier.response(200, "BYE")
            bye = await phone.request("BYE")
            phone.reply(bye, 200)
        else:
            phone.send_in_dialog(callee, "BYE")
            await phone.response(200, "BYE")
            bye = await lab.carrier.request("BYE")
            lab.carrier.reply(bye, 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.sip_status, cdr.billable_seconds) == (CallOutcome.ANSWERED, 200, 61)
        assert (cdr.direction, cdr.account_id, cdr.callee, cdr.caller) == (
            Direction.INBOUND,
            "acc-1",
            BOB_DESK_ONLY,
            "+3211111111",
        )
        await lab.advance(3600.0)  # every timer left runs out: no second CDR, nothing left alive
        await lab.server.cdr_writer.flush()
        assert len(lab.cdrs.records) == 1
        assert lab.server.calls() == []
        assert lab.server.transaction_counts == (0, 0)


async def test_a_call_to_a_user_rings_every_phone_and_the_first_answer_wins() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        invite = lab.carrier.invite(BOB_ALL)
        bob, desk = lab.phones[BOB.device_id], lab.phones[BOB_DESK.device_id]
        on_bob, on_desk = await bob.request("INVITE"), await desk.request("INVITE")
        bob_tag, desk_tag = new_tag(), new_tag()
        bob.reply(on_bob, 180, to_tag=bob_tag)
        desk.reply(on_desk, 180, to_tag=desk_tag)
        desk.reply(on_desk, 200, to_tag=desk_tag, body=sdp(desk.address.host, 30000))
        await lab.carrier.response(200)
        cancel = await bob.request("CANCEL")  # the other phone stops ringing
        bob.reply(cancel, 200)
        bob.reply(on_bob, 487, to_tag=bob_tag)
        await bob.request("ACK")
        assert invite.call_id != on_bob.call_id  # a B2BUA: a call of its own on each side


async def test_cancel_before_answer_stops_every_phone_and_writes_a_cancelled_cdr() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        invite = lab.carrier.invite(BOB_ALL)
        ringing = []
        for device_id in (BOB.device_id, BOB_DESK.device_id):
            phone = lab.phones[device_id]
            incoming, tag = await phone.request("INVITE"), new_tag()
            phone.reply(incoming, 180, to_tag=tag)
            ringing.append((phone, incoming, tag))
        await lab.carrier.response(180)
        lab.carrier.cancel(invite)
        await lab.carrier.response(200, "CANCEL")
        terminated = await lab.carrier.response(487)
        lab.carrier.ack_error(invite, terminated)
        for phone, incoming, tag in ringing:
            cancel = await phone.request("CANCEL")
            phone.reply(cancel, 200)
            phone.reply(incoming, 487, to_tag=tag)
            await phone.request("ACK")
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.sip_status, cdr.billable_seconds, cdr.answered_at) == (
            CallOutcome.CANCELLED,
            487,
            0,
            None,
        )


@pytest.mark.rule("CAP-3")
async def test_a_refused_call_gets_the_rules_status_and_a_warning_citing_it() -> None:
    async with b2bua_lab(RefuseAllPolicy("CAP-3", "all channels in use")) as lab:
        invite = lab.carrier.invite(BOB_DESK_ONLY)
        refused = await lab.carrier.response(486)
        assert refused.reason == "Capacity Exceeded"
        assert refused.headers.get("warning") == '399 nuage.test "CAP-3 all channels in use"'
        lab.carrier.ack_error(invite, refused)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.refusal_rule_id, cdr.sip_status) == (CallOutcome.REFUSED, "CAP-3", 486)
        await lab.settle()
        assert lab.phones[BOB_DESK.device_id].transport.received == []  # nothing rang


async def test_an_unreachable_route_hunts_to_the_next_one() -> None:
    async with b2bua_lab(HuntPolicy([CAROL_ROUTE])) as lab:
        lab.carrier.invite(BOB_DESK_ONLY)
        desk = lab.phones[BOB_DESK.device_id]
        incoming = await desk.request("INVITE")
        desk.reply(incoming, 503)
        await desk.request("ACK")
        carol = lab.phones[CAROL.device_id]
        on_carol, tag = await carol.request("INVITE"), new_tag()
        carol.reply(on_carol, 200, to_tag=tag, body=sdp(carol.address.host, 30000))
        await lab.carrier.response(200)
        assert lab.carrier.unread(503) == []  # the caller never saw the first route fail


async def test_a_route_timing_out_hunts_to_the_next_one_after_timer_b() -> None:
    async with b2bua_lab(HuntPolicy([CAROL_ROUTE])) as lab:
        lab.carrier.invite(BOB_DESK_ONLY)
        await lab.phones[BOB_DESK.device_id].request("INVITE")  # and never a word back
        carol = lab.phones[CAROL.device_id]
        await lab.advance(31.0)
        assert carol.unread("INVITE") == []
        await lab.advance(1.0)  # timer B: 64 T1
        on_carol = await carol.request("INVITE")
        carol.reply(on_carol, 180, to_tag=new_tag())
        await lab.carrier.response(180)


async def test_a_route_with_no_registered_phone_is_skipped() -> None:
    async with b2bua_lab(HuntPolicy([CAROL_ROUTE])) as lab:
        lab.carrier.invite(NOBODY)
        await lab.phones[CAROL.device_id].request("INVITE")


async def test_busy_ends_the_call_busy_without_hunting() -> None:
    async with b2bua_lab(HuntPolicy([CAROL_ROUTE])) as lab:
        invite = lab.carrier.invite(BOB_DESK_ONLY)
        desk = lab.phones[BOB_DESK.device_id]
        incoming = await desk.request("INVITE")
        desk.reply(incoming, 486, to_tag=new_tag())
        busy = await lab.carrier.response(486)
        lab.carrier.ack_error(invite, busy)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.sip_status) == (CallOutcome.BUSY, 486)
        await lab.settle()
        assert lab.phones[CAROL.device_id].transport.received == []


async def test_no_answer_cancels_the_phones_when_the_timer_runs_out() -> None:
    async with b2bua_lab(HuntPolicy([CAROL_ROUTE]), no_answer_timeout_s=30.0) as lab:
        invite, incoming, tag = await ring(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        await lab.advance(29.9)
        await lab.settle()
        assert desk.unread("CANCEL") == []
        await lab.advance(0.1)
        cancel = await desk.request("CANCEL")
        desk.reply(cancel, 200)
        desk.reply(incoming, 487, to_tag=tag)
        unanswered = await lab.carrier.response(480)
        lab.carrier.ack_error(invite, unanswered)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.sip_status) == (CallOutcome.NO_ANSWER, 480)
        assert lab.phones[CAROL.device_id].transport.received == []  # no hunting after no answer


async def test_a_reinvite_from_the_caller_is_relayed_to_the_callee_and_its_answer_back() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        offer = sdp(lab.carrier.address.host, 22000)  # the caller moves its media
        reinvite = lab.carrier.send_in_dialog(caller, "INVITE", body=offer)
        relayed = await desk.request("INVITE")
        assert relayed.body == offer
        assert relayed.to_tag is not None  # inside the callee's dialog
        desk.reply(relayed, 200, body=sdp(desk.address.host, 32000))
        ok = await lab.carrier.response(200)
        assert ok.body == sdp(desk.address.host, 32000)
        ack = await desk.request("ACK")
        assert ack.cseq.number == relayed.cseq.number
        lab.carrier.send_in_dialog(caller, "ACK", cseq=reinvite.cseq.number)
        await lab.settle()
        assert [call.state for call in lab.server.calls()] == ["connected"]


async def test_a_call_is_cut_at_its_maximum_duration() -> None:
    async with b2bua_lab(DialPlanPolicy(max_duration=timedelta(seconds=90))) as lab:
        await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        await lab.advance(89.9)
        await lab.settle()
        assert desk.unread("BYE") == []
        assert lab.carrier.unread("BYE") == []
        await lab.advance(0.1)
        for peer in (desk, lab.carrier):
            peer.reply(await peer.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds) == (CallOutcome.ANSWERED, 90)


async def test_a_session_without_refresh_is_ended_before_it_expires() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        await answer(
            lab, BOB_DESK_ONLY, BOB_DESK.device_id, headers=(("session-expires", "120;refresher=uac"),)
        )
        desk = lab.phones[BOB_DESK.device_id]
        # RFC 4028 §10: BYE at the interval minus a third of it (at most 32 s): 88 s
        await lab.advance(87.9)
        await lab.settle()
        assert desk.unread("BYE") == []
        await lab.advance(0.1)
        for peer in (desk, lab.carrier):
            peer.reply(await peer.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds) == (CallOutcome.ANSWERED, 88)


async def test_a_session_refresh_restarts_the_session_timer() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(
            lab, BOB_DESK_ONLY, BOB_DESK.device_id, headers=(("session-expires", "120;refresher=uac"),)
        )
        desk = lab.phones[BOB_DESK.device_id]
        await lab.advance(80.0)
        reinvite = lab.carrier.send_in_dialog(caller, "INVITE", body=sdp(lab.carrier.address.host, 20000))
        relayed = await desk.request("INVITE")
        desk.reply(relayed, 200, body=sdp(desk.address.host, 30000), headers=(("session-expires", "120"),))
        await lab.carrier.response(200)
        lab.carrier.send_in_dialog(caller, "ACK", cseq=reinvite.cseq.number)
        await lab.advance(87.9)  # 167.9 s: the first session would have ended at 88 s
        await lab.settle()
        assert desk.unread("BYE") == []
        await lab.advance(0.1)  # 80 + 88 s
        await desk.request("BYE")
