"""Billing benchmark: rate a month of CDRs from storage to stored result, then invoice every account.

Not a test. Usage (from the repository root)::

    .venv/bin/python bench/billing/bench_billing.py --db sqlite --cdrs 1000000 --accounts 10000
    .venv/bin/python bench/billing/bench_billing.py --db postgresql --cdrs 1000000 --accounts 10000
    .venv/bin/python bench/billing/bench_billing.py --db postgresql --cdrs 1000000 --rounds 3 --no-run

Setup (not timed) writes parties, orders, contracts, frozen January summaries and the CDRs
in bulk (then, on PostgreSQL, ``VACUUM (ANALYZE)``s them, as autovacuum would have over the
month). Each timed phase runs in a fresh subprocess, which reports its wall time, its peak
resident memory (``VmHWM`` on Linux) and its own processor time (``cpu_seconds``): ``rate`` is
``services.billing.rating.rate_pending`` (both runs, batched), ``run`` is
``services.billing.monthly_run.run_billing`` for 2026-01, which builds and validates (UBL XSD + EN 16931)
every invoice's e-invoice before issuing it (BIL-4; worker processes, not counted in
``cpu_seconds``: ``NUAGE_EINVOICE_WORKERS``, default the CPU count); PDFs are not rendered. What
processes a phase started and waited for used (those workers, a large SQLite pass's writing
process) is ``children_cpu_seconds``. The
run also reports ``einvoice_seconds`` (building and validating e-invoices) and
``documents_aside_seconds`` (the run less that time).

The storage limit, measured in the same run: after each rating pass, ``reference`` writes the
very cost records that pass stored (read back first, not timed) into a table made like
``rated_calls`` with the same indexes (made and committed before the clock starts), in one
transaction, by the database's bulk path: ``COPY`` on PostgreSQL (text and binary, each into its
own fresh table), ``executemany`` on SQLite (the job's page cache, as rating). ``ratio`` is the
cost records rating stored per second over the rows the reference wrote per second (rating
reads, prices and writes; the reference only writes). ``--rounds`` repeats rating and reference
in turn (the cost records emptied between rounds); the monthly run follows the last round.
``--compare-src OTHER/src`` also rates with another tree's package each round (A B, then B A),
each pass followed by the reference; ``--reuse`` (PostgreSQL) rates the last run's database
again without its setup. On PostgreSQL each phase also reports ``server_cpu_seconds``: the CPU of
the server processes of its connections, from ``/proc`` (the server on the same machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from nuage.bootstrap import Platform, build_platform
from nuage.config import Settings
from nuage.services.billing.defaults import load_billing_defaults
from nuage.services.billing.monthly_run import run_billing
from nuage.services.billing.rating import rate_pending
from nuage.services.context import Context
from nuage.shared.clock import BUSINESS_TZ, FrozenClock
from nuage.shared.collector import collector_paused
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql import tables as t
from nuage.storage.sql.billing.rated_sqlite import JOB_CACHE_KIB
from nuage.terms.counting import ItemKind, freeze_monthly_summary

try:
    from nuage.shared.switching import switch_often
except ImportError:  # --compare-src with a tree from before it: rated as that tree's CLI rates
    switch_often = nullcontext

MONTH = Month(2026, 1)
NOW = datetime(2026, 2, 3, 8, tzinfo=UTC)
DESTINATIONS = ("+3222001122", "+32470123456", "+33142000000", "+4930123456", "+31201234567", "+12125550100")
OPERATOR = "opr_bench"
DATABASE = "nuage_bench_billing"  # PostgreSQL: made again by each run (kept after it for --reuse)


def _platform(url: str | None, data_dir: Path) -> Platform:
    return build_platform(Settings(data_dir=data_dir, database_url=url), migrate=True, clock=FrozenClock(NOW))


def setup(platform: Platform, accounts: int, cdr_count: int, seed: int = 7) -> dict[str, Any]:
    """Parties, orders, contracts, January summaries and ``cdr_count`` CDRs, written in bulk."""
    rng = random.Random(seed)
    partners = max(1, accounts // 200)
    indirect = accounts // 10  # 10 % of customers are served by a partner (two rating runs)
    with platform.uow() as uow:
        load_billing_defaults(uow, platform.clock)
        uow.commit()
    party_rows: list[dict[str, Any]] = [
        {"id": OPERATOR, "kind": "operator", "name": "Bench operator", "country": "BE"},
        *(
            {"id": f"ptn_{i:06d}", "kind": "partner", "name": f"Partner {i}", "country": "BE"}
            for i in range(partners)
        ),
    ]
    customers = [f"cus_{i:07d}" for i in range(accounts)]
    for index, customer in enumerate(customers):
        partner = f"ptn_{index % partners:06d}" if index < indirect else None
        party_rows.append(
            {
                "id": customer,
                "kind": "customer",
                "name": f"Customer {index}",
                "country": "BE",
                "partner_id": partner,
            }
        )
    for row in party_rows:
        row.update(
            created_at=NOW, status="active", language="fr", capacity_reading="literal",
            vat_number="BE0123456749", partner_id=row.get("partner_id"),
        )  # fmt: skip
    with platform.engine.begin() as connection:
        connection.execute(insert(t.parties), party_rows)
        connection.execute(
            insert(t.orders),
            [
                {
                    "id": f"ord_{customer[4:]}", "customer_id": customer, "placed_by_party_id": OPERATOR,
                    "terms_version": "2026-01", "language": "fr", "accepted_at": NOW, "accepted_by": "bench",
                    "service_start_on": date(2025, 12, 1), "minimum_term_months": 24, "description": "",
                    "lines": [],
                }
                for customer in customers
            ],
        )  # fmt: skip
        connection.execute(
            insert(bt.contracts),
            [
                {
                    "id": f"ctr_{customer[4:]}", "customer_id": customer,
                    "contracting_party_id": customer, "order_id": f"ord_{customer[4:]}",
                    "start_on": date(2025, 12, 1), "minimum_term_months": 24,
                    "recurring_billed_through": "2026-01", "created_at": NOW,
                }
                for customer in customers
            ],
        )  # fmt: skip
        summaries = []
        for customer in customers:
            counts = {
                ItemKind.BILLABLE_USERS: Decimal(rng.randint(1, 40)),
                ItemKind.NATIONAL_NUMBERS: Decimal(rng.randint(1, 10)),
                ItemKind.CONFERENCE_ROOMS: Decimal(rng.randint(0, 2)),
            }
            summary = freeze_monthly_summary(customer, MONTH, counts, NOW, None)
            summaries.append(
                {
                    "account_id": customer, "month": str(MONTH),
                    "items": {k.value: str(q) for k, q in summary.items}, "frozen_at": NOW,
                    "previous_hash": summary.previous_hash, "hash": summary.hash,
                }
            )  # fmt: skip
        connection.execute(insert(bt.monthly_summaries), summaries)
    start = datetime(2026, 1, 1, tzinfo=BUSINESS_TZ).timestamp()
    span = 31 * 86400 - 3600
    written = 0
    chunk = 100_000
    while written < cdr_count:
        rows = []
        for n in range(written, min(cdr_count, written + chunk)):
            at = datetime.fromtimestamp(start + rng.random() * span, UTC)
            seconds = rng.randint(1, 900)
            rows.append(
                {
                    "id": f"cdr_{n:010d}", "call_id": f"call-{n}",
                    "account_id": customers[rng.randrange(accounts)],
                    "direction": "outbound", "caller": "+3223000100", "callee": rng.choice(DESTINATIONS),
                    "started_at": at, "answered_at": at, "ended_at": at + timedelta(seconds=seconds),
                    "billable_seconds": seconds, "outcome": "answered", "sip_status": 200,
                    "emergency": False, "source": "sip", "recorded_at": NOW,
                }
            )  # fmt: skip
        with platform.engine.begin() as connection:
            connection.execute(insert(t.cdrs), rows)
        written += len(rows)
    return {"accounts": accounts, "partners": partners, "indirect_customers": indirect, "cdrs": cdr_count}


def phase(name: str, url: str | None, data_dir: Path) -> dict[str, Any]:
    """One timed phase, run in this (fresh) process."""
    platform = _platform(url, data_dir)
    ctx = Context.operator(OPERATOR, platform.clock)
    started = time.perf_counter()
    cpu_started = time.process_time()
    children_started = _children_cpu()
    result: dict[str, Any]
    if name == "rate":
        with collector_paused(), switch_often():  # as the CLI's rating
            report = rate_pending(platform.uow, ctx)
        result = {"cdrs": report.cdrs_seen, "stored": report.stored, "failures": report.failure_count}
    else:
        with collector_paused():  # as the CLI's bulk jobs
            run = run_billing(
                platform.uow,
                ctx,
                MONTH,
                validator=platform.einvoice_validator,
                run_on=date(2026, 1, 28),
                settings=platform.payments,
            )
        result = {
            "invoices": len(run.invoices),
            "lines": sum(len(s.issued.draft.lines) for s in run.invoices),
            "refused": len(run.refused),  # BIL-4: every invoice's e-invoice is validated before issue
            "einvoice_seconds": round(run.einvoice_seconds, 2),  # BIL-4: building + validating UBL
        }
    result["seconds"] = round(time.perf_counter() - started, 2)
    # this process's processor time (every thread, user + system; not the PostgreSQL server's):
    # at or under ``seconds``, the phase ran on one core
    result["cpu_seconds"] = round(time.process_time() - cpu_started, 2)
    # and of the processes it started and waited for (a large SQLite pass's writing process)
    result["children_cpu_seconds"] = round(_children_cpu() - children_started, 2)
    if name == "run":  # the target's "documents aside": the run less its e-invoice work
        result["documents_aside_seconds"] = round(result["seconds"] - result["einvoice_seconds"], 2)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["server_cpu_seconds"] = _server_cpu_seconds(url)  # the pool's connections are still open
    platform.close()
    return result


def reference(url: str | None, data_dir: Path) -> dict[str, Any]:
    """The storage limit: the cost records now in ``rated_calls`` written again into an empty
    table with the same indexes, in one transaction, by the database's bulk path."""
    platform = _platform(url, data_dir)
    result: dict[str, Any] = {}
    try:
        with platform.engine.connect() as connection:
            raw: Any = connection.connection.driver_connection
            if connection.dialect.name == "postgresql":
                for form in ("text", "binary"):
                    result[f"copy_{form}"] = _copy_reference(raw, form)
            else:
                result["executemany"] = _executemany_reference(raw)
    finally:
        platform.close()
    return result


def _copy_reference(raw: Any, form: str) -> dict[str, Any]:
    """PostgreSQL: ``COPY`` (``form``: text or binary) of the stored cost records, sent as read."""
    option = " (FORMAT binary)" if form == "binary" else ""
    data = bytearray()
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY rated_calls TO STDOUT{option}") as copy:
            for block in copy:
                data += block
        rows = cursor.execute("SELECT count(*) FROM rated_calls").fetchone()[0]
        cursor.execute("DROP TABLE IF EXISTS rated_calls_reference")
        cursor.execute("CREATE TABLE rated_calls_reference (LIKE rated_calls INCLUDING ALL)")
    raw.commit()  # the table is not new in the timed transaction (no WAL shortcut for it)
    view = memoryview(data)
    backend = Path(f"/proc/{raw.info.backend_pid}/stat")
    server_started = _ticks(backend)
    started, cpu_started = time.perf_counter(), time.process_time()
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY rated_calls_reference FROM STDIN{option}") as copy:
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])
    raw.commit()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    server_seconds = (_ticks(backend) - server_started) / os.sysconf("SC_CLK_TCK")
    raw.execute("DROP TABLE rated_calls_reference")
    raw.commit()
    return {"rows": rows, "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
            "server_cpu_seconds": round(server_seconds, 2), "rows_per_second": round(rows / seconds),
            "megabytes": round(len(view) / 1e6, 1)}  # fmt: skip


def _ticks(stat: Path) -> int:
    """User and system clock ticks of a process, from its ``/proc/PID/stat``."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _executemany_reference(raw: Any) -> dict[str, Any]:
    """SQLite: ``executemany`` of the stored cost records, bound as read, the job's page cache."""
    rows = raw.execute("SELECT * FROM rated_calls").fetchall()
    schema = [
        sql.replace("rated_calls", "rated_calls_reference")
        for (sql,) in raw.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'rated_calls' AND sql IS NOT NULL "
            "ORDER BY type DESC"
        )
    ]  # the table, then its indexes
    raw.execute("DROP TABLE IF EXISTS rated_calls_reference")
    for statement in schema:
        raw.execute(statement)
    raw.commit()
    raw.execute(f"PRAGMA cache_size = -{JOB_CACHE_KIB}")  # as a billing job's connection
    marks = ", ".join("?" for _ in rows[0]) if rows else ""
    started, cpu_started = time.perf_counter(), time.process_time()
    raw.executemany(f"INSERT INTO rated_calls_reference VALUES ({marks})", rows)
    raw.commit()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    raw.execute("DROP TABLE rated_calls_reference")
    raw.commit()
    return {"rows": len(rows), "seconds": round(seconds, 2), "cpu_seconds": round(cpu_seconds, 2),
            "rows_per_second": round(len(rows) / seconds)}  # fmt: skip


def _forget_rated(url: str | None, data_dir: Path) -> None:
    """Between rounds: the cost records and pack balances gone, the tables as the first round found them."""
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("TRUNCATE rated_calls, pack_balances")
            connection.execute("VACUUM (ANALYZE) rated_calls, pack_balances")
        return
    platform = _platform(url, data_dir)
    try:
        with platform.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM rated_calls")
            connection.exec_driver_sql("DELETE FROM pack_balances")
        with platform.engine.connect() as connection:
            connection.connection.driver_connection.execute("VACUUM")
    finally:
        platform.close()


def _server_cpu_seconds(url: str | None) -> float | None:
    """PostgreSQL: the processor time of the server processes of every open connection to the
    bench's database (the phase's own: it opened them all), from ``/proc`` (same machine)."""
    if not url:
        return None
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        pids = [
            pid for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]  # fmt: skip
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return round(ticks / os.sysconf("SC_CLK_TCK"), 2)


def _children_cpu() -> float:
    """User and system time of this process's ended children (``getrusage``)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux: ``VmHWM``, the high-water mark of this program's
    own memory (``ru_maxrss`` also counts the parent's memory at the fork that started it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _subprocess(name: str, url: str | None, data_dir: Path, src: Path | None = None) -> dict[str, Any]:
    """A phase in a fresh process; ``src``: with the ``nuage`` package of another tree's ``src``."""
    command = [sys.executable, __file__, "--phase", name, "--data-dir", str(data_dir)]
    if url:
        command += ["--url", url]
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _vacuum(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) cdrs, parties, rated_calls")


def _postgres_database(name: str) -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def _ratio(rating: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Cost records rating stored per second over the rows each reference wrote per second."""
    stored = sum(rating["stored"].values())
    return {
        name: round(stored / rating["seconds"] / measured["rows_per_second"], 2)
        for name, measured in reference.items()
        if measured["rows"] == stored  # the same rows, or no ratio
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1, help="rating then its reference, this many times")
    parser.add_argument("--no-run", action="store_true", help="no monthly run after the last round")
    parser.add_argument("--compare-src", type=Path, help="also rate with another tree's src, each round")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: the last run's database, no setup")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL: the bench database's name")
    parser.add_argument("--phase", choices=["rate", "run", "reference"])
    parser.add_argument("--url")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(reference(args.url, args.data_dir) if args.phase == "reference"
                         else phase(args.phase, args.url, args.data_dir)))  # fmt: skip
        return
    with tempfile.TemporaryDirectory(prefix="nuage-bench-") as tmp:
        data_dir = Path(tmp)
        if args.reuse and args.db == "postgresql":
            url = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
            _forget_rated(url, data_dir)
        else:
            url = _postgres_database(args.database) if args.db == "postgresql" else None
            platform = _platform(url, data_dir)
            started = time.perf_counter()
            world = setup(platform, args.accounts, args.cdrs)
            platform.close()
            if url:  # a month of CDRs arrives over a month, and autovacuum keeps up with it: not in one
                _vacuum(url)  # bulk load that leaves it to vacuum 1 M fresh rows during the timed phase
            world["setup_seconds"] = round(time.perf_counter() - started, 1)
            print(json.dumps({"db": args.db, **world}), flush=True)
        ratios: list[dict[str, Any]] = []
        for round_number in range(args.rounds):
            trees: list[Path | None] = [None] if args.compare_src is None else [None, args.compare_src]
            if round_number % 2:
                trees.reverse()  # A B, then B A
            for tree in trees:
                if round_number or tree is not trees[0]:
                    _forget_rated(url, data_dir)
                load = os.getloadavg()[0]
                rating = _subprocess("rate", url, data_dir, tree)
                rating["cdrs_per_second"] = round(rating["cdrs"] / rating["seconds"])
                rating["records_per_second"] = round(sum(rating["stored"].values()) / rating["seconds"])
                rating["tree"] = "this" if tree is None else str(tree)
                print(json.dumps({"phase": "rate", "round": round_number + 1, **rating}), flush=True)
                limit = _subprocess("reference", url, data_dir)
                ratios.append({"tree": rating["tree"], **_ratio(rating, limit)})
                loads = [round(load, 2), round(os.getloadavg()[0], 2)]
                limit.update(ratio=ratios[-1], load_average=loads)
                print(json.dumps({"phase": "reference", "round": round_number + 1, **limit}), flush=True)
        print(json.dumps({"ratios": ratios}), flush=True)
        if not args.no_run:
            billing = _subprocess("run", url, data_dir)
            print(json.dumps({"phase": "run", **billing}), flush=True)


if __name__ == "__main__":
    main()
