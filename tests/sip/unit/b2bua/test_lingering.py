"""What an ended call leaves for the 32 s of late messages (issue #22): records, not objects.

The transactions of a call linger after it (timers D, I, J, K, L, M) and so does the dialog of
each closed leg, to answer retransmissions and late requests; none of them may keep the call,
its legs, parsed messages or a timer object each: the garbage collector would scan them all.
"""

from __future__ import annotations

import gc

from nuage.sip.b2bua.controller import CallController
from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_tag
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.timers import CoarseTimer
from nuage.sip.transactions import ClientTransaction, ServerTransaction
from sip.unit.b2bua.lab import BOB_DESK, BOB_DESK_ONLY, B2buaLab, b2bua_lab
from sip.unit.b2bua.test_calls import answer

KEPT_NOT = (CallController, ServerTransaction, ClientTransaction, Dialog, CoarseTimer)


def alive() -> dict[str, int]:
    gc.collect()
    counts = dict.fromkeys((kind.__name__ for kind in KEPT_NOT), 0)
    for thing in gc.get_objects():
        if isinstance(thing, KEPT_NOT):
            counts[type(thing).__name__] += 1
    return counts


def alive_ids() -> set[int]:
    """After a full collection, the objects of the kinds ``KEPT_NOT`` still alive: a lab an earlier
    test left with calls in progress may outlive its test (its tasks never ran to their end)."""
    gc.collect()
    return {id(thing) for thing in gc.get_objects() if isinstance(thing, KEPT_NOT)}


async def call_and_hang_up(lab: B2buaLab) -> None:
    phone = lab.phones[BOB_DESK.device_id]
    caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
    bye = lab.carrier.send_in_dialog(caller, "BYE")
    await lab.carrier.response(200, "BYE")
    phone.reply(await phone.request("BYE"), 200)
    await lab.settle()
    lab.carrier.send(bye)  # retransmitted: the lingering record answers it again, the call is gone
    await lab.carrier.response(200, "BYE")


async def test_ended_calls_leave_no_call_transaction_dialog_or_timer_object_while_they_linger() -> None:
    async with b2bua_lab(DialPlanPolicy()) as lab:
        await call_and_hang_up(lab)
        await lab.advance(40.0)
        before = alive()
        for _ in range(10):
            await call_and_hang_up(lab)
        await lab.advance(1.0)
        server, client = lab.server.transaction_counts
        assert server >= 10
        assert client >= 10
        assert alive() == before
        await lab.advance(40.0)
        assert lab.server.transaction_counts == (0, 0)


async def test_an_ended_call_is_freed_as_it_ends_without_a_pass_of_the_garbage_collector() -> None:
    """A call, its legs, hunt and relay point at each other; once the call ended with both legs
    closed nothing of it is left for the collector to find (issue #22: its passes stall the loop)."""
    async with b2bua_lab(DialPlanPolicy()) as lab:
        await call_and_hang_up(lab)
        already = alive_ids()  # what earlier tests of this process left, not this test's
        gc.disable()
        try:
            for _ in range(3):
                await call_and_hang_up(lab)
            await lab.advance(1.0)
            left = [it for it in gc.get_objects() if isinstance(it, KEPT_NOT) and id(it) not in already]
        finally:
            gc.enable()
        assert left == []


async def test_a_call_cancelled_while_its_callee_rings_is_freed_once_the_callee_leg_ends() -> None:
    """The call ends at the caller's CANCEL, its callee leg when the phone's 487 comes."""
    async with b2bua_lab(DialPlanPolicy()) as lab:
        await call_and_hang_up(lab)
        already = alive_ids()
        gc.disable()
        try:
            phone = lab.phones[BOB_DESK.device_id]
            invite = lab.carrier.invite(BOB_DESK_ONLY)
            incoming, tag = await phone.request("INVITE"), new_tag()
            phone.reply(incoming, 180, to_tag=tag)
            await lab.carrier.response(180)
            lab.carrier.cancel(invite)
            await lab.carrier.response(200, "CANCEL")
            lab.carrier.ack_error(invite, await lab.carrier.response(487))
            phone.reply(await phone.request("CANCEL"), 200)
            phone.reply(incoming, 487, to_tag=tag)
            await phone.request("ACK")
            await lab.cdrs_written(2)
            await lab.advance(1.0)
            left = [it for it in gc.get_objects() if isinstance(it, CallController) and id(it) not in already]
        finally:
            gc.enable()
        assert left == []
