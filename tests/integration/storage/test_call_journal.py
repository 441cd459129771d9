"""The crash journal over SQL (issue #20), on SQLite and PostgreSQL: what a node journals, and how
its next life closes the calls it lost (``nuage.storage.sql.call_journal``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from nuage.bootstrap import Platform
from nuage.sip.journal import recover
from nuage.sip.ports import INTERRUPTED, CallOutcome, Direction, JournalEntry
from nuage.storage.sql import tables
from nuage.storage.sql.call_journal import SqlCallJournal
from nuage.storage.sql.sip_records import SqlCdrSink
from sip.unit.test_accounting import record as cdr_record

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def entry(call_id: str, *, answered_after_s: float | None = None) -> JournalEntry:
    return JournalEntry(
        call_id=call_id,
        caller_tag="tag-" + call_id,
        callee_call_id="b2b-" + call_id,
        callee_tag="out-" + call_id,
        started_at=T0,
        answered_at=T0 + timedelta(seconds=answered_after_s) if answered_after_s is not None else None,
        caller="+3222222222",
        callee="+32475123456",
        account_id="acc-1",
        device_id="dev-1",
        trunk_id="carrier-1",
        customer_trunk_id=None,
        direction=Direction.OUTBOUND,
        emergency=False,
    )


async def test_a_node_journals_its_calls_and_its_last_sign_of_life(platform: Platform) -> None:
    journal = SqlCallJournal(platform.engine)
    await journal.write("node-a", [entry("c1"), entry("c2")], [], T0 + timedelta(seconds=1))
    await journal.write("node-b", [entry("c3")], [], T0 + timedelta(seconds=1))
    answered = entry("c1", answered_after_s=2.5)
    await journal.write("node-a", [answered], [("c2", "tag-c2")], T0 + timedelta(seconds=9))
    entries, seen_at = await journal.load("node-a")
    assert (entries, seen_at) == ([answered], T0 + timedelta(seconds=9))
    assert await journal.load("node-c") == ([], None)


async def test_closing_a_lost_node_writes_one_cdr_per_call_without_one_and_forgets_it(
    platform: Platform,
) -> None:
    journal = SqlCallJournal(platform.engine)
    lost = [entry("c1", answered_after_s=2.5), entry("c2"), entry("c3", answered_after_s=1)]
    await journal.write("node-a", lost, [], T0 + timedelta(seconds=60.2))
    await journal.write("node-b", [entry("c4")], [], T0 + timedelta(seconds=60))
    stored = replace(cdr_record("c3"), started_at=T0)  # c3 ended, its CDR stored just before the crash
    await SqlCdrSink(platform.engine).write([stored])

    closed = await recover(journal, "node-a")

    assert {e.call_id for e in closed} == {"c1", "c2", "c3"}
    with platform.engine.connect() as connection:
        rows = {r["call_id"]: r for r in connection.execute(select(tables.cdrs)).mappings()}
    assert set(rows) == {"c1", "c2", "c3"}
    c1, c2 = rows["c1"], rows["c2"]
    assert (c1["outcome"], c1["billable_seconds"], c1["disposition"]) == ("answered", 58, INTERRUPTED)
    assert c1["ended_at"] == T0 + timedelta(seconds=60.2)  # the last sign of life, never later
    assert (c2["outcome"], c2["billable_seconds"], c2["answered_at"]) == (CallOutcome.FAILED.value, 0, None)
    assert rows["c3"]["disposition"] is None  # the CDR stored before the crash, not a second one
    assert await journal.load("node-a") == ([], None)
    assert len((await journal.load("node-b"))[0]) == 1  # another node's calls are not this node's
    assert await recover(journal, "node-a") == []  # done once
