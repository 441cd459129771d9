"""Issue #20 item 7, on the in-memory network and virtual time: the crash journal of calls in progress.

A node journals each call it authorised (start, callee leg, answer) behind the call path; the
store as a crash leaves it is handed to the node's next life, which closes the lost calls' CDRs
with what was known (never billed beyond the last sign of life) and answers their BYEs with 200.
The crash itself, a real process killed with SIGKILL, is ``sip.integration.test_crash_recovery``'s.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import datetime, timedelta

from nuage.sip.memory import MemoryCallJournalStore, MemoryCdrSink
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import INTERRUPTED, CallOutcome, JournalEntry
from nuage.sip.timers import VirtualScheduler
from sip.unit.b2bua.lab import BOB_DESK, BOB_DESK_ONLY, CAROL, CAROL_ONLY, b2bua_lab, sdp
from sip.unit.b2bua.test_calls import answer, ring
from waiting import wait_for_condition


def as_the_crash_left_it(store: MemoryCallJournalStore) -> MemoryCallJournalStore:
    """The journal and the CDRs stored when the node died (what its memory held is lost)."""
    left = MemoryCallJournalStore(MemoryCdrSink())
    left.cdrs.records = list(store.cdrs.records)
    left.entries = copy.deepcopy(store.entries)
    left.seen_at = dict(store.seen_at)
    return left


async def test_a_node_started_again_closes_the_lost_calls_and_answers_their_byes() -> None:
    store, clock = MemoryCallJournalStore(MemoryCdrSink()), VirtualScheduler()
    async with b2bua_lab(DialPlanPolicy(), journal=store, clock=clock) as lab:
        caller, callee = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        _, ringing, _ = await ring(lab, CAROL_ONLY, CAROL.device_id)  # a second call, never answered
        await lab.advance(42.0)
        assert lab.server.journal is not None
        await lab.server.journal.flush()
        left = as_the_crash_left_it(store)
    assert len(left.entries["node-a"]) == 2
    clock.advance(30.0)  # the node is down, then starts again
    async with b2bua_lab(DialPlanPolicy(), journal=left, clock=clock) as lab:
        answered, unanswered = sorted(left.cdrs.records, key=lambda r: r.answered_at is None)
        assert left.entries == {}  # closed before the node listens
        assert (answered.outcome, answered.disposition, answered.billable_seconds) == (
            CallOutcome.ANSWERED,
            INTERRUPTED,
            42,  # up to the last sign of life, not to the restart (72 s)
        )
        assert answered.answered_at is not None
        assert answered.ended_at - answered.answered_at == timedelta(seconds=42)
        assert (unanswered.outcome, unanswered.billable_seconds, unanswered.answered_at) == (
            CallOutcome.FAILED,
            0,
            None,
        )
        assert unanswered.disposition == INTERRUPTED
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        desk = lab.phones[BOB_DESK.device_id]
        desk.send_in_dialog(callee, "BYE")
        await desk.response(200, "BYE")
        desk.send_in_dialog(callee, "BYE")  # the dialog is over now
        await desk.response(481, "BYE")
        assert ringing.call_id != caller.call_id
        await lab.server.cdr_writer.flush()
        assert len(left.cdrs.records) == 2  # the BYEs wrote nothing more


async def test_a_call_whose_cdr_was_stored_is_not_closed_twice() -> None:
    store, clock = MemoryCallJournalStore(MemoryCdrSink()), VirtualScheduler()
    async with b2bua_lab(DialPlanPolicy(), journal=store, clock=clock) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        assert lab.server.journal is not None
        await lab.server.journal.flush()
        lab.server.cdr_writer.on_written = None  # the node dies between the CDR and forgetting the call
        lab.carrier.send_in_dialog(caller, "BYE")
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(await desk.request("BYE"), 200)
        await lab.cdrs_written(1)
        await lab.server.journal.flush()
        left = as_the_crash_left_it(store)
    assert len(left.entries["node-a"]) == 1
    async with b2bua_lab(DialPlanPolicy(), journal=left, clock=clock):
        (cdr,) = left.cdrs.records
        assert (cdr.disposition, left.entries) == (None, {})


async def test_calls_end_cleanly_leave_nothing_to_recover() -> None:
    store, clock = MemoryCallJournalStore(MemoryCdrSink()), VirtualScheduler()
    async with b2bua_lab(DialPlanPolicy(), journal=store, clock=clock) as lab:
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        assert lab.server.journal is not None
        await lab.server.journal.flush()
        assert len(store.entries["node-a"]) == 1
        lab.carrier.send_in_dialog(caller, "BYE")
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(await desk.request("BYE"), 200)
        await lab.cdrs_written(1)
        await lab.server.journal.flush()
        assert store.entries["node-a"] == {}
        assert lab.server.journal.stored == 0


class StuckStore(MemoryCallJournalStore):
    """A journal store that never answers (a database hung)."""

    def __init__(self) -> None:
        super().__init__(MemoryCdrSink())
        self.writes = 0

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        self.writes += 1
        await asyncio.Event().wait()


async def test_the_call_path_never_waits_on_the_journal_store() -> None:
    store = StuckStore()
    async with b2bua_lab(DialPlanPolicy(), journal=store) as lab:
        invite, incoming, tag = await ring(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        await lab.advance(1.0)  # a flush starts with the call, and hangs
        await wait_for_condition(lambda: store.writes == 1, timeout=10, what="a flush")
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(incoming, 200, to_tag=tag, body=sdp(desk.address.host, 30000))
        ok = await lab.carrier.response(200)
        caller = lab.carrier.dialog_as_caller(invite, ok)
        lab.carrier.send_in_dialog(caller, "ACK", cseq=invite.cseq.number)
        await lab.advance(5.0)
        lab.carrier.send_in_dialog(caller, "BYE")
        await lab.carrier.response(200, "BYE")
        desk.reply(await desk.request("BYE"), 200)
        (cdr,) = await lab.cdrs_written(1)
        assert (cdr.outcome, cdr.billable_seconds) == (CallOutcome.ANSWERED, 5)
        assert lab.server.journal is not None
        assert store.writes == 1
        assert lab.server.journal.live == 0


class FlakyStore(MemoryCallJournalStore):
    """A journal store whose first write fails (a database hiccup)."""

    def __init__(self) -> None:
        super().__init__(MemoryCdrSink())
        self.failures = 1

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        await super().write(node, entries, removed, seen_at)


async def test_a_failed_journal_write_is_retried_with_everything_it_held() -> None:
    store = FlakyStore()
    async with b2bua_lab(DialPlanPolicy(), journal=store) as lab:
        await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        assert lab.server.journal is not None
        await lab.server.journal.flush()  # fails: kept
        assert store.entries == {}
        await lab.server.journal.flush()
        (stored,) = store.entries["node-a"].values()
        assert stored.answered_at is not None


class GatedStore(MemoryCallJournalStore):
    """A journal store whose writes wait until the test opens the gate (a slow database)."""

    def __init__(self) -> None:
        super().__init__(MemoryCdrSink())
        self.gate = asyncio.Event()
        self.waiting = 0

    async def write(
        self,
        node: str,
        entries: Sequence[JournalEntry],
        removed: Sequence[tuple[str, str]],
        seen_at: datetime,
    ) -> None:
        self.waiting += 1
        await self.gate.wait()
        await super().write(node, entries, removed, seen_at)


async def test_a_call_that_ends_while_its_entry_is_being_written_is_forgotten_at_the_next_flush() -> None:
    store = GatedStore()
    async with b2bua_lab(DialPlanPolicy(), journal=store) as lab:
        journal = lab.server.journal
        assert journal is not None
        caller, _ = await answer(lab, BOB_DESK_ONLY, BOB_DESK.device_id)
        writing = asyncio.create_task(journal.flush())  # the call's entry, on its way to the store
        await wait_for_condition(lambda: store.waiting == 1, timeout=10, what="the write to start")
        lab.carrier.send_in_dialog(caller, "BYE")
        desk = lab.phones[BOB_DESK.device_id]
        desk.reply(await desk.request("BYE"), 200)
        await lab.cdrs_written(1)  # the CDR is stored before the entry is
        store.gate.set()
        await writing
        assert len(store.entries["node-a"]) == 1
        await journal.flush()
        assert store.entries["node-a"] == {}
        assert journal.stored == 0
