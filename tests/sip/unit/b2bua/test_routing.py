"""Forwarding, do-not-disturb and ring groups (issue #15) on the in-memory B2BUA and virtual time.

Bob (two phones, extension 200), Carol (one phone, extension 300) and Dave (a user whose phone
never registered, extension 400) are users of acc-1; the carrier calls their numbers. Forwarding
rules and ring groups live in a ``MemoryRouting``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from nuage.policy import AccountTerms, PolicySnapshot, StaticSnapshot, TermsCallPolicy
from nuage.sip.identifiers import new_tag
from nuage.sip.memory import MemoryCallJournalStore, MemoryCdrSink, MemoryDialPlan
from nuage.sip.message import SipRequest
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import (
    INTERRUPTED,
    CallOutcome,
    CallPolicy,
    CdrRecord,
    Direction,
    GroupDestination,
    UserDestination,
)
from nuage.sip.routing import ForwardingRule, HuntGroup, MemoryRouting, RoutedUser
from nuage.sip.timers import VirtualScheduler
from nuage.tenancy.model import PartyStatus
from sip.unit.b2bua.lab import BOB, BOB_DESK, CAROL, CARRIER, B2buaLab, b2bua_lab, sdp

BOB_USER = "+3223000200"
CAROL_USER = "+3223000300"
DAVE_USER = "+3223000400"
SALES = "+3223000500"  # the sales ring group's number
EXTERNAL = "+3249123456"

BOB_ROUTE = UserDestination("usr-bob", "acc-1", (BOB.device_id, BOB_DESK.device_id))
CAROL_ROUTE = UserDestination("usr-carol", "acc-1", (CAROL.device_id,))
DAVE_ROUTE = UserDestination("usr-dave", "acc-1", ("dev-dave",))


def routing(**rules: ForwardingRule) -> MemoryRouting:
    found = MemoryRouting()
    found.users = {
        "usr-bob": RoutedUser("usr-bob", "acc-1", "Bob", "+3222222222", BOB_ROUTE),
        "usr-carol": RoutedUser("usr-carol", "acc-1", "Carol", "+3225555555", CAROL_ROUTE),
        "usr-dave": RoutedUser("usr-dave", "acc-1", "Dave", None, DAVE_ROUTE),
    }
    found.rules = {f"usr-{name}": rule for name, rule in rules.items()}
    return found


def plan(dial_plan: MemoryDialPlan) -> None:
    dial_plan.users.update({"200": "usr-bob", "300": "usr-carol", "400": "usr-dave"})
    dial_plan.numbers.update({BOB_USER: BOB_ROUTE, CAROL_USER: CAROL_ROUTE, DAVE_USER: DAVE_ROUTE})
    dial_plan.numbers[SALES] = GroupDestination("grp-sales", "acc-1")
    dial_plan.groups["500"] = GroupDestination("grp-sales", "acc-1")


def lab_with(
    found: MemoryRouting,
    policy: CallPolicy | None = None,
    *,
    no_answer_timeout_s: float = 60.0,
    on_ended: Callable[[CdrRecord], None] | None = None,
) -> AbstractAsyncContextManager[B2buaLab]:
    """The in-memory B2BUA with Bob, Carol and Dave's numbers and extensions, and ``found``'s routing."""
    return b2bua_lab(
        policy or DialPlanPolicy(),
        routing=found,
        plan=plan,
        no_answer_timeout_s=no_answer_timeout_s,
        on_ended=on_ended,
    )


async def answered_by(lab: B2buaLab, device_id: str, incoming: SipRequest | None = None) -> None:
    """``device_id`` rings (``incoming``, or its next INVITE) and answers; the carrier gets the 200."""
    phone = lab.phones[device_id]
    incoming = incoming or await phone.request("INVITE")
    tag = new_tag()
    phone.reply(incoming, 200, to_tag=tag, body=sdp(phone.address.host, 30000))
    await lab.carrier.response(200)


async def test_an_unconditional_forward_rings_the_destination_and_never_the_user() -> None:
    async with lab_with(routing(bob=ForwardingRule(unconditional="300"))) as lab:
        lab.carrier.invite(BOB_USER)
        incoming = await lab.phones[CAROL.device_id].request("INVITE")
        assert "reason=unconditional" in (incoming.headers.get("diversion") or "")
        assert "+3222222222" in (incoming.headers.get("diversion") or "")
        await lab.settle()
        assert not lab.phones[BOB.device_id].unread("INVITE")
        assert not lab.phones[BOB_DESK.device_id].unread("INVITE")


async def test_a_busy_user_forwards_on_busy() -> None:
    async with lab_with(routing(carol=ForwardingRule(busy="200"))) as lab:
        lab.carrier.invite(CAROL_USER)
        carol = lab.phones[CAROL.device_id]
        incoming = await carol.request("INVITE")
        carol.reply(incoming, 486, to_tag=new_tag())
        forwarded = await lab.phones[BOB.device_id].request("INVITE")
        assert "reason=user-busy" in (forwarded.headers.get("diversion") or "")
        await answered_by(lab, BOB.device_id, forwarded)


async def test_busy_without_a_busy_forward_ends_the_call_busy() -> None:
    async with lab_with(routing(carol=ForwardingRule(no_answer="200"))) as lab:
        lab.carrier.invite(CAROL_USER)
        carol = lab.phones[CAROL.device_id]
        incoming = await carol.request("INVITE")
        carol.reply(incoming, 486, to_tag=new_tag())
        await lab.carrier.response(486)
        (cdr,) = await lab.cdrs_written(1)
        assert cdr.outcome is CallOutcome.BUSY


async def test_no_answer_forwards_after_the_users_seconds_and_cancels_the_phone() -> None:
    rule = ForwardingRule(no_answer="200", no_answer_s=12)
    async with lab_with(routing(carol=rule), no_answer_timeout_s=60) as lab:
        lab.carrier.invite(CAROL_USER)
        carol = lab.phones[CAROL.device_id]
        incoming = await carol.request("INVITE")
        carol.reply(incoming, 180, to_tag=new_tag())
        await lab.carrier.response(180)
        await lab.advance(11.0)
        assert not carol.unread("CANCEL")
        await lab.advance(1.5)
        cancel = await carol.request("CANCEL")
        carol.reply(cancel, 200)
        carol.reply(incoming, 487, to_tag=new_tag())
        forwarded = await lab.phones[BOB.device_id].request("INVITE")
        assert "reason=no-answer" in (forwarded.headers.get("diversion") or "")
        lab.phones[BOB.device_id].reply(forwarded, 180, to_tag=new_tag())
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(await desk.request("INVITE"), 180, to_tag=new_tag())
        await lab.advance(50.0)  # the forward rings for the call's whole no-answer time again
        assert not lab.phones[BOB.device_id].unread("CANCEL")
        await answered_by(lab, BOB.device_id, forwarded)


async def test_a_user_with_no_registered_phone_forwards_when_unregistered() -> None:
    async with lab_with(routing(dave=ForwardingRule(unregistered="300"))) as lab:
        lab.carrier.invite(DAVE_USER)
        incoming = await lab.phones[CAROL.device_id].request("INVITE")
        assert "reason=unavailable" in (incoming.headers.get("diversion") or "")


@pytest.mark.parametrize(
    ("rule", "rings"),
    [(ForwardingRule(dnd=True), None), (ForwardingRule(dnd=True, busy="200"), BOB.device_id)],
)
async def test_do_not_disturb_is_busy_or_the_busy_forward(rule: ForwardingRule, rings: str | None) -> None:
    async with lab_with(routing(carol=rule)) as lab:
        lab.carrier.invite(CAROL_USER)
        if rings is None:
            await lab.carrier.response(486)
        else:
            await lab.phones[rings].request("INVITE")
        await lab.settle()
        assert not lab.phones[CAROL.device_id].unread("INVITE")


async def test_a_forwarding_loop_is_cut_and_the_last_user_rings() -> None:
    found = routing(bob=ForwardingRule(unconditional="300"), carol=ForwardingRule(unconditional="200"))
    async with lab_with(found) as lab:
        lab.carrier.invite(BOB_USER)
        await lab.phones[CAROL.device_id].request("INVITE")  # Carol's forward back to Bob: a loop
        await lab.settle()
        assert not lab.phones[BOB.device_id].unread("INVITE")


@pytest.mark.rule("EMG-2")
async def test_a_forward_to_an_emergency_number_is_never_followed() -> None:
    async with lab_with(routing(carol=ForwardingRule(unconditional="112"))) as lab:
        lab.carrier.invite(CAROL_USER)
        await lab.phones[CAROL.device_id].request("INVITE")  # she rings as if no forward were set
        await lab.settle()
        assert not [m for m in lab.carrier.unread("INVITE")]


def _terms(channels: int) -> TermsCallPolicy:
    terms = AccountTerms("acc-1", PartyStatus.ACTIVE, channels, "CAP-1", frozenset({"+3225555555"}))
    return TermsCallPolicy(StaticSnapshot(PolicySnapshot({"acc-1": terms})))


@pytest.mark.rule("CAP-3")
@pytest.mark.rule("SIP-2")
async def test_a_forward_to_an_external_number_is_a_call_of_the_users_account() -> None:
    policy = _terms(2)
    found = routing(carol=ForwardingRule(unconditional=EXTERNAL))
    async with lab_with(found, policy, on_ended=policy.call_ended) as lab:
        invite = lab.carrier.invite(CAROL_USER)
        outbound = await lab.carrier.request("INVITE")
        assert outbound.uri.user == EXTERNAL
        assert outbound.from_addr.uri.user == "+3225555555"  # SIP-2: Carol's own number, not the caller's
        assert "+3225555555" in (outbound.headers.get("p-asserted-identity") or "")
        assert len(policy.channels.held_calls()) == 2  # CAP-3: the inbound call and the forwarded leg
        (live,) = lab.server.calls()
        assert policy.reconcile([live.call_id, *live.forwarded_legs]) == 0  # both are live: none given back
        tag = new_tag()
        lab.carrier.reply(outbound, 200, to_tag=tag, body=sdp(CARRIER.host, 40000))
        ok = await lab.carrier.response(200)
        lab.carrier.send_in_dialog(lab.carrier.dialog_as_caller(invite, ok), "ACK", cseq=1)
        await lab.advance(30.0)
        lab.carrier.send_in_dialog(lab.carrier.dialog_as_callee(outbound, tag), "BYE")
        bye = await lab.carrier.request("BYE")
        lab.carrier.reply(bye, 200)
        records = await lab.cdrs_written(2)
    forwarded = [r for r in records if r.call_id.endswith(";fwd-1")]
    assert len(forwarded) == 1
    (leg,) = forwarded
    assert (leg.direction, leg.account_id, leg.callee, leg.caller) == (
        Direction.OUTBOUND,
        "acc-1",
        EXTERNAL,
        "+3225555555",
    )
    assert leg.answered_at is not None
    assert policy.channels.held_calls() == set()


@pytest.mark.rule("CAP-3")
async def test_a_forward_to_an_external_number_needs_a_free_channel() -> None:
    policy = _terms(1)  # the inbound call takes the only channel
    found = routing(carol=ForwardingRule(unconditional=EXTERNAL))
    async with lab_with(found, policy, on_ended=policy.call_ended) as lab:
        lab.carrier.invite(CAROL_USER)
        refused = await lab.carrier.response(486)
        assert "CAP-3" in (refused.headers.get("warning") or "")


def _group(
    strategy: str, fallback: str | None = None, timeout_s: float = 60
) -> Callable[[MemoryRouting], None]:
    def add(found: MemoryRouting) -> None:
        found.groups["grp-sales"] = HuntGroup(
            "grp-sales", "acc-1", strategy, ("usr-bob", "usr-carol"), 10, timeout_s, fallback, "+3220000000"
        )

    return add


async def test_a_simultaneous_group_rings_every_members_phones() -> None:
    found = routing()
    _group("simultaneous")(found)
    async with lab_with(found) as lab:
        lab.carrier.invite(SALES)
        invites = {
            d: await lab.phones[d].request("INVITE")
            for d in (BOB.device_id, BOB_DESK.device_id, CAROL.device_id)
        }
        lab.phones[BOB.device_id].reply(invites[BOB.device_id], 180, to_tag=new_tag())
        await lab.settle()
        await answered_by(lab, CAROL.device_id, invites[CAROL.device_id])  # the phones that lost get a CANCEL
        await lab.phones[BOB.device_id].request("CANCEL")


async def test_a_sequential_group_rings_members_in_turn_then_its_fallback() -> None:
    found = routing()
    _group("sequential", fallback=EXTERNAL, timeout_s=25)(found)
    async with lab_with(found) as lab:
        lab.carrier.invite(SALES)
        bob, desk = lab.phones[BOB.device_id], lab.phones[BOB_DESK.device_id]
        first, desk_invite = await bob.request("INVITE"), await desk.request("INVITE")
        bob.reply(first, 180, to_tag=new_tag())
        desk.reply(desk_invite, 180, to_tag=new_tag())
        await lab.advance(9.5)
        assert not lab.phones[CAROL.device_id].unread("INVITE")
        await lab.advance(1.0)  # Bob rang his 10 seconds
        for phone, invite in ((bob, first), (desk, desk_invite)):
            phone.reply(await phone.request("CANCEL"), 200)
            phone.reply(invite, 487, to_tag=new_tag())
        carol = lab.phones[CAROL.device_id]
        second = await carol.request("INVITE")
        carol.reply(second, 486, to_tag=new_tag())  # busy: the next one, the group's fallback
        third = await lab.carrier.request("INVITE")
        assert third.uri.user == EXTERNAL
        assert third.from_addr.uri.user == "+3220000000"  # SIP-2: the account's main number
        assert "reason=no-answer" in (third.headers.get("diversion") or "")


async def test_a_round_robin_group_starts_with_the_next_member_each_call() -> None:
    found = routing()
    _group("round-robin")(found)
    async with lab_with(found) as lab:
        first = lab.carrier.invite(SALES)
        await lab.phones[BOB.device_id].request("INVITE")
        await lab.settle()
        assert not lab.phones[CAROL.device_id].unread("INVITE")
        lab.carrier.cancel(first)
        await lab.carrier.response(487)
        lab.carrier.invite(SALES)
        await lab.phones[CAROL.device_id].request("INVITE")


async def test_a_forward_chain_is_followed_five_times_at_most() -> None:
    found = routing()
    chain = [f"+32230009{n:02d}" for n in range(1, 9)]

    def numbers(dial_plan: MemoryDialPlan) -> None:
        plan(dial_plan)
        for n, number in enumerate(chain, start=1):
            dial_plan.numbers[number] = UserDestination(f"usr-{n}", "acc-1", (CAROL.device_id,))

    for n, number in enumerate(chain, start=1):
        route = UserDestination(f"usr-{n}", "acc-1", (CAROL.device_id,))
        found.users[f"usr-{n}"] = RoutedUser(f"usr-{n}", "acc-1", f"User {n}", number, route)
        if n < len(chain):
            found.rules[f"usr-{n}"] = ForwardingRule(unconditional=chain[n])
    async with b2bua_lab(DialPlanPolicy(), routing=found, plan=numbers) as lab:
        lab.carrier.invite(chain[0])
        incoming = await lab.phones[CAROL.device_id].request("INVITE")
        diversion = incoming.headers.get("diversion") or ""
        assert "counter=5" in diversion  # the sixth user's phone rings: their forward is not followed
        assert chain[4] in diversion


async def test_a_member_in_do_not_disturb_is_skipped() -> None:
    found = routing(carol=ForwardingRule(dnd=True))
    _group("simultaneous")(found)
    async with lab_with(found) as lab:
        lab.carrier.invite(SALES)
        await lab.phones[BOB.device_id].request("INVITE")
        await lab.settle()
        assert not lab.phones[CAROL.device_id].unread("INVITE")


async def test_a_forwarded_external_leg_lost_in_a_crash_still_gets_its_cdr() -> None:
    store, clock = MemoryCallJournalStore(MemoryCdrSink()), VirtualScheduler()
    found = routing(carol=ForwardingRule(unconditional=EXTERNAL))
    async with b2bua_lab(DialPlanPolicy(), routing=found, plan=plan, journal=store, clock=clock) as lab:
        invite = lab.carrier.invite(CAROL_USER)
        outbound = await lab.carrier.request("INVITE")
        lab.carrier.reply(outbound, 200, to_tag=new_tag(), body=sdp(CARRIER.host, 40000))
        ok = await lab.carrier.response(200)
        lab.carrier.send_in_dialog(lab.carrier.dialog_as_caller(invite, ok), "ACK", cseq=1)
        await lab.advance(20.0)
        assert lab.server.journal is not None
        assert lab.server.journal.live == 2  # the call and its forwarded leg
        await lab.server.journal.flush()
        left = MemoryCallJournalStore(MemoryCdrSink())
        left.entries, left.seen_at = copy.deepcopy(store.entries), dict(store.seen_at)
    clock.advance(30.0)
    async with b2bua_lab(DialPlanPolicy(), routing=found, plan=plan, journal=left, clock=clock):
        inbound, forwarded = sorted(left.cdrs.records, key=lambda r: r.direction is Direction.OUTBOUND)
    assert (inbound.direction, inbound.disposition) == (Direction.INBOUND, INTERRUPTED)
    assert (forwarded.call_id, forwarded.direction, forwarded.callee, forwarded.caller) == (
        f"{inbound.call_id};fwd-1",
        Direction.OUTBOUND,
        EXTERNAL,
        "+3225555555",
    )
    assert (forwarded.disposition, forwarded.billable_seconds) == (INTERRUPTED, 20)
