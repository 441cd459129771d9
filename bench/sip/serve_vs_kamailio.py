"""``nuage serve`` against Kamailio's stateful proxy, interleaved, on the same SIPp callee (issue #22).

Starts, in a scratch folder and on free ports:

- ``nuage serve`` on the demo data (SQLite), everything on: the call policy, CDR writing, the
  crash journal, the registrar writing bindings behind, the API; the per-address message limit
  (SIP-5) raised above the load (its check still runs; all the load comes from one address) and
  a traffic pack giving the demo account enough channels (CAP-2); ``sip.loop_lag_report_s`` set,
  so the server logs its event loop's lateness every second;
- Kamailio (Debian ``kamailio``: ``apt-get install kamailio``; not installed by the project) as a
  stateful proxy with digest authentication (qop=auth, nonce counts checked) and an in-memory
  location table, configured from ``kamailio/serve_ref.cfg``;
- one SIPp callee (Bob's phone, ``uas_answer.xml``) that registered as bob with digest to both.

Then, for each rate (``--rates``, default 100, 300, 600 calls/s) and ``--repeats`` times, A B A B:
SIPp as alice (digest) calls Bob through Nuage, then through Kamailio, for ``--duration``
seconds, each call held ``--hold`` ms. Meanwhile, against both servers, re-REGISTERs (jan,
digest, ``--reregister-rate`` per second from another address), and against Nuage alone a light
API load (``--api-rate`` requests/s, a page of users and one user in turn, with the demo's API
client). Then REGISTER with digest (``register.xml``, alice) at ``--register-rates``, A B A B.

Reported per run: calls per CPU-second of the server (all its processes and threads, from
/proc), p50/p99/max INVITE→200 (from the authenticated INVITE, SIPp's response times), failed
calls, and for Nuage the event loop's lag (p99, max: the server's own probe); CPU per REGISTER;
the load average before and after. Before each run each server's CPU is sampled for
``--baseline`` seconds with the side load on and no SIPp: its idle rate (its timers, the
re-REGISTERs, for Nuage the API). The CPU figures are given whole and net of that rate over the
run's wall time, the cost of the calls or REGISTERs alone (the API is Nuage's only). A script,
not a test: it prints Markdown tables.

    .venv/bin/python bench/sip/serve_vs_kamailio.py [--rates 100,300,600] [--repeats 2]
    .venv/bin/python bench/sip/serve_vs_kamailio.py --part register --nice -10  # REGISTER only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from bench import free_port, sipp_stats, stop
from soak import NUAGE, SCENARIOS, Lab, sip_port

HERE = Path(__file__).resolve().parent
HZ = os.sysconf("SC_CLK_TCK")
ALICE, BOB, JAN = ("alice", "Alice-Demo-2026"), ("bob", "Bob-Demo-2026!"), ("jan", "Jan-Demo-2026!")
REALM = "nuage.local"
CALLER_IP, PHONE_IP, REREGISTER_IP = "127.0.0.1", "127.0.0.3", "127.0.0.21"
API_CLIENT = ("demo-dupont", "demo-dupont-secret-2026")
KAMAILIO_MODULES = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules")
LAG = re.compile(
    rb"loop lag over .*? ticks=(\d+) .*? max_ms=([\d.]+) worst_cpu_ms=([\d.]+) gc_max_ms=([\d.]+) "
    rb"buckets ([^;\n]*)(?:; full_gcs=(\d+) tracked=(-?\d+))?(?: gcs=(\d+)/(\d+)/(\d+) gc_ms=([\d.]+))?"
)


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every process below it, threads included."""
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(entry)
        own[pid] = (int(fields[11]) + int(fields[12])) / HZ
        children.setdefault(int(fields[1]), []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += own.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def tree_waiting(root: int) -> float:
    """Seconds the threads of ``root`` and its processes spent runnable but waiting for a CPU
    (``/proc/PID/task/TID/schedstat``, its second field): on a shared machine, what latency owes
    to the others."""
    total, pids = 0.0, [root]
    while pids:
        pid = pids.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[1]) / 1e9
                with contextlib.suppress(OSError, ValueError):
                    children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    pids.extend(int(child) for child in children)
    return total


@dataclass
class Run:
    """One SIPp run against one server."""

    server: str
    kind: str  # "calls" or "register"
    rate: int
    attempted: int
    successful: int
    failed: int
    cpu_s: float
    wall_s: float
    rtt_ms: list[float] = field(default_factory=list, repr=False)
    lag: Lag | None = None
    waiting_s: float = 0.0  # runnable but waiting for a CPU, all the server's threads
    load: tuple[float, ...] = ()
    idle_cpu_per_s: float = 0.0  # the server's CPU per second just before the run, without SIPp

    @property
    def net_cpu_s(self) -> float:
        """The run's CPU less what the server spent meanwhile on everything else (its own timers
        and, for Nuage, the API and re-REGISTER side load), at the rate measured just before."""
        return max(0.0, self.cpu_s - self.idle_cpu_per_s * self.wall_s)

    def per_cpu_s(self, *, net: bool = False) -> float:
        """Successful calls per CPU-second of the server (0 when the run measured nothing)."""
        cpu = self.net_cpu_s if net else self.cpu_s
        return self.successful / cpu if cpu > 0 else 0.0

    def quantile(self, q: float) -> float | None:
        if not self.rtt_ms:
            return None
        ordered = sorted(self.rtt_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


@dataclass
class Lag:
    """The server's loop lag over a run: p99 (the upper bound of its bucket), max, the loop thread's
    CPU during the worst wait (near max: our own work; near 0: waiting for a CPU or the GIL), and
    the longest garbage collection."""

    p99_ms: float
    max_ms: float
    worst_cpu_ms: float
    gc_max_ms: float
    full_gcs: int = -1  # collections of the oldest generation (-1: the server's probe does not say)
    tracked: int = -1  # the most objects that generation held after one of them (-1: none)
    gcs: tuple[int, int, int] = (-1, -1, -1)  # collections per generation (-1: the probe does not say)
    gc_ms: float = 0.0  # the time all the collections took


def lag_of(log: bytes) -> Lag | None:
    """The loop lag lines of ``log`` added up."""
    ticks, worst, worst_cpu, gc_max, counts = 0, 0.0, 0.0, 0.0, {}
    full_gcs, tracked, gcs, gc_total = -1, -1, [-1, -1, -1], 0.0
    for n, top, cpu, gc_ms, buckets, full, census, *generations, gc_sum in LAG.findall(log):
        ticks += int(n)
        if gc_sum:
            gcs = [max(g, 0) + int(c) for g, c in zip(gcs, generations, strict=True)]
            gc_total += float(gc_sum)
        if full:
            full_gcs = max(full_gcs, 0) + int(full)
            tracked = max(tracked, int(census))
        if float(top) >= worst:
            worst, worst_cpu = float(top), float(cpu)
        gc_max = max(gc_max, float(gc_ms))
        for pair in buckets.split():
            bound, _, count = pair.decode().partition("=")
            counts[float(bound)] = counts.get(float(bound), 0) + int(count)
    if not ticks:
        return None
    seen, p99 = 0, worst
    for bound in sorted(counts):
        seen += counts[bound]
        if seen >= 0.99 * ticks:
            p99 = min(bound, worst)
            break
    return Lag(p99, worst, worst_cpu, gc_max, full_gcs, tracked, (gcs[0], gcs[1], gcs[2]), gc_total)


class Bench:
    """Both servers, the callee, the background load; ``calls`` and ``register`` run SIPp."""

    def __init__(self, folder: Path, options: argparse.Namespace) -> None:
        self.folder = folder
        self.options = options
        self.phone_port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        env = {
            "NUAGE_SIP__SECURITY__RATE_PER_S": "1000000",  # SIP-5's check runs; the load is one address
            "NUAGE_SIP__SECURITY__BURST": "1000000",
            "NUAGE_SIP__LOOP_LAG_REPORT_S": "1",
            "NUAGE_SIP__TLS__ENABLED": "false",
            "NUAGE_JANUS__EMBEDDED": "false",
        }
        self.nuage = Lab(folder / "nuage", sip_port(), env)
        self.nuage.folder.mkdir()
        self.kamailio_port = free_port()
        self.kamailio: subprocess.Popen[bytes] | None = None
        self.api_stop = threading.Event()
        self.api: dict[str, int] = {"ok": 0, "failed": 0}
        self.api_ms: list[float] = []

    # -- set-up -------------------------------------------------------------------------------
    def start(self) -> None:
        top = max(self.options.rates)
        self.nuage.prepare(channels=int(top * (self.options.hold / 1000 + 10) * 2) + 100)
        self.http_port = free_port()
        self.nuage_pid = self._start_nuage()
        self.kamailio = self._start_kamailio()
        self._start_phone()
        reregister = ["-s", JAN[0], "-au", JAN[0], "-ap", JAN[1], "-r", str(self.options.reregister_rate)]
        for name, target in (("reregister", self.nuage.target),
                             ("reregister-kamailio", f"127.0.0.1:{self.kamailio_port}")):  # fmt: skip
            self.processes.append(
                self._sipp(name, self.nuage.scenario("register.xml", 60), target, REREGISTER_IP,
                           free_port(), *reregister)
            )  # fmt: skip
        threading.Thread(target=self._api_load, daemon=True).start()
        self._settle()

    def _settle(self, idle_share: float = 0.15, limit_s: float = 120.0) -> None:
        """Wait until the server's start-up work is over (its CPU under ``idle_share`` of a core over
        a second: the prompts generated, the snapshots read), then warm both servers with a few
        calls that are not counted."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            before = tree_cpu(self.nuage_pid)
            time.sleep(1)
            if tree_cpu(self.nuage_pid) - before < idle_share:
                break
        duration, self.options.duration = self.options.duration, 3.0
        try:
            for server in ("nuage", "kamailio"):
                self.calls(server, 50, quiet=True)
        finally:
            self.options.duration = duration

    def _niced(self, command: list[str]) -> list[str]:
        """Both servers at the same priority (``--nice``): on a shared machine, fewer waits for a CPU."""
        return ["nice", "-n", str(self.options.nice), *command] if self.options.nice else command

    def _start_nuage(self) -> int:
        """``nuage serve`` as ``soak.Lab.start_server`` starts it, at ``--nice``."""
        lab = self.nuage
        log = (lab.folder / "server.log").open("wb")
        env = {**os.environ, "NUAGE_LOG_LEVEL": "WARNING", **lab.tcp}
        command = [
            str(NUAGE),
            "serve",
            "--data-dir",
            str(lab.folder),
            "--http",
            f"127.0.0.1:{self.http_port}",
        ]
        lab.server = subprocess.Popen(
            self._niced([*command, "--sip", lab.target]), stdout=log, stderr=log, env=env
        )
        deadline = time.monotonic() + 90
        while b"Nuage is running" not in lab.log():
            if lab.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "nuage serve did not start:\n" + lab.log()[-2000:].decode(errors="replace")
                )
            time.sleep(0.2)
        return lab.server.pid

    def _start_kamailio(self) -> subprocess.Popen[bytes]:
        binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
        modules = next((m for m in KAMAILIO_MODULES if Path(m).is_dir()), KAMAILIO_MODULES[0])
        users = "\n".join(f'    $sht(subscriber=>{u}) = "{p}";' for u, p in (ALICE, BOB, JAN))
        text = (HERE / "kamailio" / "serve_ref.cfg").read_text()
        for key, value in (("@PORT@", str(self.kamailio_port)), ("@MODULES@", modules),
                           ("@REALM@", REALM), ("@USERS@", users)):  # fmt: skip
            text = text.replace(key, value)
        folder = self.folder / "kamailio"
        folder.mkdir()
        (folder / "kamailio.cfg").write_text(text)
        log = (folder / "kamailio.log").open("wb")
        command = [binary, "-f", str(folder / "kamailio.cfg"), "-DD", "-E", "-m", "256", "-M", "32"]
        command += ["-Y", str(folder), "-P", str(folder / "kamailio.pid"), "-w", str(folder)]
        # its own process group: its children are stopped with it (``_stop_kamailio``)
        process = subprocess.Popen(self._niced(command), stdout=log, stderr=log, start_new_session=True)
        time.sleep(2)
        if process.poll() is not None:
            raise RuntimeError("Kamailio did not start:\n" + (folder / "kamailio.log").read_text()[-2000:])
        return process

    @staticmethod
    def _stop_kamailio(process: subprocess.Popen[bytes]) -> None:
        """Kamailio and every process it forked (a child that outlived its parent's SIGTERM was
        seen still running after a run): the group, by its id, TERM then KILL."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)  # any member left?
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def _start_phone(self, attempts: int = 3) -> None:
        """Bob's phone registered with both servers, then answering on its port. A port probed
        free can still be taken by another process before SIPp binds it: a phone that stops at
        once (SIPp exits on a port taken) is started again on a new port."""
        for _ in range(attempts):
            for target in (self.nuage.target, f"127.0.0.1:{self.kamailio_port}"):
                self._register_bob(target)
            phone = self._sipp(
                "phone", SCENARIOS / "uas_answer.xml", self.nuage.target, PHONE_IP, self.phone_port
            )
            with contextlib.suppress(subprocess.TimeoutExpired):
                phone.wait(2)
            if phone.poll() is None:
                self.processes.append(phone)
                return
            self.phone_port = free_port()
        raise RuntimeError(f"Bob's phone (SIPp) stopped at start {attempts} times")

    def _register_bob(self, target: str) -> None:
        bob = ["-s", BOB[0], "-au", BOB[0], "-ap", BOB[1], "-m", "1", "-timeout", "30s"]
        register = self._sipp("bob", self.nuage.scenario("register.xml", 7200), target, PHONE_IP,
                              self.phone_port, *bob)  # fmt: skip
        if register.wait(40) != 0:
            raise RuntimeError(f"Bob's phone could not register at {target}")

    def _sipp(
        self, name: str, scenario: Path, target: str, ip: str, port: int, *args: str
    ) -> subprocess.Popen[bytes]:
        command = ["sipp", "-sf", str(scenario), target, "-i", ip, "-p", str(port), "-cp", str(free_port())]
        command += ["-mp", str(free_port()), "-nostdin", "-buff_size", str(4 << 20)]
        command += ["-trace_screen", "-screen_file", f"{name}.txt"]
        return subprocess.Popen([*command, *args], cwd=self.folder, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip

    def _api_load(self) -> None:
        base = f"http://127.0.0.1:{self.http_port}/api/v1"
        try:
            with httpx.Client(timeout=10) as http:
                form = {"grant_type": "client_credentials", "client_id": API_CLIENT[0],
                        "client_secret": API_CLIENT[1]}  # fmt: skip
                token = http.post(f"{base}/oauth/token", data=form).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                first = http.get(f"{base}/users?limit=20").json()["items"][0]["id"]
                urls = [f"{base}/users?limit=20", f"{base}/users/{first}"]
                interval, index = 1 / self.options.api_rate, 0
                while not self.api_stop.wait(interval):
                    started = time.perf_counter()
                    try:
                        ok = http.get(urls[index % 2]).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.api_ms.append((time.perf_counter() - started) * 1000)
                    self.api["ok" if ok else "failed"] += 1
                    index += 1
        except Exception as exc:  # the table says the API load did not run
            print(f"API load stopped: {exc!r}", file=sys.stderr, flush=True)

    # -- runs ---------------------------------------------------------------------------------
    def calls(self, server: str, rate: int, *, quiet: bool = False) -> Run:
        target, service = (
            (self.nuage.target, "212") if server == "nuage" else (f"127.0.0.1:{self.kamailio_port}", BOB[0])
        )
        hold = self.options.hold
        args = ["-s", service, "-au", ALICE[0], "-ap", ALICE[1], "-auth_uri", f"{service}@{target}",
                "-d", str(hold), "-l", str(int(rate * (hold / 1000 + 10)) + 50)]  # fmt: skip
        return self._run(server, "calls", rate, target, HERE / "scenarios" / "serve_call.xml", args,
                         self.options.duration, quiet=quiet)  # fmt: skip

    def register(self, server: str, rate: int) -> Run:
        target = self.nuage.target if server == "nuage" else f"127.0.0.1:{self.kamailio_port}"
        args = ["-s", ALICE[0], "-au", ALICE[0], "-ap", ALICE[1], "-l", str(rate * 5)]
        return self._run(server, "register", rate, target, self.nuage.scenario("register.xml", 600), args,
                         self.options.register_duration)  # fmt: skip

    def _run(self, server: str, kind: str, rate: int, target: str, scenario: Path, args: list[str],
             duration: float, *, quiet: bool = False) -> Run:  # fmt: skip
        pid = self.nuage_pid if server == "nuage" else self.kamailio.pid  # type: ignore[union-attr]
        name = f"{server}-{kind}-{rate}-{time.monotonic_ns()}"
        calls = int(rate * duration)
        for stale in self.folder.glob("*_rtt.csv"):
            stale.unlink()
        idle = self._idle_rate(pid)
        log_from = len(self.nuage.log())
        load = os.getloadavg()
        cpu_before, started, waiting_before = tree_cpu(pid), time.monotonic(), tree_waiting(pid)
        sipp = self._sipp(name, scenario, target, CALLER_IP, free_port(), *args, "-r", str(rate), "-m",
                          str(calls), "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-stf", f"{name}.csv",
                          "-fd", "1", "-timeout", f"{int(duration + 40)}s")  # fmt: skip
        try:
            sipp.wait(duration + 60)
        except subprocess.TimeoutExpired:
            sipp.kill()
            sipp.wait()
        wall, cpu = time.monotonic() - started, tree_cpu(pid) - cpu_before
        waiting = tree_waiting(pid) - waiting_before
        stats = sipp_stats(self.folder / f"{name}.csv")
        rtts: list[float] = []
        for rtt_file in self.folder.glob("*_rtt.csv"):
            for line in rtt_file.read_text().splitlines()[1:]:
                parts = line.split(";")
                with contextlib.suppress(ValueError, IndexError):
                    rtts.append(float(parts[1]))
        lag = lag_of(self.nuage.log()[log_from:]) if server == "nuage" else None
        ok = stats.get("SuccessfulCall(C)", 0)
        run = Run(server, kind, rate, calls, ok, max(stats.get("FailedCall(C)", 0), calls - ok), cpu, wall,
                  rtts, lag, waiting, tuple(round(x, 2) for x in (*load, *os.getloadavg())),
                  idle)  # fmt: skip
        print(("warm-up: " if quiet else "") + line_of(run), flush=True)
        time.sleep(2)
        return run

    def _idle_rate(self, pid: int) -> float:
        """The server's CPU per second over ``--baseline`` seconds before a run: its timers and
        the side load (the same re-REGISTERs for both servers; the API for Nuage alone)."""
        seconds = self.options.baseline
        if seconds <= 0:
            return 0.0
        before, started = tree_cpu(pid), time.monotonic()
        time.sleep(seconds)
        return (tree_cpu(pid) - before) / (time.monotonic() - started)

    def stop(self) -> None:
        self.api_stop.set()
        for process in self.processes:
            stop(process, signal.SIGKILL)  # type: ignore[arg-type]  # bench.stop is typed for text pipes
        if self.kamailio is not None:
            self._stop_kamailio(self.kamailio)
        if self.nuage.server is not None:
            stop(self.nuage.server)  # type: ignore[arg-type]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def lag_text(lag: Lag | None, cpu_s: float = 0.0) -> str:
    if lag is None:
        return "-"
    census = f"; {lag.full_gcs} full" if lag.full_gcs >= 0 else ""
    census += f", {lag.tracked / 1000:.0f}k tracked" if lag.tracked >= 0 else ""
    if lag.gcs[0] >= 0 and cpu_s > 0:  # the collector's time as a share of the server's CPU
        census += f"; GC {100 * lag.gc_ms / 1000 / cpu_s:.1f} % of CPU, {'/'.join(map(str, lag.gcs))}"
    return f"{lag.p99_ms:.0f} / {lag.max_ms:.0f} ({lag.worst_cpu_ms:.0f}; {lag.gc_max_ms:.0f}{census})"


def waiting_text(run: Run) -> str:
    """The share of the run's wall time the server's threads waited for a CPU (their sum: may pass
    100 %); "-" when a thread ended during the run (its waits left the count)."""
    return f"{100 * run.waiting_s / run.wall_s:.0f} %" if run.waiting_s >= 0 and run.wall_s else "-"


def line_of(run: Run) -> str:
    if run.kind == "register":
        return (f"{run.server:>8} REGISTER {run.rate:5d}/s ok={run.successful} failed={run.failed} "
                f"cpu={1e6 * run.cpu_s / max(1, run.successful):.0f} us/REGISTER "
                f"(net {1e6 * run.net_cpu_s / max(1, run.successful):.0f}) "
                f"idle={1000 * run.idle_cpu_per_s:.1f} ms/s load={run.load}")  # fmt: skip
    return (f"{run.server:>8} calls {run.rate:4d}/s ok={run.successful} failed={run.failed} "
            f"per-cpu-s={run.per_cpu_s():.0f} (net {run.per_cpu_s(net=True):.0f}) "
            f"idle={1000 * run.idle_cpu_per_s:.1f} ms/s "
            f"p50/p99/max={fmt(run.quantile(0.5))}/{fmt(run.quantile(0.99))}/"
            f"{fmt(max(run.rtt_ms) if run.rtt_ms else None)} ms lag {lag_text(run.lag, run.cpu_s)} "
            f"waiting={waiting_text(run)} load={run.load}")  # fmt: skip


def ratios(runs: list[Run], kind: str, title: str, value: Callable[..., float]) -> None:
    """One row per rate: the medians of ``value(run, net)`` of each server's runs, and their ratio,
    whole and net of each server's idle CPU."""
    print(f"\n| {title} (median of runs) | the same, net of each server's idle CPU |\n|---|---|---|")
    for rate in sorted({r.rate for r in runs if r.kind == kind}):
        cells = []
        for net in (False, True):
            mine, ref = (
                [value(r, net=net) for r in runs
                 if r.kind == kind and r.successful and r.rate == rate and r.server == server]
                for server in ("nuage", "kamailio")
            )  # fmt: skip
            if mine and ref:
                ratio = statistics.median(mine) / statistics.median(ref)
                cells.append(f"{statistics.median(mine):.0f} / {statistics.median(ref):.0f} = {ratio:.2f}x")
        if cells:
            print(f"| {rate} | {' | '.join(cells)} |")


def report(runs: list[Run], bench: Bench) -> None:
    print(
        "\n| server | rate/s | ok | failed | calls per CPU-s (net of idle; idle ms/s) | "
        "INVITE→200 p50 / p99 / max ms | "
        "loop lag p99 / max ms (loop CPU in the worst; longest GC; full GCs, most objects they scanned; "
        "all collections' time as a share of the server's CPU, young/middle/oldest collections) | "
        "waiting for a CPU | load average |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in (r for r in runs if r.kind == "calls"):
        top = max(r.rtt_ms) if r.rtt_ms else None
        print(f"| {r.server} | {r.rate} | {r.successful} | {r.failed} | {r.per_cpu_s():.0f} "
              f"({r.per_cpu_s(net=True):.0f}; {1000 * r.idle_cpu_per_s:.1f}) | "
              f"{fmt(r.quantile(0.5))} / {fmt(r.quantile(0.99))} / {fmt(top)} | "
              f"{lag_text(r.lag, r.cpu_s)} | {waiting_text(r)} | "
              f"{r.load[0]:.2f}-{r.load[3]:.2f} |")  # fmt: skip
    ratios(runs, "calls", "rate/s | Nuage / Kamailio calls per CPU-second", Run.per_cpu_s)
    print(
        "\n| server | REGISTER/s | ok | failed | CPU µs per REGISTER (net of idle) | idle ms/s | "
        "load average |\n|---|---|---|---|---|---|---|"
    )
    for r in (r for r in runs if r.kind == "register"):
        print(f"| {r.server} | {r.rate} | {r.successful} | {r.failed} | "
              f"{1e6 * r.cpu_s / max(1, r.successful):.0f} "
              f"({1e6 * r.net_cpu_s / max(1, r.successful):.0f}) | "
              f"{1000 * r.idle_cpu_per_s:.1f} | {r.load[0]:.2f}-{r.load[3]:.2f} |")  # fmt: skip
    ratios(runs, "register", "REGISTER/s | Nuage / Kamailio CPU µs per REGISTER",
           lambda r, *, net: 1e6 * (r.net_cpu_s if net else r.cpu_s) / r.successful)  # fmt: skip
    api = sorted(bench.api_ms)
    if api:
        print(f"\nAPI meanwhile: {bench.api['ok']} ok, {bench.api['failed']} failed; p50 "
              f"{api[len(api) // 2]:.1f} ms, p99 {api[int(len(api) * 0.99)]:.1f} ms")  # fmt: skip
    jan = sipp_stats(bench.folder / "reregister.csv")
    del jan  # the re-REGISTER process writes no statistics file (screen only)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[100, 300, 600])
    parser.add_argument("--register-rates", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1000, 2000, 3000])  # fmt: skip
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of calls per run")
    parser.add_argument("--register-duration", type=float, default=5.0)
    parser.add_argument("--hold", type=int, default=500, help="ms each call is held")
    parser.add_argument("--reregister-rate", type=float, default=10.0)
    parser.add_argument("--api-rate", type=float, default=4.0)
    parser.add_argument("--only", choices=["nuage", "kamailio"], help="one server (profiling)")
    parser.add_argument("--part", choices=["all", "calls", "register"], default="all",
                        help="run only the calls or only the REGISTER part")  # fmt: skip
    parser.add_argument("--nice", type=int, default=0, help="both servers' niceness (e.g. -10)")
    parser.add_argument(
        "--baseline",
        type=float,
        default=5.0,
        help="seconds of each server's idle CPU measured before each run (0: none)",
    )
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("SIPp is not installed (Debian: sip-tester)")
    if shutil.which("kamailio") is None and not Path("/usr/sbin/kamailio").exists():
        sys.exit("Kamailio is not installed (Debian: apt-get install kamailio)")
    servers = [s for s in ("nuage", "kamailio") if options.only in (None, s)]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="nuage-serve-bench-") as scratch:
        bench = Bench(Path(scratch), options)
        try:
            bench.start()
            for rate in options.rates if options.part != "register" else ():
                for _ in range(options.repeats):
                    runs.extend(bench.calls(server, rate) for server in servers)
            for rate in options.register_rates if options.part != "calls" else ():
                for _ in range(options.repeats):
                    runs.extend(bench.register(server, rate) for server in servers)
        finally:
            bench.stop()
        tracebacks = bench.nuage.log().count(b"Traceback")
        report(runs, bench)
        print(f"\nNuage's log: {tracebacks} tracebacks")
    if options.json:
        options.json.write_text(json.dumps([asdict(r) | {"rtt_ms": None} for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
