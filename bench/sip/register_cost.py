"""CPU per challenged REGISTER pair in the SIP stack itself, in one process (issue #22).

A ``SipServer`` with in-memory ports and the default security guard (SIP-5's rate check on,
its limit raised above the load) bound on loopback UDP; its UDP transport's socket is swapped
for one that keeps what is sent, and REGISTERs are handed to ``datagram_received`` as the
loop would: a batch of first REGISTERs (answered 401), then the same phones' REGISTERs with
credentials (answered 200). Only the server's work is timed (``time.process_time``): the
client side (building requests, answering challenges) is not. No socket system calls are
counted, so this is the Python per-message path alone; ``serve_vs_kamailio.py`` measures the
whole server. ``--profile`` prints the top of a cProfile of the timed part.

``--cold MB`` hands the datagrams over one at a time, each after ``MB`` megabytes of other memory
were written (one byte per 64-byte cache line), and times each message's work alone: what the
same code costs when it starts with the caches full of something else, as in a server that
sleeps between messages on a shared machine. ``--cold 0`` is the same one-by-one delivery
without the eviction, its baseline.

    .venv/bin/python bench/sip/register_cost.py [--pairs 20000] [--rounds 5] [--profile] [--cold MB]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nuage.sip import SipServer, SipSettings, tune_gc
from nuage.sip.digest import authorization_header
from nuage.sip.memory import MemoryBindingStore, MemoryCdrSink, MemoryCredentialStore, MemoryDialPlan
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import SipAccount
from nuage.sip.security import SecuritySettings

CHALLENGE = re.compile(rb"\r\nWWW-Authenticate: ([^\r]*)\r\n", re.IGNORECASE)
SORT = "tottime"


class Capture:
    """Stands in for the asyncio datagram transport: keeps what the server sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def get_extra_info(self, name: str) -> object:
        return None


def register(n: int, port: int, server_port: int, cseq: int, auth: str | None) -> bytes:
    lines = [
        f"REGISTER sip:127.0.0.1:{server_port} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{n}-{cseq};rport",
        f"From: <sip:alice@127.0.0.1>;tag=42R{n}",
        "To: <sip:alice@127.0.0.1>",
        f"Call-ID: {n}-42@127.0.0.1",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:alice@127.0.0.1:{port};transport=UDP>",
        "Expires: 300",
    ]
    if auth is not None:
        lines.append(f"Authorization: {auth}")
    lines += ["Max-Forwards: 70", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


async def settle(capture: Capture, want: int) -> None:
    while len(capture.sent) < want:
        await asyncio.sleep(0)


class Evictor:
    """Writes one byte in each 64-byte line of ``megabytes`` of memory: the caches then hold that,
    not the server's code and objects (0: does nothing)."""

    def __init__(self, megabytes: int) -> None:
        self._buffer = bytearray(megabytes << 20)
        self._ones = b"\x01" * (len(self._buffer) // 64)

    def __call__(self) -> None:
        if self._buffer:
            self._buffer[::64] = self._ones


async def one_by_one(
    receive: Callable[[bytes, tuple[str, int]], None],
    datagrams: list[tuple[bytes, tuple[str, int]]],
    evict: Evictor,
) -> float:
    """Each datagram handed over after ``evict()``; the CPU of the server's work on it alone (the
    tasks it starts run to their end within a few turns of the loop: in-memory ports never wait)."""
    spent = 0.0
    for data, source in datagrams:
        evict()
        started = time.process_time()
        receive(data, source)
        for _ in range(4):
            await asyncio.sleep(0)
        spent += time.process_time() - started
    return spent


async def hand_over(
    receive: Callable[[bytes, tuple[str, int]], None],
    datagrams: list[tuple[bytes, tuple[str, int]]],
    evict: Evictor | None,
    profiler: cProfile.Profile | None,
    settled: Callable[[], Awaitable[None]],
) -> float:
    """Hand ``datagrams`` to the server in one go, or one by one after ``evict()`` each (``--cold``);
    the CPU of the server's work until ``settled()`` returns."""
    spent = 0.0 if evict is None else await one_by_one(receive, datagrams, evict)
    started = time.process_time()
    if profiler:
        profiler.enable()
    if evict is None:
        for data, source in datagrams:
            receive(data, source)
    await settled()
    if profiler:
        profiler.disable()
    return spent + time.process_time() - started


async def captured_server(
    accounts: list[SipAccount], bindings: MemoryBindingStore | None = None
) -> tuple[SipServer, Any, Capture]:
    """A started ``SipServer`` with in-memory ports (the dial plan's policy, SIP-5's rate check
    raised above the load) whose UDP socket is a ``Capture``; its UDP transport; the capture."""
    credentials = MemoryCredentialStore(accounts)
    settings = SipSettings(
        listen_host="127.0.0.1",
        listen_port=0,
        transports=("UDP",),
        cdr_batch_size=500,
        security=SecuritySettings(rate_per_s=1_000_000, burst=1_000_000),
    )
    server = SipServer(
        settings,
        credentials=credentials,
        dial_plan=MemoryDialPlan(credentials),
        bindings=bindings or MemoryBindingStore(),
        policy=DialPlanPolicy(),
        cdr_sink=MemoryCdrSink(),
    )
    await server.start()
    tune_gc()  # as ``nuage serve`` does
    udp = server._transports["UDP"]
    capture = Capture()
    udp._transport = capture  # type: ignore[attr-defined]
    return server, udp, capture


async def run(pairs: int, rounds: int, batch: int, profile: bool, phones: int, cold: int | None) -> None:
    alice = SipAccount("dev-alice", "acc-1", "usr-alice", "alice", "alice-secret", "Alice", "+3221111111")
    server, udp, capture = await captured_server([alice])
    server_port = udp.local.port
    profiler = cProfile.Profile() if profile else None
    evict = None if cold is None else Evictor(cold)

    async def deliver(requests: list[bytes], first_n: int) -> float:
        """Hand ``requests`` to the server as datagrams from their phones; the CPU until all are answered."""
        capture.sent.clear()
        datagrams = [(data, ("127.0.0.1", 20000 + (first_n + i) % phones)) for i, data in enumerate(requests)]
        receive = udp.datagram_received  # type: ignore[attr-defined]
        return await hand_over(receive, datagrams, evict, profiler, lambda: settle(capture, len(requests)))

    per_pair: list[float] = []
    n = 0
    for _ in range(rounds):
        spent, done = 0.0, 0
        while done < pairs:
            count = min(batch, pairs - done)
            first = [register(n + i, 20000 + (n + i) % phones, server_port, 1, None) for i in range(count)]
            spent += await deliver(first, n)
            second = []
            for i, (data, _) in enumerate(capture.sent):
                assert data.startswith(b"SIP/2.0 401"), data[:40]
                match = CHALLENGE.search(data)
                assert match is not None
                auth = authorization_header(match.group(1).decode(), username="alice",
                                            password="alice-secret", method="REGISTER",
                                            uri=f"sip:127.0.0.1:{server_port}")  # fmt: skip
                second.append(register(n + i, 20000 + (n + i) % phones, server_port, 2, auth))
            spent += await deliver(second, n)
            for data, _ in capture.sent:
                assert data.startswith(b"SIP/2.0 200"), data[:200]
            n += count
            done += count
        per_pair.append(1e6 * spent / pairs)
        print(f"round: {per_pair[-1]:.1f} us per REGISTER pair", flush=True)
    await finish(server, profiler, per_pair, "REGISTER pair", SORT)


async def finish(
    server: SipServer, profiler: cProfile.Profile | None, samples: list[float], unit: str, sort: str
) -> None:
    """Print the rounds' median and best, stop the server, print the profile's top if one ran."""
    print(f"median {statistics.median(samples):.1f} us, min {min(samples):.1f} us per {unit}")
    await server.stop(grace_s=0)
    if profiler:
        pstats.Stats(profiler).sort_stats(sort).print_stats(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--phones", type=int, default=1, help="source ports (SIPp's scenario: one)")
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--cold", type=int, metavar="MB", help="each datagram alone, after MB written")
    options = parser.parse_args()
    global SORT
    SORT = options.sort
    if not options.no_uvloop:
        from nuage.sip import install_uvloop

        install_uvloop()
    asyncio.run(
        run(options.pairs, options.rounds, options.batch, options.profile, options.phones, options.cold)
    )


if __name__ == "__main__":
    main()
