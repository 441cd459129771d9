"""How the cost grows with the work (issue #22): the SIP plane's share.

    .venv/bin/python bench/growth.py snapshot --sizes 1000,10000,50000 [--rounds 2] [--keep DIR]
    .venv/bin/python bench/growth.py rebuild --sizes 10000,50000 [--compare-src OTHER/src] [--keep DIR]
    .venv/bin/python bench/growth.py registrar --sizes 10000,100000 [--rounds 2]

``snapshot``: for each number of accounts, a SQLite database is filled once: ``TEMPLATE``
accounts by ``sip/policy_lab.setup`` (three users with a number and a softphone each, through the
use cases), the others copies of their rows (``_clone``: new ids, numbers and SIP usernames), the
change journal emptied; then, round by round and size after size (interleaved), a fresh process
reads the SIP directory (``SqlSipDirectory``) and the call-policy snapshot (``SqlPolicySnapshot``)
whole, as ``nuage serve`` does at start (its collector tuning applied first), and reports the CPU
and wall time of each read and the process's resident memory before, after and at its peak.

``rebuild``: the same databases; a fresh process loads both snapshots, tunes the collector as
``nuage serve`` then does, and measures the event loop's lateness (a callback every 5 ms, and the
garbage collections meanwhile) over 3 idle seconds, then while each snapshot is read whole again
at runtime (as when more than 2,000 accounts change at once). ``--compare-src`` also runs another
tree's package each round (A B, then B A); ``--keep`` keeps the filled databases for a later run.

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

from sqlalchemy import delete, insert, select

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
    result["policy_accounts"] = len(holders["policy"].snapshot.accounts)
    engine.dispose()
    return result


class _Ticks:
    """The loop's lateness: a callback asks to run every ``tick_s``; how late each ran (ms), and the
    garbage collections meanwhile (as ``nuage.sip.loop_lag`` measures in the server)."""

    def __init__(self, tick_s: float = 0.005) -> None:
        self.tick_s = tick_s
        self.late_ms: list[float] = []
        self.gc_ms: list[float] = []
        self._gc_started = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_ms.append(1000 * (time.perf_counter() - self._gc_started))

    def _tick(self) -> None:
        self.late_ms.append(max(0.0, 1000 * (time.perf_counter() - self._due)))
        self._arm()

    def _arm(self) -> None:
        self._due = time.perf_counter() + self.tick_s
        self._handle = asyncio.get_running_loop().call_later(self.tick_s, self._tick)

    def start(self) -> None:
        self.late_ms, self.gc_ms = [], []
        gc.callbacks.append(self._on_gc)
        self._arm()

    def stop(self) -> dict[str, Any]:
        gc.callbacks.remove(self._on_gc)
        if self._handle is not None:
            self._handle.cancel()
        late = sorted(self.late_ms) or [0.0]
        return {
            "ticks": len(self.late_ms),
            "lag_p50_ms": round(late[len(late) // 2], 1),
            "lag_p99_ms": round(late[min(len(late) - 1, int(len(late) * 0.99))], 1),
            "lag_max_ms": round(late[-1], 1),
            "ticks_late_50ms": sum(1 for value in late if value >= 50),
            "gc_count": len(self.gc_ms),
            "gc_max_ms": round(max(self.gc_ms, default=0.0), 1),
        }


async def _rebuild(url: str) -> dict[str, Any]:
    """Both snapshots loaded as at start (the collector tuned after, as ``nuage serve``), then each
    read whole again at runtime (as when more than 2,000 accounts changed at once) while the loop's
    lateness is measured; an idle window first, for what the machine alone costs the loop."""
    engine = make_engine(url)
    clock = FrozenClock(datetime.now(UTC))
    holders = {
        "directory": SqlSipDirectory(engine, clock=clock),
        "policy": SqlPolicySnapshot(engine, clock=clock),
    }
    for holder in holders.values():
        await holder.reload()
    tune_gc()  # as ``nuage serve`` once the snapshots are loaded
    result: dict[str, Any] = {"rss_start_mb": _status_mb("VmRSS")}
    ticks = _Ticks()
    ticks.start()
    await asyncio.sleep(3.0)
    result["idle_3s"] = ticks.stop()
    for name, holder in holders.items():
        holder._changes.forget()  # the next read is a full one, as after a bulk change
        ticks.start()
        cpu, wall = time.process_time(), time.perf_counter()
        await holder.reload()
        measured = ticks.stop()
        measured["cpu_ms"] = round(1000 * (time.process_time() - cpu))
        measured["wall_ms"] = round(1000 * (time.perf_counter() - wall))
        assert holder.full_loads == 2, (name, holder.full_loads)
        result[f"{name}_rebuild"] = measured
    result["rss_end_mb"] = _status_mb("VmRSS")
    result["sip_accounts"] = len(holders["directory"]._view.value.accounts)
    result["policy_accounts"] = len(holders["policy"].snapshot.accounts)
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


#: accounts made through the use cases; the others are copies of them (see ``_clone``)
TEMPLATE = 250


def _fill_snapshot(folder: Path, accounts: int) -> str:
    sys.path.insert(0, str(HERE / "sip"))
    from policy_lab import setup  # the call-policy benchmark's demo-like accounts

    url = f"sqlite:///{folder / 'nuage.db'}"
    made = min(accounts, TEMPLATE)
    setup(url, made, 5999, folder / "calls.csv")
    _clone(url, made, accounts)
    return url


#: what the snapshots read of an account, in the order its rows can be written
CLONED = ("parties", "number_blocks", "users", "devices", "phone_numbers")


def _clone(url: str, made: int, accounts: int) -> None:
    """Copies of the ``made`` customers (rows of ``CLONED``) up to ``accounts``: new ids, numbers
    and SIP usernames, the rest as written by the use cases; then the change journal is emptied (a
    server's is pruned to its last rows, and the fill's would otherwise be read at the first load)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            customers = {
                row.id: row._asdict()
                for row in connection.execute(
                    select(tables.parties).where(tables.parties.c.kind == "customer")
                )
            }
            rows: dict[str, list[dict[str, Any]]] = {"parties": list(customers.values())}
            for name in CLONED[1:]:
                table = tables.metadata.tables[name]
                owned = connection.execute(select(table).where(table.c.account_id.in_(list(customers))))
                rows[name] = [row._asdict() for row in owned]
            ids = {row["id"] for found in rows.values() for row in found}
            for copy in range(1, -(-accounts // made)):
                first = copy * made
                count = min(made, accounts - first)
                keep = {f"a{i:05d}" for i in range(count)}  # the template accounts copied this time
                owners = {row["id"] for row in rows["parties"] if int(row["name"].rsplit(" ", 1)[1]) < count}
                for name in CLONED:
                    batch = []
                    for row in rows[name]:
                        owner = row["id"] if name == "parties" else row["account_id"]
                        if owner not in owners:
                            continue
                        new = {
                            key: f"{value}c{copy:04d}" if isinstance(value, str) and value in ids else value
                            for key, value in row.items()
                        }
                        for key in ("e164", "first_e164"):
                            if new.get(key):
                                new[key] = f"+{int(new[key]) + 10 * first}"
                        if new.get("sip_username") and new["sip_username"][:6] in keep:
                            index, user = new["sip_username"][1:].split("u")
                            new["sip_username"] = f"a{int(index) + first:05d}u{user}"
                        if name == "parties":
                            new["name"] = f"Bench customer {int(row['name'].rsplit(' ', 1)[1]) + first:05d}"
                            new["email"] = f"a{int(row['name'].rsplit(' ', 1)[1]) + first}@bench.example"
                        if name == "users" and new.get("email"):
                            new["email"] = f"c{copy}.{new['email']}"
                        batch.append(new)
                    if batch:
                        connection.execute(insert(tables.metadata.tables[name]), batch)
            connection.execute(delete(tables.directory_changes))
    finally:
        engine.dispose()


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


def _child(kind: str, url: str, size: int, src: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, f"_{kind}", url, str(size)]
    env = dict(os.environ)
    if src is not None:  # another tree's package first on the path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def drive(
    kind: str, sizes: list[int], rounds: int, compare: Path | None = None, keep: Path | None = None
) -> dict[str, Any]:
    fill = _fill_bindings if kind == "registrar" else _fill_snapshot
    prefix = "bindings" if kind == "registrar" else "accounts"
    folders = {size: Path(tempfile.mkdtemp(prefix="nuage-bench-")) for size in sizes} if keep is None else {}
    for size in sizes if keep is not None else ():  # kept: filled once, measured again later
        folders[size] = keep / f"{prefix}-{size}"
        folders[size].mkdir(parents=True, exist_ok=True)
    try:
        urls = {}
        for size in sizes:
            started = time.perf_counter()
            if (folders[size] / "filled").exists():
                urls[size] = f"sqlite:///{folders[size] / 'nuage.db'}"
                continue
            urls[size] = fill(folders[size], size)
            (folders[size] / "filled").touch()
            print(json.dumps({"setup": kind, "size": size, "seconds": round(time.perf_counter() - started)}),
                  file=sys.stderr, flush=True)  # fmt: skip
        found: dict[str, list[dict[str, Any]]] = {}
        trees: list[tuple[str, Path | None]] = [("this", None)] + ([("compared", compare)] if compare else [])
        for round_number in range(rounds):
            order = sizes if round_number % 2 == 0 else sizes[::-1]  # A B, then B A
            for size in order:
                for tree, src in trees if round_number % 2 == 0 else trees[::-1]:
                    load = os.getloadavg()[0]
                    result = _child(kind, urls[size], size, src)
                    result["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                    key = str(size) if compare is None else f"{size} {tree}"
                    found.setdefault(key, []).append(result)
                    print(json.dumps({"size": key, **result}), file=sys.stderr, flush=True)
        return {kind: found}
    finally:
        for folder in folders.values() if keep is None else ():
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("_snapshot", "_registrar", "_rebuild"):
        kind, url, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
        work = {"_snapshot": lambda: _snapshot(url), "_rebuild": lambda: _rebuild(url)}
        measured = asyncio.run(work.get(kind, lambda: _registrar(url, size))())
        print(json.dumps(measured))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["snapshot", "registrar", "rebuild"])
    parser.add_argument("--sizes", type=lambda text: [int(x) for x in text.split(",")])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare-src", type=Path, help="also measure another tree's src, each round")
    parser.add_argument("--keep", type=Path, help="keep the filled databases in this folder, and reuse them")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000, 100_000] if args.kind == "registrar" else [1000, 10_000])
    print(json.dumps(drive(args.kind, sizes, args.rounds, args.compare_src, args.keep), indent=2))


if __name__ == "__main__":
    main()
