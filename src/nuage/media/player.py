"""Plays audio to a leg as G.711 at 20 ms pacing, and generates tones and DTMF packet trains.

Pacing is anchored on the loop clock at the start (packet n leaves at start + n × 20 ms), so
scheduling delays never accumulate into drift. A WAV file is read and converted off the loop.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from nuage.media import dtmf, g711, rtp
from nuage.media.g711 import Pcm
from nuage.sip.media import Tone

RATE = 8000
FRAME = 160  # samples in 20 ms
PTIME = 0.02


def tone(frequency_hz: float, duration_ms: int, level_dbfs: float = -12.0) -> Pcm:
    """A sine tone at 8 kHz."""
    n = RATE * duration_ms // 1000
    amplitude = 32767 * 10 ** (level_dbfs / 20)
    t = np.arange(n) / RATE
    samples: Pcm = (amplitude * np.sin(2 * np.pi * frequency_hz * t)).astype(np.int16)
    return samples


HOLD_NOTES_HZ = (523.25, 659.25, 783.99, 659.25)  # C5 E5 G5 E5: the default music on hold
HOLD_NOTE_MS = 250


def melody(seconds: int, level_dbfs: float = -14.0) -> Pcm:
    """The default music on hold: ``HOLD_NOTES_HZ`` in turn, ``HOLD_NOTE_MS`` each, softly faded."""
    n = RATE * HOLD_NOTE_MS // 1000
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / 80)  # 10 ms in and out
    bar = np.concatenate([tone(hz, HOLD_NOTE_MS, level_dbfs) * fade for hz in HOLD_NOTES_HZ]).astype(np.int16)
    repeats = max(1, seconds * 1000 // (HOLD_NOTE_MS * len(HOLD_NOTES_HZ)))
    samples: Pcm = np.tile(bar, repeats)
    return samples


def tone_wav(directory: Path, source: Tone) -> Path:
    """``source`` as an 8 kHz WAV in ``directory``, written once (an engine that plays files plays the
    same ringback burst every few seconds); renamed into place whole. Blocking."""
    hz, ms, dbfs = source.frequency_hz, source.duration_ms, source.level_dbfs
    path = directory / f"tone-{hz:g}-{ms}-{dbfs:g}.wav"
    if not path.exists():
        partial = directory / f"{path.stem}-{secrets.token_hex(4)}.part"
        soundfile.write(str(partial), tone(hz, ms, dbfs), RATE, subtype="PCM_16", format="WAV")
        partial.replace(path)
    return path


def write_hold_music(path: Path, seconds: int = 30) -> Path:
    """Write the default music on hold as an 8 kHz WAV at ``path`` (once). Blocking."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), melody(seconds), RATE, subtype="PCM_16")
    return path


def read_wav(path: Path) -> Pcm:
    """A sound file as 8 kHz mono 16-bit samples (first channel, linear resampling). Blocking."""
    data, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    mono: npt.NDArray[np.float64] = np.asarray(data[:, 0], dtype=np.float64)
    if rate != RATE:
        positions = np.arange(0, len(mono), rate / RATE)
        mono = np.interp(positions, np.arange(len(mono)), mono)
    samples: Pcm = mono.astype(np.int16)
    return samples


async def load(path: Path) -> Pcm:
    """``read_wav`` in a thread, so the loop never waits on the disk."""
    return await asyncio.to_thread(read_wav, path)


class Source:
    """The engine's own RTP stream towards one leg (its SSRC, sequence and timestamp)."""

    def __init__(self, send: Callable[[bytes], None], payload_type: int, event_type: int | None) -> None:
        self.send = send
        self.payload_type = payload_type
        self.event_type = event_type
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)

    def _emit(self, payload_type: int, payload: bytes, timestamp: int, marker: bool = False) -> None:
        self.send(rtp.build(payload_type, self.sequence, timestamp, self.ssrc, payload, marker))
        self.sequence = (self.sequence + 1) & 0xFFFF

    async def play(self, pcm: Pcm) -> None:
        """Send ``pcm`` in 20 ms G.711 packets, paced on the loop clock."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        frames = (len(pcm) + FRAME - 1) // FRAME
        for n in range(frames):
            chunk = pcm[n * FRAME : (n + 1) * FRAME]
            if len(chunk) < FRAME:
                chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), dtype=np.int16)])
            self._emit(
                self.payload_type, g711.encode(self.payload_type, chunk), self.timestamp, marker=n == 0
            )
            self.timestamp = (self.timestamp + FRAME) & 0xFFFFFFFF
            delay = start + (n + 1) * PTIME - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def stream(self, next_frame: Callable[[], bytes]) -> None:
        """Send ``next_frame()`` (160 16-bit little-endian samples) every 20 ms until cancelled."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while True:
            chunk = np.frombuffer(next_frame(), dtype="<i2").astype(np.int16)
            if len(chunk) != FRAME:
                chunk = np.resize(np.concatenate([chunk, np.zeros(FRAME, dtype=np.int16)]), FRAME)
            self._emit(self.payload_type, g711.encode(self.payload_type, chunk), self.timestamp, n == 0)
            self.timestamp = (self.timestamp + FRAME) & 0xFFFFFFFF
            n += 1
            delay = start + n * PTIME - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def digit(self, digit: str, duration_ms: int) -> None:
        """Send one RFC 4733 digit (every packet of the event carries the event's start timestamp)."""
        if self.event_type is None:
            raise dtmf.DtmfError("the leg did not negotiate telephone-event")
        loop = asyncio.get_running_loop()
        start = loop.time()
        payloads = dtmf.digit_payloads(digit, duration_ms)
        event_start = self.timestamp
        for n, (marker, payload) in enumerate(payloads):
            self._emit(self.event_type, payload, event_start, marker)
            delay = start + (n + 1) * PTIME - loop.time()
            if delay > 0 and n < len(payloads) - 3:
                await asyncio.sleep(delay)
        self.timestamp = (event_start + dtmf.CLOCK_RATE * duration_ms // 1000) & 0xFFFFFFFF
