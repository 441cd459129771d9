"""What keeping the SIP directory current costs: a full read against a change applied, by size.

    .venv/bin/python bench/sip/snapshot_cost.py [--accounts 1000,10000] [--postgres URL]

For each size, a database is filled by ``policy_lab.setup`` (per account three users with a
number and a softphone each, through the use cases), then in this process, on the directory
adapter ``nuage serve`` uses (``SqlSipDirectory``): the full read at start (CPU and wall time, and
the resident memory it added), the check when nothing changed, one account changed (a phone
added), and 100 accounts changed (a user renamed in each); each change must be applied without a
full read. The call policy's snapshot (``SqlPolicySnapshot``), kept current the same way, is timed
alike. CPU is this process's own (``time.process_time``): the machine may be shared,
the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from policy_lab import setup
from sqlalchemy import update

from nuage.directory.model import DeviceKind
from nuage.services.context import Context
from nuage.services.directory.devices import add_device
from nuage.shared.clock import FrozenClock
from nuage.storage.sql import tables
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.unit_of_work import SqlUnitOfWork


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def timed(step: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    await step()
    return {
        "cpu_ms": round(1000 * (time.process_time() - cpu), 1),
        "wall_ms": round(1000 * (time.perf_counter() - wall), 1),
    }


async def measure(url: str) -> dict[str, object]:
    engine = make_engine(url)
    clock = FrozenClock(datetime.now(UTC))
    holders = {
        "directory": SqlSipDirectory(engine, clock=clock),
        "policy": SqlPolicySnapshot(engine, clock=clock),
    }
    results: dict[str, object] = {}
    for name, holder in holders.items():
        before = rss_mb()
        results[f"{name}_full"] = await timed(holder.reload)
        results[f"{name}_rss_mb"] = round(rss_mb() - before, 1)
        holder._changes.forget()  # a second full read, warm
        results[f"{name}_full_again"] = await timed(holder.reload)
        results[f"{name}_nothing_changed"] = await timed(holder.reload)
    with SqlUnitOfWork(engine) as uow:
        accounts = sorted({user.account_id for user in uow.users.list()})
        ctx = Context.operator("bench", clock)
        add_device(uow, ctx, accounts[0], DeviceKind.SOFTPHONE_PC, "New phone")
        uow.commit()
    for name, holder in holders.items():
        results[f"{name}_one_account_changed"] = await timed(holder.reload)
    with engine.begin() as connection:
        for account in accounts[1:101]:
            connection.execute(
                update(tables.users).where(tables.users.c.account_id == account).values(name="Renamed")
            )
    for name, holder in holders.items():
        results[f"{name}_100_accounts_changed"] = await timed(holder.reload)
        assert holder.full_loads == 2, (name, holder.full_loads)  # applied, not read whole
    results["sip_accounts"] = len(holders["directory"]._view.value.accounts)
    engine.dispose()
    return results


def run(size: int, database_url: str | None) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="nuage-bench-"))
    url = database_url or f"sqlite:///{folder / 'nuage.db'}"
    started = time.perf_counter()
    setup(url, size, 5999, folder / "calls.csv")
    load_before = os.getloadavg()
    results: dict[str, object] = {"accounts": size, "setup_s": round(time.perf_counter() - started)}
    results.update(asyncio.run(measure(url)))
    results["load_average"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts", type=lambda text: [int(x) for x in text.split(",")], default=[1000, 10_000]
    )
    parser.add_argument(
        "--postgres", help="also on PostgreSQL (an admin URL; a database is made and dropped)"
    )
    args = parser.parse_args()
    results: dict[str, object] = {"sqlite": [run(size, None) for size in args.accounts]}
    if args.postgres:
        import psycopg

        found = []
        for size in args.accounts:
            name = f"nuage_bench_{secrets.token_hex(4)}"
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            try:
                found.append(run(size, f"{args.postgres.rsplit('/', 1)[0]}/{name}"))
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        results["postgresql"] = found
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
