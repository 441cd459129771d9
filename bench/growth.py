"""How the cost grows with the work (issue #22): the SIP plane's share.

    .venv/bin/python bench/growth.py snapshot --sizes 1000,10000,50000 [--rounds 2]
    .venv/bin/python bench/growth.py registrar --sizes 10000,100000 [--rounds 2]

``snapshot``: for each number of accounts, a SQLite database is filled once by
``sip/policy_lab.setup`` (per account three users with a number and a softphone each, through the
use cases); then, round by round and size after size (interleaved), a fresh process reads the
SIP directory (``SqlSipDirectory``) and the call-policy snapshot (``SqlPolicySnapshot``) whole, as
``nuage serve`` does at start (its collector tuning applied first), and reports the CPU and wall
time of each read and the process's resident memory before, after and at its peak.

``registrar``: for each number of bindings, ``sip_bindings`` is filled once (realistic contact,
Call-ID and User-Agent texts, each binding its own); then, interleaved as above, a fresh process
loads them into the ``Registrar`` through ``SqlBindingStore`` (what ``nuage serve`` does at
start) and reports the Python memory the registrar holds afterwards (``tracemalloc``, the
temporary rows freed) and the resident memory it added, both per binding.

Rating, the monthly run and the API's reads and lists grow with ``billing/bench_billing.py``
(``--cdrs``, ``--accounts``) and ``api/lists.py`` (``--sizes``). CPU is each process's own
(``time.process_time``, every thread); the machine may be shared: the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from nuage.bootstrap import build_platform
from nuage.config import Settings
from nuage.shared.clock import FrozenClock, SystemClock
from nuage.sip import tune_gc
from nuage.sip.digest import DigestAuthenticator
from nuage.sip.memory import MemoryCredentialStore
from nuage.sip.registrar import Registrar
from nuage.storage.sql import tables
from nuage.storage.sql.engine import make_engine
from nuage.storage.sql.policy_adapters import SqlPolicySnapshot
from nuage.storage.sql.sip_adapters import SqlSipDirectory
from nuage.storage.sql.sip_records import SqlBindingStore

HERE = Path(__file__).resolve().parent


def _status_mb(field: str) -> float:
    """A memory figure of this process from ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# -- measured in a fresh process -------------------------------------------------------------------


async def _snapshot(url: str) -> dict[str, Any]:
    """Both snapshots read whole, as ``nuage serve`` starts; CPU and memory of this process."""
    tune_gc()  # as ``nuage serve``
    engine = make_engine(url)
    clock = FrozenClock(datetime.now(UTC))
    result: dict[str, Any] = {"rss_start_mb": _status_mb("VmRSS")}
    holders = {
        "directory": SqlSipDirectory(engine, clock=clock),
        "policy": SqlPolicySnapshot(engine, clock=clock),
    }
    for name, holder in holders.items():
        cpu, wall = time.process_time(), time.perf_counter()
        await holder.reload()
        result[f"{name}_cpu_ms"] = round(1000 * (time.process_time() - cpu))
        result[f"{name}_wall_ms"] = round(1000 * (time.perf_counter() - wall))
        assert holder.full_loads == 1, (name, holder.full_loads)
    gc.collect()
    result["rss_end_mb"] = _status_mb("VmRSS")
    result["rss_peak_mb"] = _status_mb("VmHWM")
    result["sip_accounts"] = len(holders["directory"]._view.value.accounts)
    engine.dispose()
    return result


async def _registrar(url: str, expected: int) -> dict[str, Any]:
    """The stored bindings loaded into the registrar; the memory it holds for them afterwards."""
    engine = make_engine(url)
    registrar = Registrar(
        MemoryCredentialStore(), SqlBindingStore(engine), DigestAuthenticator("bench"), SystemClock()
    )
    gc.collect()
    rss_before = _status_mb("VmRSS")
    tracemalloc.start()
    held_before = tracemalloc.get_traced_memory()[0]
    cpu, wall = time.process_time(), time.perf_counter()
    loaded = await registrar.load()
    seconds = time.perf_counter() - wall
    cpu_seconds = time.process_time() - cpu
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - held_before
    tracemalloc.stop()
    rss_added = _status_mb("VmRSS") - rss_before
    assert loaded == expected == len(registrar.registrations()), (loaded, expected)
    engine.dispose()
    return {
        "bindings": loaded,
        "load_seconds": round(seconds, 2),  # under tracemalloc: slower than without
        "load_cpu_seconds": round(cpu_seconds, 2),
        "python_bytes_per_binding": round(held / loaded),
        "rss_added_mb": round(rss_added, 1),
        "rss_bytes_per_binding": round(rss_added * 1024 * 1024 / loaded),
        "rss_peak_mb": _status_mb("VmHWM"),
    }


# -- setup (not timed) ----------------------------------------------------------------------------


def _fill_snapshot(folder: Path, accounts: int) -> str:
    sys.path.insert(0, str(HERE / "sip"))
    from policy_lab import setup  # the call-policy benchmark's demo-like accounts

    url = f"sqlite:///{folder / 'nuage.db'}"
    setup(url, accounts, 5999, folder / "calls.csv")
    return url


def _fill_bindings(folder: Path, count: int) -> str:
    """``count`` bindings as phones leave them: each its own contact, Call-ID and source."""
    url = f"sqlite:///{folder / 'nuage.db'}"
    build_platform(Settings(data_dir=folder, database_url=url), migrate=True).close()
    engine = make_engine(url)
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        host = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        port = 5060 + n % 4000
        rows.append(
            {
                "aor": f"a{n // 3:05d}u{n % 3}", "device_id": f"dev_{secrets.token_hex(8)}",
                "contact": f"sip:a{n // 3:05d}u{n % 3}@{host}:{port};rinstance={secrets.token_hex(8)}",
                "expires_at": now + timedelta(hours=1), "received": f"{host}:{port}", "transport": "UDP",
                "call_id": f"{secrets.token_hex(16)}@{host}", "cseq": 1 + n % 50,
                "user_agent": "Yealink SIP-T54W 96.86.0.70", "q": None, "instance_id": None,
                "updated_at": now,
            }
        )  # fmt: skip
    try:
        with engine.begin() as connection:
            for start in range(0, count, 10_000):
                connection.execute(insert(tables.sip_bindings), rows[start : start + 10_000])
    finally:
        engine.dispose()
    return url


# -- driver -----------------------------------------------------------------------------------------


def _child(kind: str, url: str, size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, f"_{kind}", url, str(size)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def drive(kind: str, sizes: list[int], rounds: int) -> dict[str, Any]:
    fill = _fill_snapshot if kind == "snapshot" else _fill_bindings
    folders = {size: Path(tempfile.mkdtemp(prefix="nuage-bench-")) for size in sizes}
    try:
        urls = {}
        for size in sizes:
            started = time.perf_counter()
            urls[size] = fill(folders[size], size)
            print(json.dumps({"setup": kind, "size": size, "seconds": round(time.perf_counter() - started)}),
                  file=sys.stderr, flush=True)  # fmt: skip
        found: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
        for round_number in range(rounds):
            order = sizes if round_number % 2 == 0 else sizes[::-1]  # A B, then B A
            for size in order:
                load = os.getloadavg()[0]
                result = _child(kind, urls[size], size)
                result["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                found[size].append(result)
                print(json.dumps({"size": size, **result}), file=sys.stderr, flush=True)
        return {kind: {str(size): runs for size, runs in found.items()}}
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("_snapshot", "_registrar"):
        kind, url, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
        measured = asyncio.run(_snapshot(url) if kind == "_snapshot" else _registrar(url, size))
        print(json.dumps(measured))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["snapshot", "registrar"])
    parser.add_argument("--sizes", type=lambda text: [int(x) for x in text.split(",")])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sizes = args.sizes or ([1000, 10_000] if args.kind == "snapshot" else [10_000, 100_000])
    print(json.dumps(drive(args.kind, sizes, args.rounds), indent=2))


if __name__ == "__main__":
    main()
