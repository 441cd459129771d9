"""SIP benchmark: Nuage against the Sippy B2BUA on loopback, driven by SIPp.

Measures, for the Nuage SIP server (a separate process, CPU read from /proc/<pid>/stat):
calls per second at 0 failed calls, CPU milliseconds per call, REGISTER+digest per second,
p99 INVITE→200 latency; then runs the same SIPp call scenario through Sippy's ``b2bua_simple``
so that the result is a ratio of calls per CPU-second on the same box in the same run.

Usage (from the repository root, SIPp installed, ``pip install sippy`` for the comparison):

    .venv/bin/python bench/sip/bench.py [--duration 8] [--rates 200,400,600,800]

This is a script, not a test: it takes a few minutes and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "sip" / "scenarios"
PYTHON = sys.executable
HZ = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, str(ROOT / "tests"))
# the tests' free ports: below the kernel's ephemeral range (a port drawn there can be given to an
# outgoing connection before SIPp binds it, and SIPp stops at once), never handed out twice, with
# a guard band for SIPp's media ports after ``-mp``
from netports import free_port as free_port  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid: int) -> int:
    """File descriptors a process holds open (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def sipp_stats(path: Path) -> dict[str, int]:
    """The last line of a SIPp statistics file (``-trace_stat``), cumulative counters."""
    if not path.exists():
        return {}
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    out: dict[str, int] = {}
    for name, value in zip(rows[0], rows[-1], strict=False):
        with contextlib.suppress(ValueError):
            out[name] = int(value)
    return out


@dataclass
class Run:
    """One SIPp run against one server."""

    server: str
    scenario: str
    rate: int
    attempted: int
    successful: int
    failed: int
    wall_s: float
    server_cpu_s: float
    p99_ms: float | None

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.server_cpu_s / max(1, self.successful)

    @property
    def calls_per_cpu_second(self) -> float:
        return self.successful / self.server_cpu_s if self.server_cpu_s else float("inf")


_COUNTER = re.compile(r"^\s*(Successful call|Failed call)\s*\|[^|]*\|\s*(\d+)", re.MULTILINE)


def run_sipp(
    *,
    server: str,
    server_pid: int,
    scenario: str,
    target: str,
    rate: int,
    duration: float,
    ip: str = "127.0.0.1",
    extra: list[str] | None = None,
) -> Run:
    """Drive ``target`` at ``rate`` calls/s for ``duration`` seconds; read CPU of ``server_pid``."""
    calls = int(rate * duration)
    with tempfile.TemporaryDirectory(prefix="nuage-bench-") as folder:
        command = [
            "sipp",
            "-sf",
            str(SCENARIOS / scenario),
            target,
            "-i",
            ip,
            "-p",
            str(free_port()),
            "-cp",
            str(free_port()),
            "-mp",
            str(free_port()),
            "-r",
            str(rate),
            "-m",
            str(calls),
            "-l",
            str(rate * 3 + 100),
            "-nostdin",
            "-trace_screen",
            "-screen_file",
            f"{folder}/screen.txt",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-buff_size",
            str(4 << 20),  # SIPp's 64 KB default drops bursts on a busy 2-core box
            "-timeout",
            f"{int(duration + 40)}s",
            *(extra or []),
        ]
        cpu_before = cpu_seconds(server_pid)
        started = time.monotonic()
        # SIPp waits forever for calls a saturated server lost: the timeout counts them as failed
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                command,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                timeout=duration + 60,
            )
        wall = time.monotonic() - started
        cpu = cpu_seconds(server_pid) - cpu_before
        screen = (
            Path(f"{folder}/screen.txt").read_text(errors="replace")
            if Path(f"{folder}/screen.txt").exists()
            else ""
        )
        counters: dict[str, int] = {}
        for name, value in _COUNTER.findall(screen):
            counters[name] = int(value)  # the last screen printed holds the totals
        rtts: list[float] = []
        for rtt_file in Path(folder).glob("*_rtt.csv"):
            for line in rtt_file.read_text().splitlines()[1:]:
                parts = line.split(";")
                if len(parts) >= 2:
                    with contextlib.suppress(ValueError):
                        rtts.append(float(parts[1]))
    p99 = statistics.quantiles(rtts, n=100)[98] if len(rtts) >= 100 else (max(rtts) if rtts else None)
    successful = counters.get("Successful call", 0)
    return Run(
        server,
        scenario,
        rate,
        calls,
        successful,
        max(counters.get("Failed call", 0), calls - successful),
        wall,
        cpu,
        p99,
    )


def start(
    command: list[str], *, env: dict[str, str] | None = None, ready: str | None = None
) -> subprocess.Popen[str]:
    """Start a helper process; wait for a line containing ``ready`` on its stdout when given."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if ready is not None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if ready not in line:
            process.kill()
            raise RuntimeError(f"{command[0]} did not start: {line!r}")
    return process


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Stop a helper we started, by its own pid."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ladder(
    label: str, runs: list[Run], make: Callable[[int], Run], rates: list[int], *, stop_on_failure: bool = True
) -> None:
    """Run increasing rates until one fails (or all of them)."""
    for rate in rates:
        if rate <= 0:
            continue
        run = make(rate)
        runs.append(run)
        print(
            f"{label:>14} {rate:5d}/s: ok={run.successful} failed={run.failed} "
            f"cpu={run.cpu_ms_per_call:.2f} ms/call p99={run.p99_ms} ms",
            flush=True,
        )
        time.sleep(2)
        if stop_on_failure and (run.failed or run.successful < run.attempted):
            break


def _rates(text: str) -> list[int]:
    return [int(r) for r in text.split(",") if r.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rates", default="200,400,600,800,1000")
    parser.add_argument("--auth-rates", default="200,400,600")
    parser.add_argument("--register-rates", default="500,1000,2000,3000")
    parser.add_argument("--sippy-rates", default="50,100,150")
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("SIPp is not installed")
    duration = options.duration
    bob_port = free_port()
    uas_command = ["sipp", "-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(bob_port)]
    uas = start(
        [*uas_command, "-cp", str(free_port()), "-mp", str(free_port()), "-nostdin", "-buff_size", "4194304"]
    )
    time.sleep(1)
    runs: list[Run] = []
    nuage_port = free_port()
    lab = [PYTHON, str(ROOT / "bench" / "sip" / "nuage_lab.py"), "--port", str(nuage_port)]
    lab += ["--bob-port", str(bob_port)]
    if options.no_uvloop:
        lab.append("--no-uvloop")
    nuage = start(lab, ready="ready")
    target = f"127.0.0.1:{nuage_port}"
    did = ["-s", "+3223333333"]
    as_alice = ["-au", "alice", "-ap", "alice-secret"]

    def nuage_trunk(rate: int) -> Run:
        return run_sipp(
            server="nuage",
            server_pid=nuage.pid,
            scenario="uac_trunk.xml",
            target=target,
            rate=rate,
            duration=duration,
            ip="127.0.0.2",  # the carrier gateway's address: no authentication
            extra=did,
        )

    def nuage_device(rate: int) -> Run:
        # the digest names the Request-URI it authorizes (SIPp signs sip:host:port unless told)
        extra = ["-s", "bob", *as_alice, "-d", "300", "-auth_uri", f"bob@{target}"]
        return run_sipp(
            server="nuage", server_pid=nuage.pid, scenario="uac_call.xml", target=target, rate=rate,
            duration=duration, extra=extra,
        )  # fmt: skip

    def nuage_register(rate: int) -> Run:
        extra = ["-s", "alice", *as_alice]
        return run_sipp(
            server="nuage-register", server_pid=nuage.pid, scenario="register.xml", target=target, rate=rate,
            duration=duration / 2, extra=extra,
        )  # fmt: skip

    try:
        ladder("nuage trunk", runs, nuage_trunk, _rates(options.rates))
        ladder("nuage device", runs, nuage_device, _rates(options.auth_rates))
        ladder("nuage register", runs, nuage_register, _rates(options.register_rates))
    finally:
        stop(nuage)
    sippy_bin = Path(PYTHON).parent / "b2bua_simple"
    if sippy_bin.exists():
        sippy_port = free_port()
        sippy_command = [str(sippy_bin), "-f", "-l", "127.0.0.1", "-p", str(sippy_port)]
        sippy = start(
            [*sippy_command, "-n", f"127.0.0.1:{bob_port}", "-L", "/dev/null"], env={"SIPLOG_BEND": "none"}
        )
        time.sleep(2)

        def sippy_trunk(rate: int) -> Run:
            sippy_target = f"127.0.0.1:{sippy_port}"
            return run_sipp(
                server="sippy", server_pid=sippy.pid, scenario="uac_trunk.xml", target=sippy_target,
                rate=rate, duration=duration, extra=did,
            )  # fmt: skip

        try:
            # Sippy loses a call or two at any rate: run every rate so the comparison has matching ones
            ladder("sippy", runs, sippy_trunk, _rates(options.sippy_rates), stop_on_failure=False)
        finally:
            stop(sippy, signal.SIGKILL)
    else:
        print("sippy is not installed (pip install sippy): no comparison", flush=True)
    stop(uas, signal.SIGKILL)
    report(runs)
    if options.json:
        rows = [asdict(r) | {"cpu_ms_per_call": r.cpu_ms_per_call} for r in runs]
        options.json.write_text(json.dumps(rows, indent=2))


def report(runs: list[Run]) -> None:
    """Print the Markdown table and the headline figures."""
    print("\n| server | scenario | rate/s | ok | failed | server CPU ms/op | ops per CPU-s | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        p99 = f"{r.p99_ms:.0f}" if r.p99_ms is not None else "-"
        print(
            f"| {r.server} | {r.scenario} | {r.rate} | {r.successful} | {r.failed} | "
            f"{r.cpu_ms_per_call:.2f} | {r.calls_per_cpu_second:.0f} | {p99} |"
        )

    def clean(server: str, scenario: str) -> list[Run]:
        return [
            r for r in runs if r.server == server and r.scenario == scenario and not r.failed and r.successful
        ]

    nuage_calls = clean("nuage", "uac_trunk.xml")
    # Sippy loses a few calls even at low rates (180 after 200, lost BYE answers): its efficiency
    # counts only its successful calls, from every run
    sippy_calls = [r for r in runs if r.server == "sippy" and r.successful]
    if nuage_calls:
        best = max(nuage_calls, key=lambda r: r.rate)
        print(f"\nnuage: {best.rate} calls/s with 0 failed; p99 INVITE->200 {best.p99_ms} ms")
    if nuage_calls and sippy_calls:
        nuage_eff = statistics.median(r.calls_per_cpu_second for r in nuage_calls)
        sippy_eff = statistics.median(r.calls_per_cpu_second for r in sippy_calls)
        ratio = nuage_eff / sippy_eff
        medians = f"nuage {nuage_eff:.0f}, sippy {sippy_eff:.0f}"
        print(f"calls per CPU-second (medians): {medians}, ratio {ratio:.1f}x")
        for sippy_run in sippy_calls:
            same = [r for r in nuage_calls if r.rate == sippy_run.rate]
            if same:
                at_rate = same[0].calls_per_cpu_second / sippy_run.calls_per_cpu_second
                print(f"  at {sippy_run.rate} calls/s: ratio {at_rate:.1f}x")
    registers = clean("nuage-register", "register.xml")
    if registers:
        best = max(registers, key=lambda r: r.rate)
        print(f"REGISTER+digest: {best.rate}/s with 0 failed, {best.cpu_ms_per_call * 1000:.0f} us CPU each")


if __name__ == "__main__":
    main()
