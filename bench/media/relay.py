"""Media relay benchmark: many 50 pps G.711 calls through the embedded engine and rtpengine, A/B/A/B.

Each call has two phones, each sending 20 ms PCMU packets (50 pps) through the engine under test,
which runs in its own process: the embedded engine as a child of this script on uvloop (``embedded``:
the packets relayed on its event loop; ``forwarder``: by its forwarder process, ``[sip.media]
forwarder_processes = 1``, as ``nuage serve`` runs it), rtpengine as a userspace daemon
(``--table=-1``). The phones' send instants are spread evenly over the 20 ms
period, as independent phones' are (``rtpload.py``). Every packet carries the instant it was sent;
the receiving socket's kernel arrival timestamp minus that is the one-way delay. A third "engine",
``direct``, has the phones send to each other without any relay: its delay is the path's own,
subtracted from the engines' to give the delay the relay added.

The relaying process's CPU (user + system, all threads, and its child processes': the forwarder
and the engine that controls it) comes from /proc/<pid>/stat over the traffic window, so the
figure is packets relayed per CPU-core-second, not per wall second. The
engines run one after the other at each load, in alternating order (A B, then B A, ...), each
freshly started, so that the machine's other load falls on both; each pair gives one ratio.

Usage (from the repository root; rtpengine-daemon installed for its half):

    .venv/bin/python bench/media/relay.py [--calls 100,200,300] [--seconds 10] [--repeats 3]

Prints one line per run and, at the end, the ratio embedded/rtpengine per load (median, min, max).
Two versions of the engine compare in the same run with ``--engines
forwarder,forwarder@../other-checkout,rtpengine`` (``@TREE``: the engine of another checkout of the
repository); every engine's ratio over each one after it in the list is printed.
This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import rtpload  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NICE = 0


def prioritise(pid: int, nice: int) -> None:
    """Give ``pid``'s scheduling group (its session, with autogroup scheduling) the niceness
    ``nice``: per-process niceness does not count between the sessions of other users' work."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (the embedded engine's forwarder processes)."""
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                found += [int(child) for child in task.read_text().split()]
    return found


def cpu_seconds(pid: int, children: bool = True) -> float:
    """utime + stime of a process, all its threads and (``children``) its child processes, in seconds."""
    total = 0
    for member in family(pid) if children else [pid]:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / HZ


def waiting_seconds(pid: int, children: bool = True) -> float:
    """Time ``pid``'s threads (and, ``children``, its children's) spent runnable but waiting for a CPU."""
    total = 0
    for member in family(pid) if children else [pid]:
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError, IndexError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / HZ


def phone_sdp(port: int) -> bytes:
    return (
        f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


def media_port(body: bytes) -> int:
    return next(int(line.split()[1]) for line in body.decode().splitlines() if line.startswith("m=audio "))


# ------------------------------------------------------------------ engines under test
async def serve_embedded(low: int, high: int, forwarders: int) -> None:
    """Child process: the embedded engine, commands as JSON lines on stdin, replies on stdout."""
    from nuage.media.engine import EmbeddedMediaEngine
    from nuage.sip import tune_gc

    engine = EmbeddedMediaEngine("127.0.0.1", low, high, timeout_s=3600, forwarder_processes=forwarders)
    await engine.start()
    tune_gc()  # as ``nuage serve`` does at start
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        method = getattr(engine, command["op"])
        body = await method(command["call_id"], command["sdp"].encode())
        sys.stdout.write(json.dumps({"sdp": body.decode()}) + "\n")
        sys.stdout.flush()


class Embedded:
    name = "embedded"
    forwarders = 0
    tree = ROOT  # the source tree whose engine runs (``forwarder@TREE``: another checkout's)

    async def start(self) -> None:
        low = 20000
        script = self.tree / "bench" / "media" / "relay.py"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, script, "--serve-embedded", str(low), str(low + 3999), str(self.forwarders),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        self.pid: int | None = self.process.pid
        prioritise(self.process.pid, NICE)

    async def command(self, op: str, call_id: str, body: bytes) -> bytes:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(
            (json.dumps({"op": op, "call_id": call_id, "sdp": body.decode()}) + "\n").encode()
        )
        reply = json.loads(await self.process.stdout.readline())
        return str(reply["sdp"]).encode()

    async def stop(self) -> None:
        self.process.terminate()
        await self.process.wait()


class Forwarder(Embedded):
    """The embedded engine with one forwarder process (the packets off its loop)."""

    name = "forwarder"
    forwarders = 1


class Rtpengine:
    name = "rtpengine"

    async def start(self) -> None:
        from nuage.adapters.rtpengine import NgClient

        self.workdir = tempfile.mkdtemp(prefix="bench-rtpe-")
        ng = free_port()
        self.process = subprocess.Popen(
            ["rtpengine", "--config-file=none", "--foreground", "--table=-1", "--interface=127.0.0.1",
             f"--listen-ng=127.0.0.1:{ng}", "--port-min=24000", "--port-max=27999", "--delete-delay=0",
             "--endpoint-learning=immediate", "--log-level=3"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.pid: int | None = self.process.pid
        prioritise(self.process.pid, NICE)
        self.client = NgClient(("127.0.0.1", ng), 2.0)
        await self.client.open()
        for _ in range(100):
            try:
                await self.client.command("ping")
                return
            except Exception:
                await asyncio.sleep(0.1)
        raise RuntimeError("rtpengine did not start")

    async def command(self, op: str, call_id: str, body: bytes) -> bytes:
        tags = {"from_tag": "caller"} if op == "offer" else {"from_tag": "caller", "to_tag": "callee"}
        reply = await self.client.command(op, call_id=call_id, sdp=body, replace=["origin"], **tags)
        return str(reply["sdp"]).encode()

    async def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Direct:
    """No relay: each phone sends straight to the other (the load generator's own delay)."""

    name = "direct"
    pid: int | None = None

    async def start(self) -> None:
        self.ports: dict[str, int] = {}

    async def command(self, op: str, call_id: str, body: bytes) -> bytes:
        # offer carries the caller's port: the callee sends there; answer the callee's
        return phone_sdp(media_port(body))

    async def stop(self) -> None:
        return None


Engine = Embedded | Forwarder | Rtpengine | Direct


# ------------------------------------------------------------------ load
@dataclass
class Result:
    engine: str
    calls: int
    sent: int
    received: int
    cpu_s: float
    waiting_s: float  # runnable, waiting for a CPU
    seconds: float
    foreign_busy_pct: float
    p50_ms: float
    p99_ms: float

    @property
    def loss_pct(self) -> float:
        return 100 * (self.sent - self.received) / self.sent if self.sent else 0.0

    @property
    def per_core_second(self) -> float:
        return self.received / self.cpu_s if self.cpu_s else float("inf")

    def line(self) -> str:
        return (
            f"engine={self.engine} calls={self.calls} streams={2 * self.calls} sent={self.sent} "
            f"loss_pct={self.loss_pct:.3f} engine_cpu_pct={100 * self.cpu_s / self.seconds:.1f} "
            f"engine_waiting_for_cpu_pct={100 * self.waiting_s / self.seconds:.1f} "
            f"packets_per_core_second={self.per_core_second:.0f} delay_p50_ms={self.p50_ms:.2f} "
            f"delay_p99_ms={self.p99_ms:.2f} foreign_busy_pct={self.foreign_busy_pct:.0f}"
        )


async def run(engine: Engine, calls: int, seconds: float) -> Result:
    await engine.start()
    try:
        return await measure(engine, calls, seconds)
    finally:
        await engine.stop()


async def measure(engine: Engine, calls: int, seconds: float) -> Result:
    phones: list[socket.socket] = []
    targets: list[tuple[str, int] | None] = []
    for n in range(calls):
        a, b = rtpload.phone(), rtpload.phone()
        port_a, port_b = a.getsockname()[1], b.getsockname()[1]
        to_b = media_port(await engine.command("offer", f"bench-{n}", phone_sdp(port_a)))
        to_a = media_port(await engine.command("answer", f"bench-{n}", phone_sdp(port_b)))
        phones += [a, b]
        targets += [("127.0.0.1", to_a), ("127.0.0.1", to_b)]  # a sends to_a (the engine's caller side)
    pid = engine.pid
    start_cpu = cpu_seconds(pid) if pid is not None else 0.0
    start_wait = waiting_seconds(pid) if pid is not None else 0.0
    own = os.getpid()
    start_busy, start_own, start = machine_busy_seconds(), cpu_seconds(own), time.monotonic()
    try:
        load = await asyncio.to_thread(rtpload.run, phones, targets, seconds)
    finally:
        for sock in phones:
            sock.close()
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(pid) - start_cpu if pid is not None else 0.0
    wait = waiting_seconds(pid) - start_wait if pid is not None else 0.0
    foreign = machine_busy_seconds() - start_busy - (cpu_seconds(own) - start_own) - cpu
    return Result(
        engine.name, calls, sum(load.sent), sum(load.received), cpu, wait, elapsed, 100 * foreign / elapsed,
        load.delay_ms(0.5), load.delay_ms(0.99),
    )  # fmt: skip


def make(name: str) -> Engine:
    """An engine by name; ``embedded@TREE`` or ``forwarder@TREE``: that one from another checkout of
    the repository (its ``src`` and this bench's ``--serve-embedded``), to compare two versions of
    the code in one run."""
    kind, _, tree = name.partition("@")
    engine = {"embedded": Embedded, "forwarder": Forwarder, "rtpengine": Rtpengine, "direct": Direct}[kind]()
    if tree and isinstance(engine, Embedded):
        engine.name, engine.tree = name, Path(tree).resolve()
    return engine


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", default="100,200,300")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--engines",
        default="forwarder,rtpengine",
        help="A,B[,C...]: run in alternating order (forwards, then backwards); each over each one after it",
    )
    parser.add_argument("--no-direct", action="store_true", help="skip the no-relay baseline run")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness for this script and the engines it starts (root: -10)"
    )
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)  # inherited by both engines' processes alike
        prioritise(os.getpid(), args.nice)
    global NICE
    NICE = args.nice
    engines = args.engines.split(",")
    results: list[Result] = []
    for repeat in range(args.repeats):
        for calls in (int(c) for c in args.calls.split(",")):
            order = engines if repeat % 2 == 0 else engines[::-1]
            if not args.no_direct and repeat == 0:
                order = ["direct", *order]
            for name in order:
                result = await run(make(name), calls, args.seconds)
                results.append(result)
                print(result.line(), flush=True)
                await asyncio.sleep(1.0)
    print()
    for calls in sorted({r.calls for r in results}):
        for a, b in itertools.combinations(engines, 2):  # every engine over each one after it
            summarise([r for r in results if r.calls == calls], a, b)


def summarise(results: list[Result], a: str, b: str) -> None:
    """The ratio of ``a``'s packets per core-second to ``b``'s, run by run (one load's results)."""
    first = [r for r in results if r.engine == a]
    second = [r for r in results if r.engine == b]
    direct = [r for r in results if r.engine == "direct"]
    ratios = [x.per_core_second / y.per_core_second for x, y in zip(first, second, strict=False)]
    if not ratios:
        return
    base = direct[0].p99_ms if direct else 0.0
    added = {e: statistics.median(r.p99_ms for r in rs) - base for e, rs in ((a, first), (b, second))}
    print(
        f"calls={results[0].calls} ratio_{a}_over_{b}: median={statistics.median(ratios):.2f} "
        f"min={min(ratios):.2f} max={max(ratios):.2f} (n={len(ratios)}); "
        f"loss_pct max {a}={max(r.loss_pct for r in first):.3f} "
        f"{b}={max(r.loss_pct for r in second):.3f}; added p99 ms (median - direct "
        f"{base:.2f}): {a}={added[a]:.2f} {b}={added[b]:.2f}"
    )


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-embedded":
        asyncio.run(serve_embedded(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    else:
        asyncio.run(main())
