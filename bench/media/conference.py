"""Conference benchmark: the cost of one 20 ms mix for a room of N participants (CFG-8).

Two measures, both in this process:

* ``mix``: what the bridge does per tick without sockets: decode N G.711 packets into the mixer's
  playout buffers, mix (each hears the others), encode N frames; CPU time per tick (process time).
* ``wired``: a real ``ConferenceBridge`` on loopback with N phones sending a tone in 20 ms PCMU
  packets; the duration of each of the bridge's ticks (mix, encode, RTP send), and the loop's CPU.
  The phones run in the same process, so the loop's CPU includes them.

Usage (from the repository root):

    .venv/bin/python bench/media/conference.py [--participants 50] [--seconds 10]

This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from nuage.media import g711, rtp  # noqa: E402
from nuage.media.conference import ConferenceBridge  # noqa: E402
from nuage.media.engine import EmbeddedMediaEngine  # noqa: E402
from nuage.media.mixer import Mixer  # noqa: E402
from nuage.media.player import FRAME, PTIME, tone  # noqa: E402
from nuage.shared.clock import FrozenClock  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_mix(participants: int, ticks: int) -> None:
    mixer = Mixer()
    keys = [f"p{i}" for i in range(participants)]
    for key in keys:
        mixer.join(key, tone_to_others=False)
    payloads = [g711.encode(0, tone(300 + 20 * i, 20, -20.0)) for i in range(participants)]
    costs: list[float] = []
    for n in range(ticks):
        started = time.process_time()
        for key, payload in zip(keys, payloads, strict=True):
            mixer.push(key, n * FRAME, g711.decode(0, payload))
        for pcm in mixer.tick().values():
            g711.encode(0, pcm)
        costs.append(time.process_time() - started)
    mean = statistics.fmean(costs) * 1000
    print(
        f"mix participants={participants} ticks={ticks} cpu_per_tick_ms mean={mean:.3f} "
        f"p99={percentile(costs, 0.99) * 1000:.3f} share_of_20ms={mean / 20:.1%}"
    )


async def bench_wired(participants: int, seconds: float) -> None:
    engine = EmbeddedMediaEngine("127.0.0.1", 40000, 44999)
    bridge = ConferenceBridge("bench", engine.bind_endpoint, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    durations: list[float] = []
    original = bridge.tick

    def timed() -> None:
        started = time.perf_counter()
        original()
        durations.append(time.perf_counter() - started)

    bridge.tick = timed  # type: ignore[method-assign]
    phones = []
    for i in range(participants):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        port = await bridge.add(f"p{i}", f"phone {i}", remote=sock.getsockname())
        phones.append((sock, port, g711.encode(0, tone(300 + 20 * i, 20, -20.0))))
    loop = asyncio.get_running_loop()
    cpu0, start = time.process_time(), loop.time()
    frames = int(seconds / PTIME)
    for n in range(frames):
        for i, (sock, port, payload) in enumerate(phones):
            sock.sendto(rtp.build(0, n, n * FRAME, 1000 + i, payload), ("127.0.0.1", port))
            try:
                while True:
                    sock.recv(2048)
            except BlockingIOError:
                pass
        await asyncio.sleep(max(0.0, start + (n + 1) * PTIME - loop.time()))
    cpu = time.process_time() - cpu0
    await bridge.close()
    await engine.close()
    for sock, _, _ in phones:
        sock.close()
    steady = durations[25:]
    print(
        f"wired participants={participants} ticks={len(durations)} "
        f"tick_ms mean={statistics.fmean(steady) * 1000:.3f} "
        f"p99={percentile(steady, 0.99) * 1000:.3f} max={max(steady) * 1000:.3f} "
        f"process_cpu_per_20ms_ms={cpu / frames * 1000:.3f} (phones included)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bench_mix(args.participants, int(args.seconds / PTIME))
    asyncio.run(bench_wired(args.participants, args.seconds))


if __name__ == "__main__":
    main()
