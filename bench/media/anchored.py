"""Anchored calls benchmark: N concurrent G.711 calls through the Nuage SIP server with every call's
media anchored on the embedded engine, one in ten recorded, while SIPp measures the call rate.

The engine relays the packets in ``--forwarders`` forwarder processes (1, as ``nuage serve``; 0: on
the SIP process's own loop); ``server_cpu_pct`` counts the SIP process and its forwarders,
``sip_process_cpu_pct`` the SIP process alone.

The server (``anchored_lab.py``, a separate process: its CPU comes from /proc) is called by this
script's own phones: a carrier gateway (127.0.0.2, no authentication) calls +3223333333 N times;
each call rings this script's answering phone, which answers with its own RTP port. Once all N are
up, every phone sends 20 ms PCMU packets (50 pps per direction, send instants spread over the
period) for ``--seconds`` (``rtpload.py``); each packet carries its stream's SSRC and its send
instant, so loss is counted per stream (sent by one phone, received by the other through the
engine; the count ends when every packet sent has arrived, or 3 s after the last was sent) and the
one-way delay per packet (to the kernel's arrival timestamp); what the kernel
dropped for want of room in a receive buffer is counted apart for the engine's legs and for the
phones. Meanwhile SIPp places short calls (``uac_trunk.xml``, 300 ms each) to another number at
``--sip-rate`` calls/s through the same server (anchored too, without RTP) to show what
the SIP plane still does. The recordings the server stored are counted at the end.

So that "the SIP plane still meets its call-rate figures" is a same-run comparison, the SIPp load
also runs with none of the N calls up, in turn with the media rounds (``--rounds`` times: A B A B
for 2): A is SIPp alone against the same server, B is SIPp during the N calls' media (the calls are
set up before each B and hung up after it, so each B records its own one in ten). Each phase reports
SIPp's p99 INVITE->200 and the calls per CPU-second of the SIP process alone (its forwarders not
counted); the summary gives B over A for both, from the medians of the rounds.

Every stream that received no packet at all is reported on a line of its own (``SILENT``; and each
stream that lost packets, ``LOSSY``, when no more than 20 did): its call,
direction, whether the call is recorded, the phones' ports, and the engine's session as the server
sees it then (forwarded or not, each leg's SDP and latched addresses, its counters: received,
strangers, garbage). ``--strays N`` sends the first N calls of each round, before their media, one
RTCP receiver report on their caller-side port from a socket of no call, as another relay on the
machine does when its party's RTP port is the engine's less one: those calls must lose nothing.

Usage (from the repository root, SIPp installed):

    .venv/bin/python bench/media/anchored.py [--calls 300] [--seconds 20] [--sip-rate 100] [--rounds 2]
        [--strays 0]

This is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "bench" / "sip"))

import rtpload  # noqa: E402
from bench import Run, run_sipp, start, stop  # noqa: E402
from relay import cpu_seconds, free_port, machine_busy_seconds, prioritise, waiting_seconds  # noqa: E402

from nuage.media import rtcp  # noqa: E402
from nuage.sip.message import (  # noqa: E402
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
)

SCENARIOS = ROOT / "tests" / "sip" / "scenarios"
NUMBER = "+3223333333"
LATE_S = 1.0  # after the count (every packet arrived, or 3 s), how long late ones are counted apart
LOSSY_REPORTED = 20  # streams with loss reported one by one, when no more than this lost any
ROUND = 1_000_000  # a multiple of any --record-every: call n of each round is recorded or not alike


def sdp(port: int, session: str) -> bytes:
    return (
        f"v=0\r\no=- {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    ).encode()


def media_port(body: bytes) -> int:
    return next(int(line.split()[1]) for line in body.decode().splitlines() if line.startswith("m=audio "))


class Signalling(asyncio.DatagramProtocol):
    """Raw SIP over UDP: hands each message to ``handle``."""

    def __init__(self, handle: object) -> None:
        self.handle = handle
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except Exception:
            return
        self.handle(message, addr)  # type: ignore[operator]


class Callers:
    """The carrier gateway: places the calls, ACKs their 200s, hangs them up."""

    def __init__(self, server: int, ports: list[int]) -> None:
        self.server = ("127.0.0.1", server)
        self.ports = ports
        self.answered: dict[str, asyncio.Future[SipResponse]] = {}
        self.hung_up: dict[str, asyncio.Future[None]] = {}
        self.local = 0
        self.round = 0  # each round's calls have Call-IDs of their own (n + ROUND * round)
        self.sip: asyncio.DatagramTransport | None = None

    def call_id(self, n: int) -> str:
        return f"anchored-{n + ROUND * self.round}"

    def request(self, method: str, n: int, cseq: int, body: bytes = b"", to_tag: str | None = None) -> bytes:
        tag = f";tag={to_tag}" if to_tag else ""
        lines = [
            f"{method} sip:{NUMBER}@127.0.0.1:{self.server[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.2:{self.local};branch=z9hG4bK-{n}-{cseq}-{method};rport",
            f'From: "Caller" <sip:+3249{n:06d}@127.0.0.1>;tag=gw{n}',
            f"To: <sip:{NUMBER}@127.0.0.1>{tag}",
            f"Call-ID: {self.call_id(n)}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:+3249{n:06d}@127.0.0.2:{self.local}>",
            "Max-Forwards: 70",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def handle(self, message: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
        assert self.sip is not None
        if isinstance(message, SipRequest):  # a BYE from the server (a media timeout): accept it
            self.sip.sendto(make_response(message, 200).to_bytes(), addr)
            return
        if os.environ.get("BENCH_DEBUG"):
            print(message.status, message.cseq.method, message.call_id, flush=True)
        n = int(message.call_id.rpartition("-")[2]) % ROUND
        if message.cseq.method == "INVITE" and message.status >= 200:
            tag = message.to_addr.tag
            self.sip.sendto(self.request("ACK", n, 1, to_tag=tag), addr)
            future = self.answered.get(message.call_id)
            if future is not None and not future.done():
                future.set_result(message)
        elif message.cseq.method == "BYE" and message.status >= 200:
            done = self.hung_up.get(message.call_id)
            if done is not None and not done.done():
                done.set_result(None)

    async def call(self, n: int) -> SipResponse:
        assert self.sip is not None
        future = self.answered[self.call_id(n)] = asyncio.get_running_loop().create_future()
        invite = self.request("INVITE", n, 1, sdp(self.ports[2 * n], str(n)))
        async with asyncio.timeout(20):
            while True:  # RFC 3261 timer A, simplified: again every 0.5 s until answered
                self.sip.sendto(invite, self.server)
                done, _ = await asyncio.wait({future}, timeout=0.5)
                if done:
                    return future.result()

    async def hang_up(self, n: int, tag: str | None) -> None:
        assert self.sip is not None
        future = self.hung_up[self.call_id(n)] = asyncio.get_running_loop().create_future()
        bye = self.request("BYE", n, 2, to_tag=tag)
        async with asyncio.timeout(20):
            while True:
                self.sip.sendto(bye, self.server)
                done, _ = await asyncio.wait({future}, timeout=0.5)
                if done:
                    return


class Answerers:
    """bob's phones: answer each new call with the next free RTP socket."""

    def __init__(self, ports: list[int], targets: list[tuple[str, int] | None]) -> None:
        self.ports = ports
        self.targets = targets
        self.calls: dict[str, tuple[int, str]] = {}
        self.sip: asyncio.DatagramTransport | None = None
        self.port = 0

    def handle(self, message: SipRequest | SipResponse, addr: tuple[str, int]) -> None:
        assert self.sip is not None
        if not isinstance(message, SipRequest):
            return
        if message.method == "INVITE":
            known = self.calls.get(message.call_id)
            if known is None:
                n = int((message.headers.get("from") or "").split("+3249", 1)[1][:6])
                self.targets[2 * n + 1] = ("127.0.0.1", media_port(message.body))
                known = self.calls[message.call_id] = (self.ports[2 * n + 1], f"bob{n}")
            port, tag = known
            response = make_response(message, 200, to_tag=tag, body=sdp(port, tag))
            response.headers.add("contact", f"<sip:bob@127.0.0.1:{self.port}>")
            response.headers.add("content-type", "application/sdp")
            self.sip.sendto(response.to_bytes(), addr)
        elif message.method in ("BYE", "CANCEL", "OPTIONS"):
            self.sip.sendto(make_response(message, 200).to_bytes(), addr)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--setup-rate", type=float, default=50.0, help="new bench calls per second")
    parser.add_argument("--sip-rate", type=int, default=100, help="SIPp calls/s during the media (0: none)")
    parser.add_argument("--record-every", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=2, help="A B rounds: SIPp alone, then with the calls' media"
    )
    parser.add_argument(
        "--forwarders", type=int, default=1, help="media forwarder processes (0: in the SIP loop)"
    )
    parser.add_argument(
        "--strays",
        type=int,
        default=0,
        help="calls sent a stray RTCP report on their caller-side port before their media, each round",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness for this script and SIPp; the server gets a scheduling group of its own at it",
    )
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
        prioritise(os.getpid(), args.nice)
    loop = asyncio.get_running_loop()
    phones = [rtpload.phone() for _ in range(2 * args.calls)]  # 2n: the caller's, 2n+1: the callee's
    ports = [phone.getsockname()[1] for phone in phones]
    targets: list[tuple[str, int] | None] = [None] * len(phones)
    callers, answerers = Callers(0, ports), Answerers(ports, targets)
    bob_port, carol_port, port = free_port(), free_port(), free_port()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Signalling(answerers.handle), local_addr=("127.0.0.1", bob_port)
    )
    answerers.sip, answerers.port = transport, bob_port  # type: ignore[assignment]
    carol = start(
        ["sipp", "-sf", str(SCENARIOS / "uas_answer.xml"), "-i", "127.0.0.1", "-p", str(carol_port),
         "-cp", str(free_port()), "-mp", str(free_port()), "-nostdin", "-buff_size", "4194304"]
    )  # fmt: skip
    recordings = tempfile.mkdtemp(prefix="nuage-anchored-")
    server = start(
        [sys.executable, str(HERE / "anchored_lab.py"), "--port", str(port), "--bob-port", str(bob_port),
         "--carol-port", str(carol_port), "--recordings", recordings,
         "--record-every", str(args.record_every), "--forwarders", str(args.forwarders),
         "--nice", str(args.nice), "--dump", str(Path(recordings) / "sessions.json")],
        ready="ready",
    )  # fmt: skip
    callers.server = ("127.0.0.1", port)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Signalling(callers.handle), local_addr=("127.0.0.2", 0)
    )
    callers.sip, callers.local = transport, transport.get_extra_info("sockname")[1]  # type: ignore[assignment]
    phases: dict[str, list[Phase]] = {"A": [], "B": []}
    rounds = max(1, args.rounds) if args.sip_rate else 1
    try:
        for round_ in range(rounds):
            callers.round = round_
            if args.sip_rate:
                phases["A"].append(await sip_phase(args, server.pid, port))
                print(phases["A"][-1].line(f"A{round_ + 1} SIP plane alone:"), flush=True)
            phase = await media_round(args, loop, callers, phones, targets, server.pid, port, recordings)
            phases["B"].append(phase)
            if phase.sip is not None:
                print(phase.line(f"B{round_ + 1} SIP plane with {args.calls} anchored calls:"), flush=True)
    finally:
        for phone in phones:
            phone.close()
        server.terminate()
        out, _ = server.communicate(timeout=60)
        stop(carol)
    stored = json.loads(out.strip().splitlines()[-1])["recordings"] if out.strip() else []
    for phase in phases["B"]:
        print(phase.media)
    expected = rounds * len(range(0, args.calls, args.record_every))
    seconds = [r["seconds"] for r in stored]
    print(
        f"recordings stored={len(stored)} expected={expected} "
        f"median_seconds={statistics.median(seconds) if seconds else 0:.1f} "
        f"bytes={sum(r['bytes'] for r in stored)}"
    )
    if phases["A"] and all(p.sip is not None for p in phases["B"]):
        summary(phases["A"], phases["B"])


class Phase:
    """One phase's SIPp run and the SIP process's CPU during it; a media round's figures."""

    def __init__(self, sip: Run | None, sip_cpu_s: float, sip_wait_s: float = 0.0, media: str = "") -> None:
        self.sip = sip
        self.sip_cpu_s = sip_cpu_s
        self.sip_wait_s = sip_wait_s  # the SIP process runnable but waiting for a CPU meanwhile
        self.media = media

    @property
    def p99_ms(self) -> float:
        return float("nan") if self.sip is None or self.sip.p99_ms is None else self.sip.p99_ms

    @property
    def calls_per_cpu_s(self) -> float:
        return self.sip.successful / self.sip_cpu_s if self.sip is not None and self.sip_cpu_s else 0.0

    def line(self, title: str) -> str:
        assert self.sip is not None
        run = self.sip
        return (
            f"{title} sipp rate={run.rate}/s attempted={run.attempted} ok={run.successful} "
            f"failed={run.failed} p99_invite_200_ms={self.p99_ms:.1f} "
            f"sip_process_cpu_s={self.sip_cpu_s:.2f} calls_per_sip_cpu_s={self.calls_per_cpu_s:.0f} "
            f"sip_process_waiting_for_cpu_pct={100 * self.sip_wait_s / run.wall_s:.1f} "
            f"server_cpu_s={run.server_cpu_s:.2f}"
        )


def summary(alone: list[Phase], loaded: list[Phase]) -> None:
    """B over A: the SIP plane's figures with the anchored calls against without, same run."""
    p99_a = statistics.median(p.p99_ms for p in alone)
    p99_b = statistics.median(p.p99_ms for p in loaded)
    rate_a = statistics.median(p.calls_per_cpu_s for p in alone)
    rate_b = statistics.median(p.calls_per_cpu_s for p in loaded)
    failed = sum(p.sip.failed for p in (*alone, *loaded) if p.sip is not None)
    print(
        f"SIP plane, median of {len(alone)} rounds: p99_invite_200_ms alone={p99_a:.1f} "
        f"with_calls={p99_b:.1f} ratio={p99_b / p99_a:.2f}; calls_per_sip_cpu_s alone={rate_a:.0f} "
        f"with_calls={rate_b:.0f} ratio={rate_b / rate_a:.2f}; sipp failed calls={failed}"
    )


async def sip_phase(args: argparse.Namespace, server_pid: int, port: int) -> Phase:
    """SIPp's short calls at ``--sip-rate`` for the SIP phase's length; the SIP process's CPU."""
    sip0, wait0 = cpu_seconds(server_pid, children=False), waiting_seconds(server_pid, children=False)
    run = await asyncio.to_thread(
        run_sipp, server="nuage+media", server_pid=server_pid, scenario="uac_trunk.xml",
        target=f"127.0.0.1:{port}", rate=args.sip_rate, duration=max(5.0, args.seconds - 6),
        ip="127.0.0.2", extra=["-s", "+3224444444"],
    )  # fmt: skip
    sip_cpu = cpu_seconds(server_pid, children=False) - sip0
    return Phase(run, sip_cpu, waiting_seconds(server_pid, children=False) - wait0)


async def media_round(
    args: argparse.Namespace,
    loop: asyncio.AbstractEventLoop,
    callers: Callers,
    phones: list[socket.socket],
    targets: list[tuple[str, int] | None],
    server_pid: int,
    port: int,
    recordings: str,
) -> Phase:
    """Set the N calls up, run their media (with SIPp beside it), hang them up."""
    setup_started = loop.time()
    tasks = []
    for n in range(args.calls):
        tasks.append(loop.create_task(callers.call(n)))
        await asyncio.sleep(max(0.0, setup_started + (n + 1) / args.setup_rate - loop.time()))
    answers = await asyncio.gather(*tasks)
    failed_setup = sum(1 for a in answers if a.status != 200)
    for n, answer in enumerate(answers):
        if answer.status == 200:
            targets[2 * n] = ("127.0.0.1", media_port(answer.body))
    print(f"set up {args.calls - failed_setup}/{args.calls} calls in {loop.time() - setup_started:.1f} s")
    if args.strays:
        send_strays(targets, args.strays)
    phone_ports = [phone.getsockname()[1] for phone in phones]
    drops0 = udp_drops()
    cpu0, own0, wait0 = cpu_seconds(server_pid), cpu_seconds(os.getpid()), waiting_seconds(server_pid)
    sip0 = cpu_seconds(server_pid, children=False)
    busy0, t0 = machine_busy_seconds(), loop.time()
    sip: Phase | None = None
    if args.sip_rate:
        load, sip = await asyncio.gather(
            asyncio.to_thread(rtpload.run, phones, targets, args.seconds, LATE_S, True),
            sip_phase(args, server_pid, port),
        )
    else:
        load = await asyncio.to_thread(rtpload.run, phones, targets, args.seconds, LATE_S, True)
    wall = loop.time() - t0
    server_cpu = cpu_seconds(server_pid) - cpu0
    sip_cpu = cpu_seconds(server_pid, children=False) - sip0
    server_wait = waiting_seconds(server_pid) - wait0
    own_cpu = cpu_seconds(os.getpid()) - own0
    foreign = machine_busy_seconds() - busy0 - server_cpu - own_cpu
    drops = udp_drops()  # the engine's legs are still bound: their sockets' counts are this round's
    phone_drops = sum(drops.get(p, 0) - drops0.get(p, 0) for p in phone_ports)
    engine_drops = sum(drops.get(t[1], 0) for t in targets if t is not None)
    # streams that lost packets, when only a few did (many at once: the machine, not a stream's fault)
    lossy_streams = [k for k, s in enumerate(load.sent) if s and load.received[k] < s]
    silent = [k for k in lossy_streams if not load.received[k]]
    if silent or 0 < len(lossy_streams) <= LOSSY_REPORTED:
        shown = silent if len(lossy_streams) > LOSSY_REPORTED else lossy_streams
        await report_streams(args, callers.round, shown, load, phones, targets, server_pid, Path(recordings))
    for n, answer in enumerate(answers):
        if answer.status == 200:
            await callers.hang_up(n, answer.to_addr.tag)
    # stream k is what phone k sent; it arrives at its partner (k ^ 1)
    losses = [100 * (s - load.received[k]) / s for k, s in enumerate(load.sent) if s]
    lossy = sum(1 for loss in losses if loss > 0)
    media = (
        f"round={callers.round + 1} calls={args.calls} streams={len(losses)} seconds={args.seconds:g} "
        f"sent={sum(load.sent)} received={sum(load.received)} late_after_count={load.late} "
        f"loss_pct={load.loss_pct():.3f} "
        f"streams_with_loss={lossy} worst_stream_loss_pct={max(losses, default=0):.2f} "
        f"delay_p50_ms={load.delay_ms(0.5):.2f} delay_p99_ms={load.delay_ms(0.99):.2f} "
        f"dropped_by_kernel engine_sockets={engine_drops} phone_sockets={phone_drops} "
        f"server_cpu_pct={100 * server_cpu / wall:.1f} sip_process_cpu_pct={100 * sip_cpu / wall:.1f} "
        f"server_waiting_for_cpu_pct={100 * server_wait / wall:.1f} "
        f"generator_cpu_pct={100 * own_cpu / wall:.1f} foreign_busy_pct={100 * foreign / wall:.0f}"
    )
    print(media, flush=True)
    if sip is None:
        return Phase(None, 0.0, 0.0, media)
    return Phase(sip.sip, sip.sip_cpu_s, sip.sip_wait_s, media)


def udp_drops() -> dict[int, int]:
    """Datagrams the kernel dropped (a full receive buffer) per UDP socket on 127.0.0.1, by port."""
    drops: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            host, _, port = fields[1].partition(":")
            if host == "0100007F":
                drops[int(port, 16)] = drops.get(int(port, 16), 0) + int(fields[-1])
    return drops


def send_strays(targets: list[tuple[str, int] | None], calls: int) -> None:
    """Before the media starts, one RTCP receiver report (as a relay sends it to its party's RTP
    port + 1) from a socket of no call to each of the first ``calls`` calls' caller-side ports: what
    another relay on the machine sends when its party's RTP port is one less than an engine's."""
    block = rtcp.ReportBlock(0x5EED, 0, 0, 1000, 3)
    report = rtcp.build(rtcp.Report(rtcp.RR, 0x5EED, (block,)))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
        stray.bind(("127.0.0.1", 0))
        for target in targets[0 : 2 * calls : 2]:
            if target is not None:
                stray.sendto(report, target)


async def report_streams(
    args: argparse.Namespace,
    round_: int,
    streams: list[int],
    load: rtpload.Load,
    phones: list[socket.socket],
    targets: list[tuple[str, int] | None],
    server_pid: int,
    folder: Path,
) -> None:
    """One line per stream given (those that received nothing, or lost packets): which call and
    direction, recorded or not, the ports, and the engine's session as the server sees it then
    (forwarded, latching, counters)."""
    dump = folder / "sessions.json"
    dump.unlink(missing_ok=True)
    os.kill(server_pid, signal.SIGUSR1)
    sessions: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            while not dump.exists():
                await asyncio.sleep(0.05)
            sessions = json.loads(dump.read_text())
    by_port = {leg["port"]: (s, side) for s in sessions for side, leg in s["legs"].items()}
    drops = udp_drops()
    for k in streams:
        n, direction = k // 2, ("caller->callee", "callee->caller")[k % 2]
        target = targets[k]
        found = by_port.get(target[1]) if target is not None else None
        line = (
            f"{'SILENT' if not load.received[k] else 'LOSSY'} round={round_ + 1} call={n} stream={k} "
            f"{direction} sent={load.sent[k]} received={load.received[k]} "
            f"recorded={n % args.record_every == 0} "
            f"phone_port={phones[k].getsockname()[1]} sends_to={target} "
            f"partner_port={phones[k ^ 1].getsockname()[1]} "
            f"kernel_drops engine_leg={drops.get(target[1], 0) if target is not None else 0} "
            f"partner_since_start={drops.get(phones[k ^ 1].getsockname()[1], 0)}"
        )
        if found is None:
            print(f"{line} engine_session=none", flush=True)
            continue
        session, side = found
        into, out = session["legs"][side], session["legs"]["callee" if side == "caller" else "caller"]
        print(
            f"{line} call_id={session['call_id']} sid={session['sid']} forwarded={session['forwarded']} "
            f"recorded_now={session['recorded']} into_leg={side}:{json.dumps(into)} "
            f"out_leg={json.dumps(out)}",
            flush=True,
        )


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
