"""CDRs: billable seconds and the batching writer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from nuage.sip.accounting import CdrWriter, billable_seconds
from nuage.sip.memory import MemoryCdrSink
from nuage.sip.ports import CallOutcome, CdrRecord, Direction
from waiting import wait_for_condition

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def record(call_id: str) -> CdrRecord:
    return CdrRecord(
        call_id=call_id,
        caller="alice",
        callee="bob",
        account_id="acc-1",
        device_id="dev-alice",
        trunk_id=None,
        direction=Direction.INTERNAL,
        started_at=T0,
        answered_at=None,
        ended_at=T0,
        billable_seconds=0,
        outcome=CallOutcome.NO_ANSWER,
        sip_status=480,
        refusal_rule_id=None,
        emergency=False,
    )


def test_billable_seconds_round_a_started_second_up() -> None:
    assert billable_seconds(T0, T0 + timedelta(seconds=61, milliseconds=1)) == 62
    assert billable_seconds(T0, T0 + timedelta(seconds=61)) == 61
    assert billable_seconds(None, T0 + timedelta(seconds=61)) == 0


async def test_writer_flushes_by_count() -> None:
    sink = MemoryCdrSink()
    writer = CdrWriter(sink, batch_size=3, flush_interval_ms=10_000)
    for index in range(7):
        writer.call_ended(record(str(index)))
    # the count-triggered flush drains the queue in batches of at most 3, in the background
    await wait_for_condition(lambda: sink.batches == 3, timeout=10, what="three batches written")
    assert len(sink.records) == 7
    await writer.close()
    assert [r.call_id for r in sink.records] == [str(i) for i in range(7)]


async def test_writer_flushes_by_time() -> None:
    sink = MemoryCdrSink()
    writer = CdrWriter(sink, batch_size=100, flush_interval_ms=20)
    writer.call_ended(record("a"))
    await wait_for_condition(lambda: sink.records != [], timeout=10, what="the timed flush")
    assert [r.call_id for r in sink.records] == ["a"]
    assert writer.pending == 0
    await writer.close()


class FlakySink:
    def __init__(self) -> None:
        self.fail = True
        self.attempts = 0
        self.records: list[CdrRecord] = []

    async def write(self, records: Sequence[CdrRecord]) -> None:
        self.attempts += 1
        if self.fail:
            raise ConnectionError("database down")
        self.records.extend(records)


async def test_a_failing_sink_loses_nothing() -> None:
    sink = FlakySink()
    writer = CdrWriter(sink, batch_size=1, flush_interval_ms=10)
    writer.call_ended(record("a"))
    await wait_for_condition(lambda: sink.attempts >= 2, timeout=10, what="the sink tried twice")
    assert writer.pending == 1  # kept, and retried at the next flush
    sink.fail = False
    await writer.close()
    assert [r.call_id for r in sink.records] == ["a"]
