"""Conference benchmark (CFG-8): CPU spent mixing, per participant per second of audio, PCMU.

The figure of merit is milliseconds of process CPU time (``time.process_time``, all threads, not
wall time) per participant per second of audio, compared with the reference of the issue (about
0.09 ms per participant-second for PCMU, the figure published for PJSIP's conference bridge).
Every participant sends audio and hears everyone but themselves. Two measures:

* ``mix``: the bridge's own code without sockets: each participant's 20 ms PCMU packet is parsed
  and handed to the callback the endpoint calls (into the mixer's playout buffers), then the
  bridge's tick (mix, encode, each participant's RTP packet handed to ``RtpEndpoint.send``, whose
  socket is replaced by a list). CPU of this process over the whole run. The incoming datagrams
  are built before the clock starts (the phones' work; until December 2026 it was counted too).
  ``--talkers K``: only the first K participants send audio (the others listen).
* ``wired``: a real ``ConferenceBridge`` on the embedded engine's RTP endpoints over loopback;
  the phones run in a child process (so their CPU is not counted) and send a tone each in 20 ms
  PCMU packets. The bridge process's CPU over a steady window (after one second of warm-up) counts
  everything the server does: receiving, parsing, decoding, mixing, encoding, sending, the event
  loop. The phones check that the mix arrived (packets received, RMS of the audio heard).

Usage (from the repository root):

    .venv/bin/python bench/media/conference.py [--rooms 3,10,50] [--seconds 10] [--repeat 3]
        [--only mix|wired] [--talkers K]

This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from nuage.media import g711, rtp  # noqa: E402
from nuage.media.conference import ConferenceBridge  # noqa: E402
from nuage.media.endpoint import RtpEndpoint  # noqa: E402
from nuage.media.engine import EmbeddedMediaEngine  # noqa: E402
from nuage.media.player import FRAME, PTIME, tone  # noqa: E402
from nuage.shared.clock import FrozenClock  # noqa: E402

REFERENCE_MS = 0.09  # ms of CPU per participant-second, PCMU (the reference)


def report(kind: str, participants: int, cpu: float, audio_seconds: float, extra: str = "") -> float:
    per = cpu * 1000 / (participants * audio_seconds)
    print(
        f"{kind} participants={participants} audio_s={audio_seconds:.2f} cpu_s={cpu:.3f} "
        f"ms_per_participant_second={per:.4f} ratio_to_ref={per / REFERENCE_MS:.2f}{extra}",
        flush=True,
    )
    return per


def bench_mix(participants: int, seconds: float, talkers: int | None = None) -> float:
    bridge = ConferenceBridge("bench", _no_bind, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    sent: list[object] = []

    def sink(data: object, _address: object) -> None:  # the socket: the packet is built, not sent
        sent.append(data)

    endpoints = []
    for i in range(participants):
        endpoint = RtpEndpoint(lambda *_: None)
        endpoint.remote = ("127.0.0.1", 9)
        endpoint._sendto = sink
        bridge._enrol(f"p{i}", f"phone {i}", endpoint, g711.PCMU, False, owned=True)
        endpoints.append(endpoint)
    for member in bridge.mixer.members.values():
        member.overlay = member.overlay[:0]  # no join tones
    speaking = endpoints[: participants if talkers is None else talkers]
    payloads = [g711.encode(g711.PCMU, tone(300 + 20 * i, 20, -20.0)) for i in range(len(speaking))]
    ticks = int(seconds / PTIME)
    # what the phones send, built before the clock starts (the phones' work, not the server's)
    datagrams = [
        [rtp.build(0, n, n * FRAME, 1000 + i, payloads[i]) for i in range(len(speaking))]
        for n in range(ticks)
    ]
    parse = rtp.parse
    started = time.process_time()
    for n in range(ticks):
        for endpoint, data in zip(speaking, datagrams[n], strict=True):
            endpoint.on_rtp(endpoint, parse(data), data)  # what the endpoint does with each datagram
        bridge.tick()  # mix, encode, each participant's RTP packet handed to their endpoint
        sent.clear()
    cpu = time.process_time() - started
    extra = "" if talkers is None else f" talkers={talkers}"
    return report("mix", participants, cpu, ticks * PTIME, extra)


async def _no_bind(endpoint: object) -> None:
    return None


def phones(ports: list[int], conn: Connection, seconds: float) -> None:
    """Child process: bind the phones, learn the bridge's ports, send a tone, measure what is heard."""
    socks = []
    for _ in ports:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        socks.append(sock)
    conn.send([s.getsockname() for s in socks])
    targets: list[int] = conn.recv()
    payloads = [g711.encode(g711.PCMU, tone(300 + 20 * i, 20, -20.0)) for i in range(len(socks))]
    received = [0] * len(socks)
    energy = [0.0] * len(socks)
    start = time.monotonic()
    for n in range(int(seconds / PTIME)):
        for i, sock in enumerate(socks):
            sock.sendto(rtp.build(0, n, n * FRAME, 1000 + i, payloads[i]), ("127.0.0.1", targets[i]))
            try:
                while True:
                    data = sock.recv(2048)
                    received[i] += 1
                    pcm = g711.decode(g711.PCMU, rtp.parse(data).payload).astype(np.float64)
                    energy[i] += float(np.mean(pcm * pcm))
            except BlockingIOError:
                pass
        time.sleep(max(0.0, start + (n + 1) * PTIME - time.monotonic()))
    for sock in socks:
        sock.close()
    rms = [float(np.sqrt(e / r)) if r else 0.0 for e, r in zip(energy, received, strict=True)]
    conn.send((received, rms))


async def bench_wired(participants: int, seconds: float) -> float:
    engine = EmbeddedMediaEngine("127.0.0.1", 40000, 44999)
    bridge = ConferenceBridge("bench", engine.bind_endpoint, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=phones, args=(list(range(participants)), theirs, seconds + 2.0)
    )
    child.start()
    addresses = await asyncio.to_thread(ours.recv)
    ports = [
        await bridge.add(f"p{i}", f"phone {i}", remote=tuple(address)) for i, address in enumerate(addresses)
    ]
    for i in range(participants):
        bridge.mixer.members[f"p{i}"].overlay = bridge.mixer.members[f"p{i}"].overlay[:0]  # no join tones
    ours.send(ports)
    await asyncio.sleep(1.0)  # warm-up: playout buffers fill
    ticks0, cpu0 = bridge.ticks, time.process_time()
    await asyncio.sleep(seconds)
    cpu, ticks = time.process_time() - cpu0, bridge.ticks - ticks0
    received, rms = await asyncio.to_thread(ours.recv)
    await asyncio.to_thread(child.join)
    await bridge.close()
    await engine.close()
    return report(
        "wired",
        participants,
        cpu,
        ticks * PTIME,
        f" wall_s={seconds:.1f} ticks={ticks} heard_packets_min={min(received)} heard_rms_min={min(rms):.0f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="3,10,50", help="room sizes, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of audio per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["mix", "wired"], default=None)
    parser.add_argument("--talkers", type=int, default=None, help="mix: only this many send audio")
    args = parser.parse_args()
    rooms = [int(r) for r in args.rooms.split(",")]
    results: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeat):
        for n in rooms:
            if args.only != "wired":
                results.setdefault(("mix", n), []).append(bench_mix(n, args.seconds, args.talkers))
            if args.only != "mix":
                results.setdefault(("wired", n), []).append(asyncio.run(bench_wired(n, args.seconds)))
    for (kind, n), values in sorted(results.items()):
        print(
            f"summary {kind} participants={n} ms_per_participant_second "
            f"median={statistics.median(values):.4f} min={min(values):.4f} max={max(values):.4f} "
            f"ratio_median={statistics.median(values) / REFERENCE_MS:.2f}"
        )


if __name__ == "__main__":
    main()
