"""What the terms-based call policy costs per call: CPU of the server with and without it.

Two Nuage SIP servers run side by side on the real SQL storage (``policy_lab.py``), each on its
own copy of the same database (SQLite, or PostgreSQL with ``--database postgresql``): one as
``nuage serve`` wires it (``SipRuntime``: ``TermsCallPolicy`` with its background snapshot,
channel counter, SIP-4 auto-dialer detector, and the CDR writer that gives channels back), one
identical but for ``DialPlanPolicy``. The same SIPp call scenario (``scenarios/policy_call.xml``,
digest-authenticated phones of many accounts: half internal calls to another user of the
account, half outbound calls to the carrier gateway) is played against each in turn, A B A B
at every rate, and the CPU of the server process (utime + stime from /proc) is divided by the
calls completed. Each line also shows ``foreign``: CPU used on the box by anything but the two
servers and the two SIPp processes during the run (other work on a shared machine; re-run when
it is not about 0).

Then, in this process, the policy's own decision is timed over a snapshot of ``--decision-accounts``
accounts: every ``authorize`` is driven by hand and must finish without suspending once (so it
never waited on the database, nor on anything else).

Usage (from the repository root, SIPp installed):

    .venv/bin/python bench/sip/policy_cost.py [--database sqlite|postgresql] [--rates 100,300,600]

A script, not a test: a few minutes; prints a Markdown table and the overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import cpu_seconds, free_port, start, stop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LAB = HERE / "policy_lab.py"
SCENARIO = HERE / "scenarios" / "policy_call.xml"
ANSWER = ROOT / "tests" / "sip" / "scenarios" / "uas_answer.xml"
PYTHON = sys.executable
HZ = os.sysconf("SC_CLK_TCK")
POLICIES = ("terms", "bare")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def box_busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy (all cores, /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / HZ  # minus idle and iowait


def loop_cpu_seconds(pid: int) -> float:
    """CPU of a process's main thread (the event loop): its task whose id is the pid's."""
    text = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    policy: str
    rate: int
    attempted: int
    successful: int
    failed: int
    wall_s: float
    server_cpu_s: float
    loop_cpu_s: float  # of which the event loop's thread; the rest: worker threads (snapshots, SQL)
    foreign_cpu_s: float

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.server_cpu_s / max(1, self.successful)

    @property
    def loop_ms_per_call(self) -> float:
        return 1000 * self.loop_cpu_s / max(1, self.successful)

    @property
    def foreign_pct(self) -> float:
        return 100 * self.foreign_cpu_s / self.wall_s


# -- databases -----------------------------------------------------------------------------------


class Databases:
    """One database set up once, copied for each server (so both start from the same state)."""

    def __init__(self, kind: str, folder: Path, variants: tuple[str, ...] = POLICIES) -> None:
        self.kind = kind
        self.folder = folder
        self.variants = variants
        tag = f"nuage_policy_bench_{os.getpid()}"
        if kind == "sqlite":
            self.base = f"sqlite:///{folder / 'base.sqlite'}"
            self.urls = {p: f"sqlite:///{folder / p}.sqlite" for p in variants}
            self._names = [tag]
        else:
            self._names = [f"{tag}_{name.replace('-', '_')}" for name in ("base", *variants)]
            self.base = f"{PG_SERVER}/{self._names[0]}"
            self.urls = {p: f"{PG_SERVER}/{name}" for p, name in zip(variants, self._names[1:], strict=True)}

    def _admin(self, *statements: str) -> None:
        from sqlalchemy import text

        from nuage.storage.sql.engine import make_engine

        engine = make_engine(f"{PG_SERVER}/postgres")
        try:
            with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def setup(self, accounts: int, phone_port: int, injection: Path) -> float:
        """Fill the base database, copy it; seconds it took."""
        started = time.monotonic()
        if self.kind == "postgresql":
            self._admin(f'CREATE DATABASE "{self._names[0]}"')
        command = [PYTHON, str(LAB), "setup", "--database-url", self.base, "--accounts", str(accounts)]
        command += ["--phone-port", str(phone_port), "--injection", str(injection)]
        subprocess.run(command, check=True)
        if self.kind == "sqlite":
            for policy in self.variants:
                for suffix in ("", "-wal"):
                    source = self.folder / f"base.sqlite{suffix}"
                    if source.exists():
                        shutil.copyfile(source, self.folder / f"{policy}.sqlite{suffix}")
        else:
            self._admin(*(f'CREATE DATABASE "{n}" TEMPLATE "{self._names[0]}"' for n in self._names[1:]))
        return time.monotonic() - started

    def cdr_outcomes(self, policy: str) -> dict[str, int]:
        """CDRs of one server's database by outcome (and refusal rule)."""
        from sqlalchemy import text

        from nuage.storage.sql.engine import make_engine

        engine = make_engine(self.urls[policy])
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT outcome, refusal_rule, count(*) FROM cdrs GROUP BY outcome, refusal_rule")
                ).all()
        finally:
            engine.dispose()
        return {f"{outcome}{'/' + rule if rule else ''}": count for outcome, rule, count in rows}

    def drop(self) -> None:
        if self.kind == "postgresql":
            self._admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in self._names))


# -- SIPp ----------------------------------------------------------------------------------------

_COUNTER = ("Successful call", "Failed call")


def run_calls(
    policy: str,
    servers: dict[str, subprocess.Popen[str]],
    ports: dict[str, int],
    phone: subprocess.Popen[str],
    injection: Path,
    rate: int,
    duration: float,
    hold_ms: int,
) -> Run:
    """Play ``rate`` calls/s for ``duration`` s against one server; its CPU and the box's."""
    calls = int(rate * duration)
    with tempfile.TemporaryDirectory(prefix="nuage-bench-") as folder:
        command = ["sipp", f"127.0.0.1:{ports[policy]}", "-sf", str(SCENARIO), "-inf", str(injection)]
        command += ["-i", "127.0.0.1", "-p", str(free_port()), "-cp", str(free_port())]
        command += ["-mp", str(free_port()), "-r", str(rate), "-m", str(calls), "-l", str(rate * 5 + 100)]
        command += ["-d", str(hold_ms), "-nostdin", "-trace_screen", "-screen_file", f"{folder}/screen.txt"]
        command += ["-buff_size", str(4 << 20), "-timeout", f"{int(duration + 40)}s"]
        own = [server.pid for server in servers.values()] + [phone.pid]
        before = [cpu_seconds(pid) for pid in own]
        loop_before = loop_cpu_seconds(servers[policy].pid)
        uac_before, busy_before = children_cpu_seconds(), box_busy_seconds()
        started = time.monotonic()
        # a lost final response would leave SIPp waiting: its timeout counts such calls as failed
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                check=False, timeout=duration + 60,
            )  # fmt: skip
        wall = time.monotonic() - started
        busy = box_busy_seconds() - busy_before
        uac = children_cpu_seconds() - uac_before
        spent = [cpu_seconds(pid) - b for pid, b in zip(own, before, strict=True)]
        loop = loop_cpu_seconds(servers[policy].pid) - loop_before
        screen_file = Path(folder) / "screen.txt"
        screen = screen_file.read_text(errors="replace") if screen_file.exists() else ""
    counters = {name: 0 for name in _COUNTER}
    for line in screen.splitlines():  # the last screen printed holds the totals
        for name in _COUNTER:
            if line.strip().startswith(name):
                counters[name] = int(line.split("|")[2].strip() or 0)
    successful = counters["Successful call"]
    server_cpu = spent[list(servers).index(policy)]
    foreign = max(0.0, busy - sum(spent) - uac)
    failed = max(counters["Failed call"], calls - successful)
    return Run(policy, rate, calls, successful, failed, wall, server_cpu, loop, foreign)


# -- the policy's own decision, in process -------------------------------------------------------


def decision_latency(url: str, injection: Path, calls: int, rate: int, hold_s: float) -> dict[str, float]:
    """Time the wired policy's decision per call, over the SQL snapshot of a set-up database.

    ``SipRuntime`` is started in this process as ``nuage serve`` starts it (its SIP server on a
    port of its own, unused here). Attempts are built as the server builds them, from the
    injection file's callers and what they dial, resolved by the directory; then, on a clock
    advancing 1/``rate`` s per call (so that SIP-4 sees the real pace), each ``authorize`` is
    driven by hand: it must finish at its first step, i.e. without ever suspending (so without
    waiting on the database or anything else). Each call ends (``call_ended``, timed too)
    ``hold_s`` later. Also times one full rebuild of the policy's snapshot and of the directory's,
    and the change check that replaces it when nothing changed.
    """
    import asyncio

    from nuage.bootstrap import SipRuntime, build_platform
    from nuage.config import Settings, SipSettings
    from nuage.shared.clock import FrozenClock
    from nuage.sip.ports import CallAttempt, CallOutcome, CdrRecord, Direction, ExternalDestination, Refusal

    async def measure() -> dict[str, float]:
        clock = FrozenClock(datetime.now(UTC))
        settings = Settings(data_dir=injection.parent / "decision-platform", database_url=url,
                            sip=SipSettings(port=0))  # fmt: skip
        platform = build_platform(settings, clock=clock)
        runtime = SipRuntime(platform)
        await runtime.start()
        try:
            reloads = {}
            for name, holder in (("policy", runtime.policy_state), ("directory", runtime.directory)):
                holder._changes.forget()  # forget what was read: a full read
                cpu = time.process_time()  # nothing else runs in this process meanwhile
                await holder.reload()
                reloads[name] = 1000 * (time.process_time() - cpu)
                cpu = time.process_time()  # nothing changed since: the journal check alone
                await holder.reload()
                reloads[f"{name}_check"] = 1000 * (time.process_time() - cpu)
            lines = [line.split(";") for line in injection.read_text().splitlines()[1:]]
            attempts = []
            for k in range(calls):
                name, _, presented, dialled, _ = lines[k % len(lines)]
                caller = await runtime.directory.find_account(name)
                assert caller is not None, name
                destination = await runtime.directory.resolve(caller, dialled)
                assert destination is not None, dialled
                outbound = isinstance(destination, ExternalDestination)
                direction = Direction.OUTBOUND if outbound else Direction.INTERNAL
                attempts.append(
                    CallAttempt(
                        call_id=f"bench-{k}", direction=direction,
                        account_id=caller.account_id, device_id=caller.device_id, user_id=caller.user_id,
                        presented_caller_id=presented, source_host="127.0.0.1", source_port=5070,
                        dialled=dialled, destination=destination, emergency=False,
                        trunk_id=destination.trunk.trunk_id if outbound else None,
                    )
                )  # fmt: skip
            policy = runtime.policy
            step = timedelta(seconds=1 / rate)
            held = max(1, int(hold_s * rate))
            decide_ns: list[int] = []
            ended_ns: list[int] = []
            refused = 0
            for k, attempt in enumerate(attempts):
                clock.advance(step)
                coroutine = policy.authorize(attempt)
                t0 = time.perf_counter_ns()
                try:
                    coroutine.send(None)
                except StopIteration as done:
                    verdict = done.value
                else:  # the claim this measures
                    coroutine.close()
                    raise AssertionError("a call's decision suspended (it waited on something)")
                decide_ns.append(time.perf_counter_ns() - t0)
                refused += isinstance(verdict, Refusal)
                if k >= held:
                    old, at = attempts[k - held], clock.now()
                    began = at - timedelta(seconds=hold_s)
                    record = CdrRecord(
                        old.call_id, old.presented_caller_id, old.dialled, old.account_id, old.device_id,
                        old.trunk_id, old.direction, began, began, at, int(hold_s) + 1, CallOutcome.ANSWERED,
                        200, None, False,
                    )  # fmt: skip
                    t0 = time.perf_counter_ns()
                    policy.call_ended(record)
                    ended_ns.append(time.perf_counter_ns() - t0)
            accounts = len(runtime.policy_state.snapshot.accounts)
            blocks = len(policy.autodialer_blocks())
        finally:
            await runtime.stop(grace_s=0)
            platform.close()

        def pct(values: list[int], q: int) -> float:
            return statistics.quantiles(values, n=100)[q - 1] / 1000

        return {
            "accounts": accounts,
            "calls": calls,
            "refused": refused,
            "autodialer_blocks": blocks,
            "policy_reload_cpu_ms": reloads["policy"],
            "directory_reload_cpu_ms": reloads["directory"],
            "policy_check_cpu_ms": reloads["policy_check"],
            "directory_check_cpu_ms": reloads["directory_check"],
            "decide_mean_us": statistics.fmean(decide_ns) / 1000,
            "decide_p50_us": pct(decide_ns, 50),
            "decide_p99_us": pct(decide_ns, 99),
            "decide_max_us": max(decide_ns) / 1000,
            "ended_mean_us": statistics.fmean(ended_ns) / 1000,
            "ended_p99_us": pct(ended_ns, 99),
        }

    return asyncio.run(measure())


# -- the session ---------------------------------------------------------------------------------


def _rates(text: str) -> list[int]:
    return [int(r) for r in text.split(",") if r.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--accounts", type=int, default=2000, help="customer accounts (3 phones each)")
    parser.add_argument("--rates", default="100,300,600")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per SIPp run")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs per rate")
    parser.add_argument("--hold-ms", type=int, default=1000, help="how long each call talks")
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle CPU measured this long first")
    parser.add_argument("--decision-accounts", type=int, default=10_000)
    parser.add_argument("--decision-calls", type=int, default=200_000)
    parser.add_argument("--profile", type=Path, help="folder for cProfile stats of both servers")
    parser.add_argument(
        "--what-if-static",
        action="store_true",
        help="also run the policy with its snapshot loaded once, never refreshed (a diagnosis, not a wiring)",
    )
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("SIPp is not installed")
    rates = _rates(options.rates)
    busiest = max(rates)
    per_min = busiest * 60 / (2 * options.accounts)
    print(
        f"outbound attempts per account per minute at {busiest} calls/s: {per_min:.0f} (SIP-4 looks from 30)"
    )
    variants = POLICIES + (("terms-static",) if options.what_if_static else ())
    folder = Path(tempfile.mkdtemp(prefix="nuage-policy-bench-"))
    databases = Databases(options.database, folder, variants)
    injection = folder / "calls.csv"
    phone_port = free_port()
    phone: subprocess.Popen[str] | None = None
    servers: dict[str, subprocess.Popen[str]] = {}
    runs: list[Run] = []
    seen: dict[str, dict[str, object]] = {}
    try:
        took = databases.setup(options.accounts, phone_port, injection)
        print(f"{options.database}: {options.accounts} accounts set up in {took:.0f} s", flush=True)
        phone = start(
            ["sipp", "-sf", str(ANSWER), "-i", "127.0.0.1", "-p", str(phone_port), "-cp", str(free_port()),
             "-mp", str(free_port()), "-nostdin", "-buff_size", str(4 << 20)]
        )  # fmt: skip
        ports: dict[str, int] = {}
        for policy in variants:
            for attempt in range(3):  # a port taken meanwhile: try another one
                ports[policy] = free_port()
                command = [PYTHON, str(LAB), "serve", "--database-url", databases.urls[policy]]
                command += ["--port", str(ports[policy]), "--policy", policy]
                if options.profile:
                    options.profile.mkdir(parents=True, exist_ok=True)
                    command += ["--profile", str(options.profile / f"{policy}.prof")]
                try:
                    servers[policy] = start(command, ready="ready")
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
        time.sleep(2)
        idle_before = {p: cpu_seconds(s.pid) for p, s in servers.items()}
        time.sleep(options.idle_s)
        idle = {p: 1000 * (cpu_seconds(s.pid) - idle_before[p]) / options.idle_s for p, s in servers.items()}
        print("idle CPU ms/s (background refreshes): " + ", ".join(f"{p} {v:.1f}" for p, v in idle.items()))
        for rate in rates:
            for _ in range(options.rounds):
                for policy in variants:
                    run = run_calls(
                        policy, servers, ports, phone, injection, rate, options.duration, options.hold_ms
                    )
                    runs.append(run)
                    print(
                        f"{policy:>5} {rate:4d}/s: ok={run.successful} failed={run.failed} "
                        f"cpu={run.cpu_ms_per_call:.3f} ms/call (loop {run.loop_ms_per_call:.3f}) "
                        f"foreign={run.foreign_pct:.0f}%",
                        flush=True,
                    )
                    time.sleep(1)
        for policy, server in servers.items():
            stop(server)
            assert server.stdout is not None
            lines = [line for line in server.stdout.read().splitlines() if line.startswith("{")]
            seen[policy] = json.loads(lines[-1]) if lines else {}
            seen[policy]["cdrs"] = databases.cdr_outcomes(policy)
    finally:
        for server in servers.values():
            stop(server)
        if phone is not None:
            stop(phone)
        databases.drop()
        shutil.rmtree(folder, ignore_errors=True)
    decisions: dict[str, float] = {}
    if options.decision_accounts:
        decisions = decision_bench(options, busiest)
    report(runs, idle, seen, decisions)
    if options.json:
        rows = [vars(r) | {"cpu_ms_per_call": r.cpu_ms_per_call} for r in runs]
        options.json.write_text(
            json.dumps({"runs": rows, "idle": idle, "seen": seen, "decisions": decisions})
        )


def decision_bench(options: argparse.Namespace, rate: int) -> dict[str, float]:
    """The decision's latency over its own database of ``--decision-accounts`` accounts."""
    folder = Path(tempfile.mkdtemp(prefix="nuage-policy-bench-"))
    databases = Databases(options.database, folder)
    injection = folder / "calls.csv"
    try:
        took = databases.setup(options.decision_accounts, free_port(), injection)
        print(f"{options.database}: {options.decision_accounts} accounts set up in {took:.0f} s", flush=True)
        return decision_latency(
            databases.urls["terms"], injection, options.decision_calls, rate, options.hold_ms / 1000
        )
    finally:
        databases.drop()
        shutil.rmtree(folder, ignore_errors=True)


def report(
    runs: list[Run], idle: dict[str, float], seen: dict[str, dict[str, object]], decisions: dict[str, float]
) -> None:
    print("\n| rate/s | run | policy | ok | failed | server CPU ms/call | of which loop | foreign CPU % |")
    print("|---|---|---|---|---|---|---|---|")
    for index, r in enumerate(runs):
        print(
            f"| {r.rate} | {index + 1} | {r.policy} | {r.successful} | {r.failed} | "
            f"{r.cpu_ms_per_call:.3f} | {r.loop_ms_per_call:.3f} | {r.foreign_pct:.0f} |"
        )
    print("\n| rate/s | server | CPU ms/call (of which loop) | vs without policy | in the loop |")
    print("|---|---|---|---|---|")
    ratios = []
    for rate in sorted({r.rate for r in runs}):
        clean = [r for r in runs if r.rate == rate and not r.failed]  # a failed run's CPU is not per call

        def per_call(policy: str, attribute: str, clean: list[Run] = clean) -> float:
            mine = [r for r in clean if r.policy == policy]
            return 1000 * sum(getattr(r, attribute) for r in mine) / max(1, sum(r.successful for r in mine))

        variants = list(dict.fromkeys(r.policy for r in runs))
        total = {p: per_call(p, "server_cpu_s") for p in variants}
        loop = {p: per_call(p, "loop_cpu_s") for p in variants}
        for policy in variants:
            if not total[policy] or not total["bare"]:
                print(f"| {rate} | {policy} | no clean run | | |")
                continue
            ratio, in_loop = total[policy] / total["bare"], loop[policy] / loop["bare"]
            if policy == "terms":
                ratios.append(ratio)
            print(
                f"| {rate} | {policy} | {total[policy]:.3f} ({loop[policy]:.3f}) | "
                f"{100 * (ratio - 1):+.1f} % | {100 * (in_loop - 1):+.1f} % |"
            )
    failed = sum(r.failed for r in runs)
    worst = f"{100 * (max(ratios) - 1):+.1f} %" if ratios else "-"
    print(f"\nfailed calls: {failed}; worst overhead {worst} (target <= +20 %)")
    print("idle CPU ms/s: " + ", ".join(f"{p} {v:.1f}" for p, v in idle.items()))
    for policy, what in seen.items():
        print(f"{policy}: {json.dumps(what)}")
    d = decisions
    if not d:
        return
    print(
        f"decision over {d['accounts']:.0f} accounts, {d['calls']:.0f} calls: "
        f"authorize mean {d['decide_mean_us']:.1f} us, p50 {d['decide_p50_us']:.1f}, "
        f"p99 {d['decide_p99_us']:.1f}, max {d['decide_max_us']:.0f}; call_ended mean "
        f"{d['ended_mean_us']:.1f} us, p99 {d['ended_p99_us']:.1f}; refused {d['refused']:.0f}, "
        f"SIP-4 blocks {d['autodialer_blocks']:.0f}; every authorize finished without suspending; "
        f"one full rebuild: policy snapshot {d['policy_reload_cpu_ms']:.0f} ms CPU, "
        f"directory {d['directory_reload_cpu_ms']:.0f} ms CPU; the refresh when nothing changed: "
        f"policy {d['policy_check_cpu_ms']:.1f} ms, directory {d['directory_check_cpu_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
