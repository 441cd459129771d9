"""A call's RTP captured in a pcap file (rtpengine's pcap recording) turned into stereo FLAC.

Reads the classic libpcap format (link type raw IPv4 or Ethernet is told by the IP version nibble),
keeps the UDP datagrams that are G.711 RTP sent by each leg's phone (by source port), places each
leg's audio by RTP timestamp after its first capture time, and writes the caller left and the
callee right, like the embedded recorder. Blocking: call it in a thread.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import numpy as np
import soundfile

from nuage.media import g711, rtp
from nuage.media.player import RATE
from nuage.sip.media import MediaError, Recording, Side

_RECORD = struct.Struct("<IIII")
_GLOBAL_HEADER = 24
Frame = tuple[float, int, np.ndarray]


def _datagrams(data: bytes) -> list[tuple[float, int, bytes]]:
    """(capture time, UDP source port, UDP payload) of every IPv4 UDP packet of a pcap."""
    out = []
    offset = _GLOBAL_HEADER
    while offset + _RECORD.size <= len(data):
        seconds, micros, captured, _ = _RECORD.unpack_from(data, offset)
        packet = data[offset + _RECORD.size : offset + _RECORD.size + captured]
        offset += _RECORD.size + captured
        start = 0 if packet[:1] and packet[0] >> 4 == 4 else 14  # raw IP, else Ethernet
        ip = packet[start:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        if len(udp) < 8:
            continue
        out.append((seconds + micros / 1e6, int.from_bytes(udp[0:2], "big"), bytes(udp[8:])))
    return out


def _track(frames: list[Frame], start: float) -> np.ndarray:
    if not frames:
        return np.zeros(0, dtype=np.int16)
    lead = int((frames[0][0] - start) * RATE)
    base = frames[0][1]
    end = lead + max(((ts - base) & 0xFFFFFFFF) + len(pcm) for _, ts, pcm in frames)
    track = np.zeros(end, dtype=np.int16)
    for _, ts, pcm in frames:
        at = lead + ((ts - base) & 0xFFFFFFFF)
        track[at : at + len(pcm)] = pcm
    return track


def pcap_to_flac(directory: Path, call_id: str, phone_ports: dict[Side, int], path: Path) -> Recording:
    """Decode the newest pcap of ``call_id`` in ``directory`` into a stereo FLAC at ``path``."""
    files = sorted(directory.glob(f"{call_id}*.pcap"), key=lambda f: f.stat().st_mtime)
    if not files:
        raise MediaError(f"no pcap recorded for call {call_id!r}")
    frames: dict[Side, list[Frame]] = {side: [] for side in Side}
    sides = {port: side for side, port in phone_ports.items()}
    for at, source, payload in _datagrams(files[-1].read_bytes()):
        side = sides.get(source)
        if side is None:
            continue
        with contextlib.suppress(rtp.RtpError):
            packet = rtp.parse(payload)
            if packet.payload_type in (g711.PCMU, g711.PCMA):
                frames[side].append((at, packet.timestamp, g711.decode(packet.payload_type, packet.payload)))
    start = min((f[0][0] for f in frames.values() if f), default=0.0)
    tracks = [_track(frames[side], start) for side in Side]
    length = max(len(t) for t in tracks)
    stereo = np.zeros((length, 2), dtype=np.int16)
    for i, track in enumerate(tracks):
        stereo[: len(track), i] = track
    soundfile.write(str(path), stereo, RATE, format="FLAC", subtype="PCM_16")
    return Recording(path, path.stat().st_size, length / RATE)
