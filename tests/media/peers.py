"""Test RTP peers: small asyncio G.711 phones that send a tone or a digit and keep what they receive.

They speak to the engine under test over loopback like a phone would: one UDP socket, symmetric RTP,
20 ms packets paced on the loop clock. ``audio`` decodes what arrived, in sequence order, and
``dominant_hz`` finds a signal's main frequency by FFT.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import random
import termios
import time
from functools import partial

import numpy as np

from netports import free_port
from nuage.media import dtmf, g711, rtcp, rtp
from nuage.media.g711 import Pcm
from nuage.media.player import FRAME, PTIME, tone

EVENT_PT = 101


def sdp(port: int, session: str, formats: str = "0 101") -> bytes:
    """A phone's SDP offer or answer for audio at 127.0.0.1:``port``."""
    maps = {"0": "PCMU/8000", "8": "PCMA/8000", "101": "telephone-event/8000", "18": "G729/8000"}
    lines = [
        "v=0",
        f"o=- {session} 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        *[f"a=rtpmap:{pt} {maps[pt]}" for pt in formats.split()],
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def media_port(body: bytes) -> int:
    """The audio port of an SDP body."""
    for line in body.decode().splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise AssertionError("no m=audio in the rewritten SDP")


def dominant_hz(pcm: Pcm) -> float:
    """The frequency with the most energy (8 kHz sampling)."""
    window = pcm.astype(np.float64) * np.hanning(len(pcm))
    spectrum = np.abs(np.fft.rfft(window))
    return float(np.fft.rfftfreq(len(pcm), 1 / 8000)[int(np.argmax(spectrum[1:])) + 1])


def rms(pcm: Pcm) -> float:
    """Root mean square level of the samples."""
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0


class _Rtcp(asyncio.DatagramProtocol):
    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            report = rtcp.parse(data)
        except rtcp.RtcpError:
            return
        if report.kind == rtcp.SR:
            self.peer.last_sr = ((report.ntp >> 16) & 0xFFFFFFFF, time.monotonic())


class Peer(asyncio.DatagramProtocol):
    """One phone on 127.0.0.1, RTP on an even port and RTCP on the next."""

    def __init__(self) -> None:
        self.received: list[rtp.RtpPacket] = []
        self.stats: dict[int, rtcp.ReceiveStats] = {}
        self.last_sr: tuple[int, float] | None = None
        self.sent_packets = 0
        self.sent_octets = 0
        self.rtcp: asyncio.DatagramTransport | None = None
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(15)
        self.timestamp = random.getrandbits(31)
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls) -> Peer:
        loop = asyncio.get_running_loop()
        for attempt in range(3):  # a port probed free may be taken by another process before the bind
            port = free_port(span=3)
            port += port % 2
            try:
                _, peer = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", port))
            except OSError:
                if attempt == 2:
                    raise
                continue
            try:
                peer.rtcp, _ = await loop.create_datagram_endpoint(
                    partial(_Rtcp, peer), local_addr=("127.0.0.1", port + 1)
                )
            except OSError:
                assert peer.transport is not None
                peer.transport.close()
                if attempt == 2:
                    raise
                continue
            return peer
        raise AssertionError("unreachable")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packet = rtp.parse(data)
        except rtp.RtpError:
            return
        self.received.append(packet)
        stats = self.stats.setdefault(packet.ssrc, rtcp.ReceiveStats())
        stats.update(packet.sequence, packet.timestamp, time.monotonic())

    async def drained(self, timeout: float = 30) -> None:
        """Until every packet the kernel holds for this peer's RTP socket has been read: asyncio
        reads one datagram per turn of the loop, so on a loaded machine packets that arrived
        before, say, a BYE may still wait in the socket when the BYE has been handled."""
        assert self.transport is not None
        fd = self.transport.get_extra_info("socket").fileno()
        pending = array.array("i", [0])
        async with asyncio.timeout(timeout):
            while True:
                fcntl.ioctl(fd, termios.FIONREAD, pending, True)
                if pending[0] == 0:
                    await asyncio.sleep(0)  # the last datagram's callback runs
                    return
                await asyncio.sleep(0.01)

    def close(self) -> None:
        for transport in (self.transport, self.rtcp):
            if transport is not None:
                transport.close()

    def send_report(self, port: int) -> None:
        """Send an SR with a reception report block per stream received to the engine's RTCP ``port``."""
        assert self.rtcp is not None
        now = time.time() + 2208988800
        ntp = int(now) << 32 | int((now % 1) * (1 << 32))
        lsr, dlsr = 0, 0
        if self.last_sr is not None:
            lsr, dlsr = self.last_sr[0], int((time.monotonic() - self.last_sr[1]) * 65536)
        blocks = tuple(
            rtcp.ReportBlock(
                b.ssrc, b.fraction_lost, b.cumulative_lost, b.highest_sequence, b.jitter, lsr, dlsr
            )
            for b in (stats.report_block(ssrc) for ssrc, stats in self.stats.items())
        )
        report = rtcp.Report(
            rtcp.SR, self.ssrc, blocks, ntp, self.timestamp, self.sent_packets, self.sent_octets
        )
        self.rtcp.sendto(rtcp.build(report), ("127.0.0.1", port))

    def send_raw(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, ("127.0.0.1", port))

    async def send_tone(
        self,
        port: int,
        frequency: float,
        duration_ms: int,
        pt: int = 0,
        drop_every: int = 0,
        reports: bool = False,
    ) -> None:
        """Send a tone to the engine at ``port``; with ``drop_every`` n, one packet in n is lost.

        With ``reports``, an RTCP SR (with reception reports) goes to ``port + 1`` every 0.5 s.
        """
        pcm = tone(frequency, duration_ms)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(len(pcm) // FRAME):
            payload = g711.encode(pt, pcm[n * FRAME : (n + 1) * FRAME])
            if not (drop_every and n % drop_every == drop_every // 2):
                self.send_raw(rtp.build(pt, self.sequence, self.timestamp, self.ssrc, payload), port)
                self.sent_packets += 1
                self.sent_octets += len(payload)
            if reports and n % 25 == 24:
                self.send_report(port + 1)
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.timestamp = (self.timestamp + FRAME) & 0xFFFFFFFF
            await asyncio.sleep(max(0.0, start + (n + 1) * PTIME - loop.time()))

    async def send_digit(self, port: int, digit: str, duration_ms: int = 160) -> None:
        """Send one RFC 4733 digit (end packet three times)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n, (marker, payload) in enumerate(dtmf.digit_payloads(digit, duration_ms)):
            self.send_raw(
                rtp.build(EVENT_PT, self.sequence, self.timestamp, self.ssrc, payload, marker), port
            )
            self.sequence = (self.sequence + 1) & 0xFFFF
            await asyncio.sleep(max(0.0, start + (n + 1) * PTIME - loop.time()))
        self.timestamp = (self.timestamp + 8 * duration_ms) & 0xFFFFFFFF

    def audio(self, pt: int = 0, ssrc: int | None = None) -> Pcm:
        """Decoded audio received (payload type ``pt``), in arrival order."""
        chunks = [g711.decode(pt, p.payload) for p in self.received if p.payload_type == pt]
        if ssrc is not None:
            chunks = [
                g711.decode(pt, p.payload) for p in self.received if p.payload_type == pt and p.ssrc == ssrc
            ]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
