"""Media relay benchmark: N concurrent G.711 calls through the embedded engine and through rtpengine.

Each call has two phones sending 20 ms PCMU packets (50 pps per direction) through the engine under
test, which runs in its own process (the embedded engine as a child of this script on uvloop,
rtpengine as a userspace daemon with ``--table=-1``); its CPU comes from /proc/<pid>/stat. Every
packet carries its send instant, so the receiving phone measures the one-way delay the relay added.

Usage (from the repository root; rtpengine-daemon installed for its half):

    .venv/bin/python bench/media/relay.py [--calls 100,250,300] [--seconds 10] [--engines embedded,rtpengine]

Prints one line per run: engine, calls, packets relayed per core-second, loss, added delay p99.
This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from nuage.media import rtp  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
STAMP = struct.Struct("!d")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def phone_sdp(port: int) -> bytes:
    return (
        f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    ).encode()


def media_port(body: bytes) -> int:
    return next(int(line.split()[1]) for line in body.decode().splitlines() if line.startswith("m=audio "))


class Phone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.delays: list[float] = []
        self.received = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received += 1
        if len(data) >= 20:
            self.delays.append(time.perf_counter() - STAMP.unpack_from(data, 12)[0])


# ------------------------------------------------------------------ engines under test
async def serve_embedded(low: int, high: int) -> None:
    """Child process: the embedded engine, commands as JSON lines on stdin, replies on stdout."""
    from nuage.media.engine import EmbeddedMediaEngine

    engine = EmbeddedMediaEngine("127.0.0.1", low, high, timeout_s=3600)
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

    async def start(self) -> None:
        low = 20000
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-embedded", str(low), str(low + 3999),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        self.pid = self.process.pid

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
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.pid = self.process.pid
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


# ------------------------------------------------------------------ load
async def run(engine: Embedded | Rtpengine, calls: int, seconds: float) -> str:
    loop = asyncio.get_running_loop()
    await engine.start()
    legs: list[tuple[Phone, int, Phone, int]] = []
    for n in range(calls):
        _, a = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
        _, b = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
        port_a = a.transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        port_b = b.transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        to_b = media_port(await engine.command("offer", f"bench-{n}", phone_sdp(port_a)))
        to_a = media_port(await engine.command("answer", f"bench-{n}", phone_sdp(port_b)))
        legs.append((a, to_a, b, to_b))
    payload = b"\xff" * 152
    start_cpu = cpu_seconds(engine.pid)
    start = loop.time()
    ticks = int(seconds * 50)
    sent = 0
    for tick in range(ticks):
        stamp = STAMP.pack(time.perf_counter())
        for index, (a, to_a, b, to_b) in enumerate(legs):
            packet_a = rtp.build(0, tick, tick * 160, 2 * index + 1, stamp + payload)
            packet_b = rtp.build(0, tick, tick * 160, 2 * index + 2, stamp + payload)
            a.transport.sendto(packet_a, ("127.0.0.1", to_a))  # type: ignore[union-attr]
            b.transport.sendto(packet_b, ("127.0.0.1", to_b))  # type: ignore[union-attr]
            sent += 2
        await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))
    await asyncio.sleep(0.5)
    cpu = cpu_seconds(engine.pid) - start_cpu
    received = sum(a.received + b.received for a, _, b, _ in legs)
    delays = sorted(d for a, _, b, _ in legs for d in (*a.delays, *b.delays))
    p99 = delays[int(len(delays) * 0.99) - 1] * 1000 if delays else float("nan")
    for a, _, b, _ in legs:
        a.transport.close()  # type: ignore[union-attr]
        b.transport.close()  # type: ignore[union-attr]
    await engine.stop()
    loss = 100 * (sent - received) / sent if sent else 0.0
    per_core_second = received / cpu if cpu else float("inf")
    return (
        f"engine={engine.name} calls={calls} seconds={seconds:g} sent={sent} loss_pct={loss:.3f} "
        f"engine_cpu_pct={100 * cpu / seconds:.1f} packets_per_core_second={per_core_second:.0f} "
        f"delay_p99_ms={p99:.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", default="100,250,300")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--engines", default="embedded,rtpengine")
    args = parser.parse_args()
    for name in args.engines.split(","):
        for calls in (int(c) for c in args.calls.split(",")):
            engine: Embedded | Rtpengine = Embedded() if name == "embedded" else Rtpengine()
            print(await run(engine, calls, args.seconds), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-embedded":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(serve_embedded(int(sys.argv[2]), int(sys.argv[3])))
    else:
        asyncio.run(main())
