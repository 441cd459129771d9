"""Call transfer in the B2BUA (issue #15), message by message on the in-memory network.

A REFER from a party of an answered call is acted on by Nuage, never relayed: 202, NOTIFY
``message/sipfrag`` progress, a new leg to the target (blind) or the consulted party re-INVITEd
(attended, RFC 3891 Replaces), the transferee re-INVITEd with the target's media, the transferor's
legs released; the CDRs say who pays which leg. Refusals: another host or account 403 citing
TEN-4, the policy's refusal 403 citing its rule, a malformed Refer-To 400, an unknown Replaces 481.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuage.sip.b2bua.bridge import TRANSFERRED
from nuage.sip.b2bua.transfer_leg import TRANSFER_LEG
from nuage.sip.dialogs import Dialog
from nuage.sip.digest import authorization_header
from nuage.sip.identifiers import new_branch, new_tag
from nuage.sip.memory import MemoryCallJournalStore, MemoryCdrSink, MemoryDialPlan
from nuage.sip.message import Headers, SipRequest
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import Authorization, CallAttempt, CallOutcome, DeviceDestination, Direction, Refusal
from sip.unit.b2bua.lab import BOB, BOB_DESK, BOB_DESK_ONLY, CAROL, B2buaLab, Peer, b2bua_lab, sdp
from sip.unit.b2bua.test_calls import answer

CAROL_SDP = sdp("10.0.0.4", 40000)
CALLER_SDP = sdp("192.0.2.1", 20002)


def refer(peer: Peer, dialog: Dialog, refer_to: str, headers: list[tuple[str, str]] | None = None) -> None:
    request = dialog.create_request(
        "REFER", transport="UDP", extra=[("refer-to", refer_to), *(headers or [])]
    )
    request.headers.add("contact", f"<sip:peer@{peer.address.host}:{peer.address.port}>")
    peer.send(request, dialog.destination())


async def notified(peer: Peer) -> tuple[bytes, str]:
    """The next NOTIFY of a refer subscription (answered 200): its sipfrag and Subscription-State."""
    notify = await peer.request("NOTIFY")
    assert notify.headers.get("event") == "refer"
    assert (notify.headers.get("content-type") or "").startswith("message/sipfrag")
    peer.reply(notify, 200)
    return notify.body, notify.headers.get("subscription-state") or ""


async def carol_rings(lab: B2buaLab) -> tuple[SipRequest, str]:
    carol = lab.phones[CAROL.device_id]
    invite = await carol.request("INVITE")
    assert invite.body == b""  # delayed offer: carol's offer goes to the transferee
    tag = new_tag()
    carol.reply(invite, 180, to_tag=tag)
    return invite, tag


async def reinvited(lab: B2buaLab, caller: Dialog, body: bytes) -> SipRequest:
    """The carrier (the transferee) gets the re-INVITE carrying ``body``; it answers with its SDP."""
    reinvite = await lab.carrier.request("INVITE")
    assert reinvite.call_id == caller.call_id
    assert reinvite.body == body
    lab.carrier.reply(reinvite, 200, body=CALLER_SDP)
    ack = await lab.carrier.request("ACK")
    assert ack.cseq.number == reinvite.cseq.number
    return reinvite


async def test_a_blind_transfer_by_the_callee_joins_the_caller_to_the_target_and_bills_honestly() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        await lab.advance(30.0)
        refer(desk, callee, "<sip:carol@nuage.test>")
        accepted = await desk.response(202, "REFER")
        assert accepted.call_id == callee.call_id
        assert await notified(desk) == (b"SIP/2.0 100 Trying\r\n", "active;expires=60")
        invite, tag = await carol_rings(lab)
        assert invite.from_addr.uri.user == "+3211111111"  # carol sees who she is about to talk to
        assert await notified(desk) == (b"SIP/2.0 180 Ringing\r\n", "active;expires=60")
        assert not lab.carrier.unread("REFER")  # never relayed
        await lab.advance(5.0)
        carol = lab.phones[CAROL.device_id]
        carol.reply(invite, 200, to_tag=tag, body=CAROL_SDP)
        await reinvited(lab, caller, CAROL_SDP)
        ack = await carol.request("ACK")
        assert ack.body == CALLER_SDP  # the transferee's answer, in the ACK of the delayed offer
        assert await notified(desk) == (b"SIP/2.0 200 OK\r\n", "terminated;reason=noresource")
        bye = await desk.request("BYE")  # the transferor's leg released
        desk.reply(bye, 200)
        await lab.advance(60.0)
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        carol_bye = await carol.request("BYE")
        carol.reply(carol_bye, 200)
        records = await lab.cdrs_written(2)
        original = next(r for r in records if r.call_id == caller.call_id)
        leg = next(r for r in records if r.call_id != caller.call_id)
        # the inbound call lasts as long as the caller's leg; the transferred leg is the account's call
        assert (original.direction, original.billable_seconds, original.disposition) == (
            Direction.INBOUND,
            95,
            TRANSFERRED,
        )
        assert (leg.direction, leg.account_id, leg.callee, leg.outcome) == (
            Direction.INTERNAL,
            "acc-1",
            "carol",
            CallOutcome.ANSWERED,
        )
        assert (leg.billable_seconds, leg.disposition, leg.caller) == (60, TRANSFER_LEG, "bobdesk")
        assert leg.call_id == f"{caller.call_id}/transfer-{callee.local_cseq}"


async def test_a_target_that_is_busy_is_reported_and_the_call_goes_on() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>")
        await desk.response(202, "REFER")
        await notified(desk)
        invite, tag = await carol_rings(lab)
        await notified(desk)
        lab.phones[CAROL.device_id].reply(invite, 486, to_tag=tag)
        assert await notified(desk) == (b"SIP/2.0 486 Busy Here\r\n", "terminated;reason=noresource")
        (leg,) = await lab.cdrs_written(1)
        assert (leg.outcome, leg.sip_status, leg.disposition) == (CallOutcome.BUSY, 486, TRANSFER_LEG)
        # the transferor still has its call: the caller's BYE reaches it
        lab.carrier.send_in_dialog(caller, "BYE")
        desk.reply(await desk.request("BYE"), 200)
        records = await lab.cdrs_written(2)
        assert records[1].disposition is None
        assert records[1].call_id == caller.call_id


async def test_the_transferor_may_hang_up_at_once_the_transfer_goes_on() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>", [("refer-sub", "false")])
        accepted = await desk.response(202, "REFER")
        assert accepted.headers.get("refer-sub") == "false"  # RFC 4488: no NOTIFY then
        desk.send_in_dialog(callee, "BYE")
        await desk.response(200, "BYE")
        invite, tag = await carol_rings(lab)
        lab.phones[CAROL.device_id].reply(invite, 200, to_tag=tag, body=CAROL_SDP)
        await reinvited(lab, caller, CAROL_SDP)
        await lab.phones[CAROL.device_id].request("ACK")
        await lab.settle()
        assert not desk.unread("NOTIFY")
        assert not lab.carrier.unread("BYE")


@pytest.mark.rule("TEN-4")
@pytest.mark.parametrize(
    "refer_to", ["<sip:carol@elsewhere.example>", "<sip:+3299999999@other-tenant.example;user=phone>"]
)
async def test_a_refer_to_an_address_outside_the_account_is_refused_citing_ten_4(refer_to: str) -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, refer_to)
        refused = await desk.response(403, "REFER")
        assert "TEN-4" in (refused.headers.get("warning") or "")
        await lab.settle()
        assert not lab.phones[CAROL.device_id].unread("INVITE")
        assert not desk.unread("NOTIFY")


@pytest.mark.rule("TEN-4")
async def test_a_target_of_another_account_is_refused_citing_ten_4() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        plan = lab.server._dial_plan  # the lab's in-memory dial plan
        assert isinstance(plan, MemoryDialPlan)
        plan.numbers["+3227777777"] = DeviceDestination("dev-elsewhere", "acc-2")  # another account's
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:+3227777777@nuage.test>")
        refused = await desk.response(403, "REFER")
        assert "TEN-4 transfer target outside the account" in (refused.headers.get("warning") or "")


@pytest.mark.parametrize(
    "refer_to", ["<mailto:carol@nuage.test>", "<sip:nuage.test>", "<sip:carol@nuage.test;method=BYE>"]
)
async def test_a_malformed_refer_to_is_answered_400(refer_to: str) -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, refer_to)
        bad = await desk.response(400, "REFER")
        assert bad.headers.get("warning")


async def test_a_replaces_naming_no_known_dialog_is_answered_481() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:carol@nuage.test?Replaces=nope%40x%3Bto-tag%3D1%3Bfrom-tag%3D2>")
        await desk.response(481, "REFER")


class NoTransferOut:
    """Lets calls through but refuses every leg placed by a transfer, citing CAP-3."""

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        if "/transfer-" in attempt.call_id:
            return Refusal("CAP-3", "all 2 channels of acc-1 are in use")
        return Authorization(routes=(attempt.destination,), max_duration=None)


@pytest.mark.rule("CAP-3")
async def test_a_transfer_the_policy_refuses_is_answered_403_citing_its_rule() -> None:
    async with b2bua_lab(NoTransferOut()) as lab:
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>")
        refused = await desk.response(403, "REFER")
        assert "CAP-3 all 2 channels" in (refused.headers.get("warning") or "")
        (record,) = await lab.cdrs_written(1)
        assert (record.outcome, record.refusal_rule_id, record.disposition) == (
            CallOutcome.REFUSED,
            "CAP-3",
            TRANSFER_LEG,
        )


class PolicyStoreDownForTransfers:
    """Lets calls through, but its store fails when asked about a leg placed by a transfer."""

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        if "/transfer-" in attempt.call_id:
            raise ConnectionError("the policy's database went away")
        return Authorization(routes=(attempt.destination,), max_duration=None)


async def test_a_refer_whose_handling_fails_is_answered_500_and_the_call_goes_on() -> None:
    """A REFER is acted on in the background: when that fails before the 202, the transferor gets
    a 500 at once (not silence until its retransmissions give up), and the call is as it was."""
    async with b2bua_lab(PolicyStoreDownForTransfers()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>")
        await desk.response(500, "REFER")
        assert not lab.phones[CAROL.device_id].unread("INVITE")
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        assert (await desk.request("BYE")).call_id == callee.call_id


async def test_an_attended_transfer_joins_the_two_remote_parties_and_releases_both_transferor_legs() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        first_caller, first = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        second_caller, second = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        replaces = f"{second.call_id}%3Bto-tag%3D{second.remote_tag}%3Bfrom-tag%3D{second.local_tag}"
        refer(desk, first, f"<sip:carol@nuage.test?Replaces={replaces}>")
        await desk.response(202, "REFER")
        await notified(desk)
        # the consulted party is asked for an offer, which goes to the transferee
        consulted = await lab.carrier.request("INVITE")
        assert consulted.call_id == second_caller.call_id
        assert consulted.body == b""
        lab.carrier.reply(consulted, 200, body=CAROL_SDP)
        await reinvited(lab, first_caller, CAROL_SDP)
        acks = [await lab.carrier.request("ACK")]
        assert acks[0].call_id == second_caller.call_id
        assert acks[0].body == CALLER_SDP
        assert await notified(desk) == (b"SIP/2.0 200 OK\r\n", "terminated;reason=noresource")
        byes = {(await desk.request("BYE")).call_id, (await desk.request("BYE")).call_id}
        assert byes == {first.call_id, second.call_id}
        lab.carrier.send_in_dialog(first_caller, "BYE")
        await lab.carrier.response(200, "BYE")
        bye = await lab.carrier.request("BYE")  # the joined party is hung up too
        assert bye.call_id == second_caller.call_id
        lab.carrier.reply(bye, 200)
        records = await lab.cdrs_written(2)
        assert {r.call_id for r in records} == {first_caller.call_id, second_caller.call_id}
        assert all(r.disposition == TRANSFERRED for r in records)


async def test_the_call_control_path_transfers_the_caller_blind_without_a_refer() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk = lab.phones[BOB_DESK.device_id]
        assert await lab.server.transfer(caller.call_id, "carol", keep="caller") is None
        invite, tag = await carol_rings(lab)
        lab.phones[CAROL.device_id].reply(invite, 200, to_tag=tag, body=CAROL_SDP)
        await reinvited(lab, caller, CAROL_SDP)
        assert (await lab.phones[CAROL.device_id].request("ACK")).body == CALLER_SDP
        desk.reply(await desk.request("BYE"), 200)  # the released party
        assert not desk.unread("NOTIFY")  # no REFER, no subscription


@pytest.mark.rule("TEN-4")
async def test_the_call_control_path_refuses_what_a_refer_would_be_refused() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        unknown = await lab.server.transfer("no-such-call", "carol", keep="caller")
        assert unknown is not None
        assert (unknown.status, unknown.reason) == (404, "No Such Call")
        # keeping the callee releases the caller, the carrier: no account to place the leg for
        carrier = await lab.server.transfer(caller.call_id, "carol", keep="callee")
        assert carrier is not None
        assert carrier.refusal is not None
        assert carrier.refusal.rule_id == "TEN-4"
        nowhere = await lab.server.transfer(caller.call_id, "nobody-here", keep="caller")
        assert nowhere is not None
        assert nowhere.status == 404


def invite_replacing(peer: Peer, dialog: Dialog, call_id: str | None = None) -> SipRequest:
    """An INVITE from ``peer`` whose Replaces names ``dialog`` (the desk phone's view of its call),
    or, with ``call_id``, a dialog of that Call-ID and the same tags."""
    replaces = f"{call_id or dialog.call_id};to-tag={dialog.local_tag};from-tag={dialog.remote_tag}"
    return peer.invite("bobdesk", headers=[("replaces", replaces)])


def with_credentials(peer: Peer, first: SipRequest, auth: str) -> SipRequest:
    """``first`` sent again with credentials: a new transaction (new branch, next CSeq), same call."""
    headers = Headers()
    for name, value in first.headers:
        if name == "via":
            value = f"SIP/2.0/UDP {peer.address.host}:{peer.address.port};branch={new_branch()};rport"
        headers.add(name, "2 INVITE" if name == "cseq" else value)
    headers.add("proxy-authorization", auth)
    invite = SipRequest("INVITE", first.uri, headers, first.body)
    peer.send(invite)
    return invite


async def test_an_invite_with_replaces_from_a_phone_of_the_account_takes_the_place_of_the_party() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        carol, desk = lab.phones[CAROL.device_id], lab.phones[BOB_DESK.device_id]
        first = invite_replacing(carol, callee)
        challenge = await carol.response(407)
        carol.ack_error(first, challenge)
        auth = authorization_header(
            challenge.headers.get("proxy-authenticate") or "",
            username="carol",
            password="carol-secret",
            method="INVITE",
            uri=str(first.uri),
        )
        invite = with_credentials(carol, first, auth)
        await reinvited(lab, caller, invite.body)  # the caller gets carol's offer
        ok = await carol.response(200)
        assert ok.body == CALLER_SDP
        carol.send_in_dialog(carol.dialog_as_caller(invite, ok), "ACK", cseq=2)
        desk.reply(await desk.request("BYE"), 200)  # the replaced party is released
        lab.carrier.send_in_dialog(caller, "BYE")
        bye = await carol.request("BYE")
        carol.reply(bye, 200)
        records = await lab.cdrs_written(2)
        assert {r.disposition for r in records} == {TRANSFERRED}


@pytest.mark.rule("TEN-4")
async def test_an_invite_replacing_a_party_from_outside_the_account_is_refused_an_unknown_one_481() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        _, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        invite_replacing(lab.carrier, callee)  # the carrier is no phone of the account
        refused = await lab.carrier.response(403)
        assert "TEN-4" in (refused.headers.get("warning") or "")
        invite_replacing(lab.carrier, callee, call_id="unknown-call")
        await lab.carrier.response(481)


class TwoMinutesForTransfers:
    """Lets calls through; a leg placed by a transfer may last two minutes (what its budget buys)."""

    async def authorize(self, attempt: CallAttempt) -> Authorization | Refusal:
        limit = timedelta(minutes=2) if "/transfer-" in attempt.call_id else None
        return Authorization(routes=(attempt.destination,), max_duration=limit)


@pytest.mark.rule("SIP-5")
async def test_the_leg_a_transfer_placed_is_cut_when_its_budget_is_spent() -> None:
    async with b2bua_lab(TwoMinutesForTransfers()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk, carol = lab.phones[BOB_DESK.device_id], lab.phones[CAROL.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>", [("refer-sub", "false")])
        await desk.response(202, "REFER")
        invite, tag = await carol_rings(lab)
        carol.reply(invite, 200, to_tag=tag, body=CAROL_SDP)
        await reinvited(lab, caller, CAROL_SDP)
        desk.reply(await desk.request("BYE"), 200)
        await lab.advance(121.0)
        lab.carrier.reply(await lab.carrier.request("BYE"), 200)
        carol.reply(await carol.request("BYE"), 200)
        records = await lab.cdrs_written(2)
        leg = next(r for r in records if r.disposition == TRANSFER_LEG)
        assert leg.billable_seconds <= 120


async def test_a_transferee_hanging_up_while_the_target_rings_cancels_the_target() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk, carol = lab.phones[BOB_DESK.device_id], lab.phones[CAROL.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>")
        await desk.response(202, "REFER")
        await notified(desk)
        invite, tag = await carol_rings(lab)
        await notified(desk)
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        assert await notified(desk) == (b"SIP/2.0 487 Request Terminated\r\n", "terminated;reason=noresource")
        cancel = await carol.request("CANCEL")
        carol.reply(cancel, 200)
        carol.reply(invite, 487, to_tag=tag)
        desk.reply(await desk.request("BYE"), 200)
        records = await lab.cdrs_written(2)
        leg = next(r for r in records if r.disposition == TRANSFER_LEG)
        assert (leg.outcome, leg.billable_seconds) == (CallOutcome.CANCELLED, 0)
        assert not lab.server.calls()


async def test_the_joined_call_relays_its_requests_and_the_carrier_may_not_transfer_it() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        desk, carol = lab.phones[BOB_DESK.device_id], lab.phones[CAROL.device_id]
        refer(desk, callee, "<sip:carol@nuage.test>", [("refer-sub", "false")])
        await desk.response(202, "REFER")
        invite, tag = await carol_rings(lab)
        carol.reply(invite, 200, to_tag=tag, body=CAROL_SDP)
        await reinvited(lab, caller, CAROL_SDP)
        await carol.request("ACK")
        desk.reply(await desk.request("BYE"), 200)
        # the caller's re-INVITE (hold) reaches carol, her answer comes back
        held = sdp("192.0.2.1", 20002).replace(b"PCMU/8000\r\n", b"PCMU/8000\r\na=sendonly\r\n")
        lab.carrier.send_in_dialog(caller, "INVITE", body=held)
        relayed = await carol.request("INVITE")
        assert relayed.body == held
        carol.reply(relayed, 200, body=CAROL_SDP)
        ok = await lab.carrier.response(200)
        assert ok.body == CAROL_SDP
        lab.carrier.send_in_dialog(caller, "ACK", cseq=ok.cseq.number)
        await carol.request("ACK")
        refer(lab.carrier, caller, "<sip:bob@nuage.test>")
        refused = await lab.carrier.response(403, "REFER")  # TEN-4: the carrier is no phone of an account
        assert "TEN-4" in (refused.headers.get("warning") or "")


async def _joined_to_carol(lab: B2buaLab) -> tuple[Dialog, Dialog]:
    """The carrier calls bob's desk, which transfers it blind to carol; carol answers.
    (The caller's dialog, carol's dialog.)"""
    caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
    desk, carol = lab.phones[BOB_DESK.device_id], lab.phones[CAROL.device_id]
    refer(desk, callee, "<sip:carol@nuage.test>", [("refer-sub", "false")])
    await desk.response(202, "REFER")
    invite, tag = await carol_rings(lab)
    carol.reply(invite, 200, to_tag=tag, body=CAROL_SDP)
    await reinvited(lab, caller, CAROL_SDP)
    await carol.request("ACK")
    desk.reply(await desk.request("BYE"), 200)
    return caller, carol.dialog_as_callee(invite, tag)


async def test_a_joined_call_is_transferred_again_and_each_leg_has_its_journal_entry_and_cdr() -> None:
    store = MemoryCallJournalStore(MemoryCdrSink())
    async with b2bua_lab(DialPlanPolicy(), journal=store) as lab:
        caller, with_carol = await _joined_to_carol(lab)
        carol, bob = lab.phones[CAROL.device_id], lab.phones[BOB.device_id]
        await lab.advance(10.0)
        refer(carol, with_carol, "<sip:bob@nuage.test>")  # the target transfers the caller on
        await carol.response(202, "REFER")
        assert await notified(carol) == (b"SIP/2.0 100 Trying\r\n", "active;expires=60")
        invite = await bob.request("INVITE")
        assert invite.body == b""  # delayed offer again: bob's offer goes to the caller
        assert lab.server.journal is not None
        assert lab.server.journal.live == 3  # the call, carol's leg and bob's leg ringing
        tag = new_tag()
        bob_sdp = sdp(bob.address.host, 50000)
        bob.reply(invite, 200, to_tag=tag, body=bob_sdp)
        await reinvited(lab, caller, bob_sdp)
        assert (await bob.request("ACK")).body == CALLER_SDP
        assert (await notified(carol))[0] == b"SIP/2.0 200 OK\r\n"
        carol.reply(await carol.request("BYE"), 200)  # carol's leg released: its CDR
        await lab.advance(20.0)
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        bob.reply(await bob.request("BYE"), 200)
        records = await lab.cdrs_written(3)
        await lab.server.journal.flush()
        assert lab.server.journal.live == 0
    original = next(r for r in records if r.call_id == caller.call_id)
    first, second = sorted((r for r in records if r is not original), key=lambda r: len(r.call_id))
    assert original.disposition == TRANSFERRED
    assert (first.callee, first.caller, first.disposition, first.outcome) == (
        "carol",
        "bobdesk",
        TRANSFER_LEG,
        CallOutcome.ANSWERED,
    )
    assert (second.callee, second.caller, second.disposition, second.outcome) == (
        "bob",
        "carol",  # the second leg is a call of the account carol's phone belongs to, placed by her
        TRANSFER_LEG,
        CallOutcome.ANSWERED,
    )
    assert first.billable_seconds == 10
    assert second.billable_seconds == 20
    assert first.call_id != second.call_id
    assert second.call_id.startswith(f"{caller.call_id}/transfer-")


async def test_a_second_transfer_that_fails_leaves_the_joined_call_as_it_was() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, with_carol = await _joined_to_carol(lab)
        carol, bob = lab.phones[CAROL.device_id], lab.phones[BOB.device_id]
        refer(carol, with_carol, "<sip:bob@nuage.test>", [("refer-sub", "false")])
        await carol.response(202, "REFER")
        for phone in (bob, lab.phones[BOB_DESK.device_id]):  # both of bob's phones are busy
            phone.reply(await phone.request("INVITE"), 486, to_tag=new_tag())
            await phone.request("ACK")
        # carol and the caller still talk: the caller's re-INVITE reaches carol
        lab.carrier.send_in_dialog(caller, "INVITE", body=CALLER_SDP)
        relayed = await carol.request("INVITE")
        carol.reply(relayed, 200, body=CAROL_SDP)
        assert (await lab.carrier.response(200)).body == CAROL_SDP
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        carol.reply(await carol.request("BYE"), 200)
        records = await lab.cdrs_written(3)
    legs = {r.callee: r.outcome for r in records if r.disposition == TRANSFER_LEG}
    assert legs == {"carol": CallOutcome.ANSWERED, "bob": CallOutcome.BUSY}


async def test_the_caller_hanging_up_while_the_second_target_rings_ends_every_leg() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        caller, with_carol = await _joined_to_carol(lab)
        carol, bob = lab.phones[CAROL.device_id], lab.phones[BOB.device_id]
        refer(carol, with_carol, "<sip:bob@nuage.test>", [("refer-sub", "false")])
        await carol.response(202, "REFER")
        invite = await bob.request("INVITE")
        tag = new_tag()
        bob.reply(invite, 180, to_tag=tag)
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        bob.reply(await bob.request("CANCEL"), 200)  # the second target stops ringing
        bob.reply(invite, 487, to_tag=tag)
        carol.reply(await carol.request("BYE"), 200)  # the party of the joined call is hung up
        records = await lab.cdrs_written(3)
        assert not lab.server.calls()
    legs = {r.callee: r.outcome for r in records if r.disposition == TRANSFER_LEG}
    assert legs == {"carol": CallOutcome.ANSWERED, "bob": CallOutcome.CANCELLED}
