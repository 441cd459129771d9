"""CPU of the per-call database writes of ``nuage serve`` (issue #22): crash journal and CDRs.

The real ``CallJournal`` over ``SqlCallJournal`` and the real ``CdrWriter`` over ``SqlCdrSink``,
on a SQLite file, driven as the SIP runtime drives them, one flush window at a time: each window
``--calls`` calls start (half of them end within the window: never journaled, a CDR only), the
long calls of the window before are answered (their entry rewritten) and those of two windows
before end (CDR written, entry forgotten). Process CPU (``time.process_time``, the worker threads
included) over the whole run is divided by the calls. ``--compare-src`` runs the same workload
against another checkout's ``src`` (A/B interleaved, each run in a fresh process).

    .venv/bin/python bench/sip/write_cost.py [--windows 200] [--calls 150] [--rounds 3]
        [--compare-src OTHER/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE_SRC = Path(__file__).resolve().parents[2] / "src"


async def _workload(url: str, windows: int, calls: int) -> float:
    from sqlalchemy import create_engine

    from nuage.shared.clock import FrozenClock
    from nuage.sip.accounting import CdrWriter
    from nuage.sip.journal import CallJournal
    from nuage.sip.ports import CallOutcome, CdrRecord, Direction, JournalEntry
    from nuage.sip.timers import VirtualScheduler
    from nuage.storage.sql import journal_tables, tables
    from nuage.storage.sql.call_journal import SqlCallJournal
    from nuage.storage.sql.sip_records import SqlCdrSink

    engine = create_engine(url)
    tables.metadata.create_all(
        engine, tables=[tables.cdrs, journal_tables.call_journal, journal_tables.call_journal_nodes]
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FrozenClock(start)
    journal = CallJournal(SqlCallJournal(engine), "node-a", clock, VirtualScheduler(), flush_s=0.5)
    writer = CdrWriter(SqlCdrSink(engine), batch_size=100, flush_interval_ms=10**6)
    writer.on_written = journal.cdrs_written

    def entry(w: int, i: int, answered: bool) -> JournalEntry:
        at = start + timedelta(seconds=w)
        return JournalEntry(
            call_id=f"call-{w}-{i}@bench",
            caller_tag=f"tag{w}x{i}",
            callee_call_id=f"leg-{w}-{i}",
            callee_tag=f"ct{w}x{i}",
            started_at=at,
            answered_at=at + timedelta(seconds=1) if answered else None,
            caller="+33123456789",
            callee="+33987654321",
            account_id="acc_0123456789abcdef",
            device_id="dev_0123456789abcdef",
            trunk_id=None,
            customer_trunk_id=None,
            direction=Direction.OUTBOUND,
            emergency=False,
        )

    def end(e: JournalEntry) -> None:
        ended = e.started_at + timedelta(seconds=2)
        record = CdrRecord(
            call_id=e.call_id,
            caller=e.caller,
            callee=e.callee,
            account_id=e.account_id,
            device_id=e.device_id,
            trunk_id=e.trunk_id,
            direction=e.direction,
            started_at=e.started_at,
            answered_at=e.answered_at,
            ended_at=ended,
            billable_seconds=1 if e.answered_at else 0,
            outcome=CallOutcome.ANSWERED if e.answered_at else CallOutcome.CANCELLED,
            sip_status=200 if e.answered_at else 487,
            refusal_rule_id=None,
            emergency=False,
            mos=4.2,
        )
        journal.ended((e.call_id, e.caller_tag), record)
        writer.call_ended(record)

    half = calls // 2
    plan = [  # built before the clock starts: only the writes are timed
        (
            [entry(w, i, False) for i in range(calls)] if w < windows else [],
            [entry(w, i, False) for i in range(half, calls)] if w < windows else [],
            [entry(w - 1, i, True) for i in range(half)] if 1 <= w <= windows else [],
            [entry(w - 2, i, True) for i in range(half)] if w >= 2 else [],
        )
        for w in range(windows + 2)
    ]
    began = time.process_time()
    for w, (started, short, answered, finished) in enumerate(plan):
        clock.set(start + timedelta(seconds=w))
        for e in started:
            journal.update(e)
        for e in short:
            end(e)
        for e in answered:
            journal.update(e)
        for e in finished:
            end(e)
        await writer.flush()
        await journal.flush()
    await writer.close()
    await journal.flush()
    spent = time.process_time() - began
    engine.dispose()
    return spent / (windows * calls)


def _child(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/writes.db"
        per_call = asyncio.run(_workload(url, args.windows, args.calls))
    print(f"{per_call * 1e6:.3f}")


def _run(src: Path, args: argparse.Namespace) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, __file__, "--child", "--windows", str(args.windows), "--calls", str(args.calls)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--calls", type=int, default=150, help="calls started per flush window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare-src", type=Path, help="another checkout's src: the baseline")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    sides = {"this": HERE_SRC}
    if args.compare_src is not None:
        sides = {"baseline": args.compare_src.resolve(), "this": HERE_SRC}
    found: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, src in sides.items():
            found[name].append(_run(src, args))
    print(f"{args.windows} windows x {args.calls} calls, {args.rounds} rounds; CPU per call (µs), median:")
    for name, values in found.items():
        print(f"  {name:9} {statistics.median(values):8.1f}   runs: {', '.join(f'{v:.1f}' for v in values)}")
    if "baseline" in found:
        ratio = statistics.median(found["this"]) / statistics.median(found["baseline"])
        print(f"  this / baseline = {ratio:.3f}")


if __name__ == "__main__":
    main()
