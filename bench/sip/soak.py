"""Soak benchmark: ``nuage serve`` under steady calls, a REGISTER flood and idle TCP, for minutes.

Starts ``nuage serve`` on free ports with the demo data in a scratch folder (SQLite), gives the
demo's Atelier Dupont a traffic pack with enough channels for the call rate (CAP-2), then runs at
the same time, for ``--minutes``:

- legitimate calls: SIPp on 127.0.0.1 as alice (digest, ``-auth_uri``) calls Bob's extension 212
  at ``--rate`` calls/s, each held ``--hold`` seconds with an SDP offer and no media; Bob's phone is
  a SIPp UAS on 127.0.0.3 that registered as ``bob`` (digest) first;
- a REGISTER flood: SIPp on 127.0.0.11 and .12 with wrong passwords (alice's and bob's: the
  security guard bans these addresses, SIP-5) and on 127.0.0.21 and .22 with right ones (jan,
  els), each at ``--flood-rate`` REGISTERs/s, above the per-address rate limit;
- idle TCP connections from 127.0.0.31 on (``--idle-addresses``), as many per address as the
  server's per-address cap allows (``--idle-per-address``, 100 as by default; a few more are
  tried: the server must refuse them); the server is started with ``--tcp-idle-timeout`` (60 s
  rather than the default 900 s, so that a run sees them closed) and the benchmark opens them again.

The per-address rate limit (50 messages/s, burst 100) applies to the legitimate phones too: a
call costs the caller 5 messages (INVITE, ACK of the 407, INVITE, ACK, BYE), so one caller
address stays legitimate up to 8 calls/s (40 messages/s); ``--rate`` is refused above that.
The demo carrier (127.0.0.2:5090) is trusted and must never be banned either.

Every ``--interval`` seconds it samples the server process: RSS (/proc/PID/status), open file
descriptors (/proc/PID/fd), CPU, and the caller's SIPp statistics (attempted, successful,
failed). At the end it stops the server and counts the call records in the database.

Criteria (exit status 1 if one fails): 0 failed legitimate calls, every one answered and
recorded; no legitimate address banned; RSS flat after warm-up (the linear trend over the last
two thirds grows less than ``--rss-tolerance-mb``); file descriptors bounded (never more than
at start + the idle connections allowed + 64, and back within 64 of start once they closed).

Usage (from the repository root, SIPp installed):

    .venv/bin/python bench/sip/soak.py [--minutes 30] [--rate 2] [--hold 3]

A script, not a test: it prints a progress line per sample and a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from bench import cpu_seconds, free_port, open_fds, rss_mb, sipp_stats, stop

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "sip" / "scenarios"
NUAGE = Path(sys.executable).parent / "nuage"
CALLER_IP, PHONE_IP, CARRIER_IP = "127.0.0.1", "127.0.0.3", "127.0.0.2"
WRONG = (("127.0.0.11", "alice"), ("127.0.0.12", "bob"))  # wrong passwords for these users
RIGHT = (("127.0.0.21", "jan", "Jan-Demo-2026!"), ("127.0.0.22", "els", "Els-Demo-2026!"))
LEGITIMATE = (CALLER_IP, PHONE_IP, CARRIER_IP)
MAX_CALLS_PER_S = 8.0  # 5 messages per call from one address, under the 50 messages/s limit


@dataclass
class Sample:
    t: float  # seconds since the load started
    rss_mb: float
    fds: int
    cpu_pct: float  # of one core, over the interval
    attempted: int
    successful: int
    failed: int
    current: int
    idle_tcp: int


@dataclass
class Totals:
    calls_planned: int
    successful: int  # legitimate calls, from the caller's SIPp
    failed: int
    records: dict[str, int]  # call records by "direction/outcome"
    banned: list[str]  # every address banned during the run (server log and database)
    fds_start: int
    fds_after_idle_closed: int
    idle_tcp_opened: int
    idle_tcp_closed_by_server: int
    flood_registers: int
    flood_registered: int
    flood_refused: int
    server_tracebacks: int


def sip_port() -> int:
    """A free port for SIP whose next one is free too (SIP over TLS listens on PORT+1)."""
    while True:
        port = free_port()
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.bind(("127.0.0.1", port + 1))
            return port


class Lab:
    """The scratch folder, the server and the SIPp processes of one soak run."""

    def __init__(self, folder: Path, sip_port: int, tcp: dict[str, str]) -> None:
        self.folder = folder
        self.sip_port = sip_port
        self.target = f"127.0.0.1:{sip_port}"
        self.tcp = tcp  # the server's TCP limits, as NUAGE_SIP__... variables
        self.processes: list[subprocess.Popen[bytes]] = []
        self.server: subprocess.Popen[bytes] | None = None

    def prepare(self, channels: int) -> None:
        """The demo data, and a traffic pack giving Atelier Dupont ``channels`` channels (CAP-2)."""
        subprocess.run(
            [str(NUAGE), "demo", "--data-dir", str(self.folder)], check=True, stdout=subprocess.DEVNULL
        )
        from nuage.bootstrap import build_platform
        from nuage.config import Settings
        from nuage.services.context import Context
        from nuage.services.directory.media import add_traffic_pack
        from nuage.shared.clock import SystemClock

        platform = build_platform(Settings(data_dir=self.folder))
        clock = SystemClock()
        try:
            with platform.uow() as uow:
                operator = uow.parties.find_by(kind="operator")
                customer = uow.parties.find_by(kind="customer", name="Atelier Dupont")
                if operator is None or customer is None:
                    raise RuntimeError("the demo data has no operator or no Atelier Dupont")
                ctx = Context.operator(operator.id, clock)
                add_traffic_pack(uow, ctx, customer.id, "Soak channels", valid_from=date(2000, 1, 1),
                                 minutes=1_000_000, channel_limit=channels)  # fmt: skip
                uow.commit()
        finally:
            platform.close()

    def start_server(self, http_port: int) -> int:
        log = (self.folder / "server.log").open("wb")
        env = {**os.environ, "NUAGE_LOG_LEVEL": "WARNING", **self.tcp}
        command = [str(NUAGE), "serve", "--data-dir", str(self.folder), "--http", f"127.0.0.1:{http_port}"]
        self.server = subprocess.Popen([*command, "--sip", self.target], stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 90
        while b"Nuage is running" not in self.log():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "nuage serve did not start:\n" + self.log()[-2000:].decode(errors="replace")
                )
            time.sleep(0.2)
        return self.server.pid

    def log(self) -> bytes:
        return (self.folder / "server.log").read_bytes()

    def sipp(self, name: str, scenario: Path, ip: str, port: int, *args: str) -> subprocess.Popen[bytes]:
        command = ["sipp", "-sf", str(scenario), self.target, "-i", ip, "-p", str(port)]
        command += ["-cp", str(free_port()), "-mp", str(free_port()), "-nostdin", "-buff_size", str(4 << 20)]
        command += ["-trace_stat", "-stf", f"{name}.csv", "-trace_screen", "-screen_file", f"{name}.txt"]
        process = subprocess.Popen(
            [*command, *args], cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.processes.append(process)
        return process

    def scenario(self, name: str, expires: int) -> Path:
        """A copy of a test scenario registering for ``expires`` seconds (they register for 300)."""
        text = (SCENARIOS / name).read_text().replace("Expires: 300", f"Expires: {expires}")
        path = self.folder / f"soak_{name}"
        path.write_text(text)
        return path

    def stop_all(self) -> None:
        for process in self.processes:
            stop(process)  # type: ignore[arg-type]  # bench.stop is typed for text pipes


class IdleTcp:
    """Idle TCP connections to the SIP port from several loopback addresses, kept up to a target."""

    def __init__(self, port: int, addresses: list[str], per_address: int) -> None:
        self.port = port
        self.per_address = per_address
        self.open: dict[str, list[socket.socket]] = {a: [] for a in addresses}
        self.opened = 0
        self.closed_by_server = 0

    def top_up(self) -> int:
        """Open connections up to the target (the server refuses those beyond its cap); how many it holds."""
        self._prune()
        for address, conns in self.open.items():
            while len(conns) < self.per_address:
                conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                conn.bind((address, 0))
                try:
                    conn.connect(("127.0.0.1", self.port))
                except OSError:
                    conn.close()
                    break
                conn.setblocking(False)
                conns.append(conn)
                self.opened += 1
        time.sleep(0.5)  # the server closes those beyond its cap at once
        return self._prune()

    def _prune(self) -> int:
        """Forget the connections the server closed; how many are left."""
        for address, conns in self.open.items():
            alive = []
            for conn in conns:
                try:
                    if conn.recv(4096):
                        alive.append(conn)
                        continue
                except BlockingIOError:
                    alive.append(conn)
                    continue
                except OSError:
                    pass
                self.closed_by_server += 1
                conn.close()
            self.open[address] = alive
        return sum(len(c) for c in self.open.values())

    def close(self) -> None:
        for conns in self.open.values():
            for conn in conns:
                conn.close()
            conns.clear()


def banned_in_log(log: bytes) -> set[str]:
    return {m.decode() for m in re.findall(rb"banned (\S+) (?:for|until)", log)}


def count_records(folder: Path) -> dict[str, int]:
    """Call records in the database, by direction and outcome ("internal/answered": n)."""
    with contextlib.closing(sqlite3.connect(folder / "nuage.db")) as db:
        rows = db.execute(
            "SELECT direction, outcome, count(*) FROM cdrs GROUP BY direction, outcome"
        ).fetchall()
    return {f"{direction}/{outcome}": int(n) for direction, outcome, n in rows}


def stored_bans(folder: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(folder / "nuage.db")) as db:
        return {row[0] for row in db.execute("SELECT address FROM sip_bans")}


def run(options: argparse.Namespace, folder: Path) -> tuple[list[Sample], Totals]:
    """Set up, load the server for the duration while sampling it, stop; the samples and the totals."""
    seconds = options.minutes * 60
    calls = max(1, round(options.rate * seconds))
    tcp = {"NUAGE_SIP__TCP_IDLE_TIMEOUT_S": str(options.tcp_idle_timeout),
           "NUAGE_SIP__TCP_MAX_CONNECTIONS_PER_ADDRESS": str(options.idle_per_address)}  # fmt: skip
    lab = Lab(folder, sip_port(), tcp)
    lab.prepare(channels=max(20, int(options.rate * (options.hold + 5) * 3)))
    pid = lab.start_server(free_port())
    fds_start = open_fds(pid)
    phone_port = free_port()
    bob = ["-s", "bob", "-au", "bob", "-ap", "Bob-Demo-2026!", "-m", "1", "-timeout", "30s"]
    expires = min(7200, int(seconds) + 600)
    register = lab.sipp("register", lab.scenario("register.xml", expires), PHONE_IP, phone_port, *bob)
    if register.wait(40) != 0:
        raise RuntimeError("Bob's phone could not register")
    lab.sipp("phone", SCENARIOS / "uas_answer.xml", PHONE_IP, phone_port, "-fd", str(options.interval))
    time.sleep(0.5)
    started = time.monotonic()
    caller = lab.sipp(
        "caller", SCENARIOS / "uac_call.xml", CALLER_IP, free_port(),
        "-s", "212", "-au", "alice", "-ap", "Alice-Demo-2026", "-auth_uri", f"212@{lab.target}",
        "-d", str(int(options.hold * 1000)), "-r", str(options.rate), "-m", str(calls),
        "-l", str(int(options.rate * (options.hold + 10)) + 10), "-fd", str(options.interval),
        "-timeout", f"{int(seconds + options.hold + 120)}s",
    )  # fmt: skip
    flood = ["-r", str(options.flood_rate), "-l", str(int(options.flood_rate * 5)), "-recv_timeout", "4000"]
    flood += ["-fd", str(options.interval)]
    wrong, right = lab.scenario("register_refused.xml", 60), lab.scenario("register.xml", 60)
    for address, user in WRONG if options.flood_rate > 0 else ():
        lab.sipp(f"wrong-{address}", wrong, address, free_port(), "-s", user, "-au", user, "-ap", "x", *flood)
    for address, user, password in RIGHT if options.flood_rate > 0 else ():
        lab.sipp(
            f"right-{address}", right, address, free_port(), "-s", user, "-au", user, "-ap", password, *flood
        )
    idle_addresses = [f"127.0.0.{31 + i}" for i in range(options.idle_addresses)]
    idle = IdleTcp(lab.sip_port, idle_addresses, options.idle_per_address + options.idle_extra)
    samples: list[Sample] = []
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    deadline = started + seconds + options.hold + 120
    try:
        idle_open = idle.top_up()
        while True:
            time.sleep(max(0.0, started + options.interval * (len(samples) + 1) - time.monotonic()))
            if lab.server is not None and lab.server.poll() is not None:
                raise RuntimeError("the server died:\n" + lab.log()[-3000:].decode(errors="replace"))
            cpu_now, wall_now = cpu_seconds(pid), time.monotonic()
            stats = sipp_stats(folder / "caller.csv")
            sample = Sample(
                t=round(wall_now - started, 1), rss_mb=rss_mb(pid), fds=open_fds(pid),
                cpu_pct=100 * (cpu_now - cpu_before) / max(1e-6, wall_now - wall_before),
                attempted=stats.get("OutgoingCall(C)", 0), successful=stats.get("SuccessfulCall(C)", 0),
                failed=stats.get("FailedCall(C)", 0), current=stats.get("CurrentCall", 0), idle_tcp=idle_open,
            )  # fmt: skip
            samples.append(sample)
            cpu_before, wall_before = cpu_now, wall_now
            print(
                " ".join(
                    f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in asdict(sample).items()
                )
            )
            sys.stdout.flush()
            if caller.poll() is not None or time.monotonic() > deadline:
                break
            idle_open = idle.top_up() if sample.t < seconds else idle_open
        with contextlib.suppress(subprocess.TimeoutExpired):
            caller.wait(max(1.0, deadline - time.monotonic()))
        final = sipp_stats(folder / "caller.csv")
        idle.close()
        time.sleep(2)
        fds_after_idle = open_fds(pid)
    finally:
        idle.close()
        lab.stop_all()
        if lab.server is not None:
            stop(lab.server, signal.SIGTERM)  # type: ignore[arg-type]  # graceful: the CDRs are written
    wrongs = [sipp_stats(folder / f"wrong-{a}.csv") for a, _ in WRONG]
    rights = [sipp_stats(folder / f"right-{a}.csv") for a, _, _ in RIGHT]
    return samples, Totals(
        calls_planned=calls,
        successful=final.get("SuccessfulCall(C)", 0),
        failed=final.get("FailedCall(C)", 0),
        records=count_records(folder),
        banned=sorted(banned_in_log(lab.log()) | stored_bans(folder)),
        fds_start=fds_start,
        fds_after_idle_closed=fds_after_idle,
        idle_tcp_opened=idle.opened,
        idle_tcp_closed_by_server=idle.closed_by_server,
        flood_registers=sum(s.get("OutgoingCall(C)", 0) for s in wrongs + rights),
        flood_registered=sum(s.get("SuccessfulCall(C)", 0) for s in rights),
        flood_refused=sum(s.get("SuccessfulCall(C)", 0) for s in wrongs),
        server_tracebacks=lab.log().count(b"Traceback"),
    )


def verdicts(
    options: argparse.Namespace, samples: list[Sample], totals: Totals
) -> list[tuple[str, str, bool]]:
    """Each criterion: (what, measured, met)."""
    window = [s for s in samples if s.t >= options.minutes * 60 / 3] or samples[-1:]
    growth = 0.0
    if len(window) >= 3:
        slope = statistics.linear_regression([s.t for s in window], [s.rss_mb for s in window]).slope
        growth = slope * (window[-1].t - window[0].t)
    internal = sum(n for key, n in totals.records.items() if key.startswith("internal/"))
    answered = totals.records.get("internal/answered", 0)
    legit_banned = [a for a in totals.banned if a in LEGITIMATE]
    fd_bound = totals.fds_start + options.idle_addresses * options.idle_per_address + 64
    max_fds = max(s.fds for s in samples)
    rss = f"{window[0].rss_mb:.1f} → {window[-1].rss_mb:.1f} MB, trend {growth:+.1f} MB"
    fds = (
        f"{totals.fds_start} at start, max {max_fds} (bound {fd_bound}), {totals.fds_after_idle_closed} after"
    )
    return [
        ("legitimate calls", f"{totals.successful} of {totals.calls_planned} ok, {totals.failed} failed",
         totals.failed == 0 and totals.successful == totals.calls_planned),
        ("their call records", f"{internal} internal, {answered} answered", answered == totals.successful),
        ("legitimate addresses banned", ", ".join(legit_banned) or "none", not legit_banned),
        ("RSS over the last two thirds", f"{rss}; max {max(s.rss_mb for s in samples):.1f} MB",
         growth <= options.rss_tolerance_mb),
        ("open file descriptors", f"{fds} the idle connections closed",
         max_fds <= fd_bound and totals.fds_after_idle_closed <= totals.fds_start + 64),
        ("tracebacks in the server's log", str(totals.server_tracebacks), totals.server_tracebacks == 0),
    ]  # fmt: skip


def report(options: argparse.Namespace, samples: list[Sample], totals: Totals) -> bool:
    """Print the Markdown table; True when every criterion is met."""
    checks = verdicts(options, samples, totals)
    cpu = statistics.mean(s.cpu_pct for s in samples)
    floods, idle = len(WRONG) + len(RIGHT), max(s.idle_tcp for s in samples)
    print(f"\n{options.minutes:g} min: {options.rate:g} calls/s held {options.hold:g} s; REGISTER flood "
          f"{options.flood_rate:g}/s from each of {floods} addresses; {idle} idle TCP connections from "
          f"{options.idle_addresses} addresses; server CPU {cpu:.0f} % of a core\n")  # fmt: skip
    print("| criterion | measured | met? |\n|---|---|---|")
    for what, measured, met in checks:
        print(f"| {what} | {measured} | {'yes' if met else 'NO'} |")
    print(
        f"\nREGISTER flood: {totals.flood_registers} sent, {totals.flood_registered} registered (right "
        f"passwords), {totals.flood_refused} refused with 403 before the bans; banned: "
        f"{', '.join(totals.banned) or 'none'}. Idle TCP: {totals.idle_tcp_opened} opened, "
        f"{totals.idle_tcp_closed_by_server} closed by the server (idle timeout or cap)."
    )
    return all(met for _, _, met in checks)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2.0, help="legitimate calls per second")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds each call is held")
    parser.add_argument(
        "--flood-rate", type=float, default=30.0, help="REGISTERs/s from each flooding address"
    )
    parser.add_argument("--idle-addresses", type=int, default=3)
    parser.add_argument("--idle-per-address", type=int, default=100, help="the server's per-address TCP cap")
    parser.add_argument("--idle-extra", type=int, default=5, help="connections tried beyond the cap")
    parser.add_argument("--tcp-idle-timeout", type=float, default=60.0, help="the server's, in seconds")
    parser.add_argument("--interval", type=int, default=10, help="seconds between samples")
    parser.add_argument("--rss-tolerance-mb", type=float, default=8.0)
    parser.add_argument("--json", type=Path, help="write the samples and totals here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, SIPp files)")
    options = parser.parse_args()
    if not 0 < options.rate <= MAX_CALLS_PER_S:
        parser.error(
            f"--rate must be in (0, {MAX_CALLS_PER_S:g}]: one caller address stays under the rate limit"
        )
    folder = Path(tempfile.mkdtemp(prefix="nuage-soak-"))
    try:
        samples, totals = run(options, folder)
        ok = report(options, samples, totals)
        if options.json:
            data = {"samples": [asdict(s) for s in samples], "totals": asdict(totals)}
            options.json.write_text(json.dumps(data, indent=2))
    finally:
        if options.keep:
            print(f"scratch folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
