"""Uploaded sound files (CFG-12) made ready for the engines, once, when they are uploaded.

Owns the conversion of any common audio format (WAV, MP3, Ogg Vorbis/Opus, FLAC, AIFF, µ-law…,
whatever libsndfile reads) into what the media engines play: an 8 kHz mono 16-bit WAV, G.711-ready.
The audio is mixed down to mono, low-passed below 4 kHz and resampled, then brought to a common
loudness (``TARGET_RMS_DBFS`` measured over the 20 ms frames that are not silence) with its peaks
held under ``PEAK_DBFS``. Bytes that are not audio raise ``UnreadableAudio``; audio longer than
``MAX_SECONDS``, or silent, ``InvalidInput``. Blocking: run it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soundfile

from nuage.errors import InvalidInput, UnreadableAudio

RATE = 8000  # what the engines play (G.711)
MAX_SECONDS = 600  # 10 minutes
MAX_SOURCE_RATE = 192_000
TARGET_RMS_DBFS = -18.0
PEAK_DBFS = -1.0
GATE_DBFS = -50.0  # quieter 20 ms frames are pauses, left out of the loudness measured
CUTOFF_HZ = 3600.0  # the low-pass before resampling (G.711 carries up to 4 kHz)

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ConvertedAudio:
    """A sound file as the engines play it: an 8 kHz mono PCM WAV, its length and where it came from."""

    wav: bytes
    duration_ms: int
    source_rate: int
    source_channels: int
    gain_db: float  # the gain applied to reach the loudness target


def _unreadable(reason: object) -> UnreadableAudio:
    text = str(reason).rpartition(">: ")[2] or str(reason)  # libsndfile names the buffer object first
    return UnreadableAudio("content", f"The sound file cannot be read as audio: {text}")


def _too_long() -> InvalidInput:
    return InvalidInput(
        "content", f"A sound file lasts at most {MAX_SECONDS // 60} minutes", max_seconds=MAX_SECONDS
    )


def decode(content: bytes) -> tuple[Floats, int, int]:
    """The audio mixed down to mono (float32, -1..1), its sample rate and its channel count."""
    try:
        with soundfile.SoundFile(io.BytesIO(content)) as sound:
            rate, channels = sound.samplerate, sound.channels
            if not 0 < rate <= MAX_SOURCE_RATE or channels < 1:
                raise _unreadable(f"{rate} Hz, {channels} channels")
            if sound.frames > 0 and sound.frames > MAX_SECONDS * rate and sound.seekable():
                raise _too_long()
            limit = MAX_SECONDS * rate
            parts: list[Floats] = []
            read = 0
            for block in sound.blocks(blocksize=65536, dtype="float32", always_2d=True):
                parts.append(block.mean(axis=1, dtype=np.float32))
                read += len(block)
                if read > limit + rate // 10:  # a little slack for codecs' padding
                    raise _too_long()
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError, EOFError) as exc:
        raise _unreadable(exc) from None
    if not read:
        raise _unreadable("no samples")
    mono: Floats = np.concatenate(parts)  # float32 already: no second copy
    return mono, rate, channels


def _lowpass(x: Floats, rate: int, cutoff_hz: float, taps: int = 255) -> Floats:
    """A windowed-sinc low-pass, applied block by block in the frequency domain (overlap-add)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff_hz / rate * np.sinc(2 * cutoff_hz / rate * n) * np.blackman(taps)
    h /= h.sum()
    block = 1 << 16
    size = block + taps - 1
    spectrum = np.fft.rfft(h, size)
    out = np.zeros(len(x) + taps - 1, dtype=np.float32)
    for start in range(0, len(x), block):
        piece = x[start : start + block]
        filtered = np.fft.irfft(np.fft.rfft(piece, size) * spectrum, size)[: len(piece) + taps - 1]
        out[start : start + len(filtered)] += filtered.astype(np.float32)
    delay = (taps - 1) // 2
    result: Floats = out[delay : delay + len(x)]
    return result


def resample(x: Floats, rate: int) -> Floats:
    """``x`` at ``RATE``: low-passed when it comes from a higher rate, then linearly interpolated."""
    if rate == RATE:
        return x
    if rate > RATE:
        x = _lowpass(x, rate, CUTOFF_HZ)
    count = int(len(x) * RATE / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / RATE)
    index = np.minimum(positions.astype(np.int64), len(x) - 1)
    following = np.minimum(index + 1, len(x) - 1)
    frac = (positions - index).astype(np.float32)
    result: Floats = (x[index] * (1 - frac) + x[following] * frac).astype(np.float32)
    return result


def loudness_dbfs(x: Floats) -> float | None:
    """The RMS level (dBFS, a full-scale sine is -3) over the 20 ms frames louder than ``GATE_DBFS``;
    None when every frame is quieter (silence)."""
    frame = RATE // 50
    usable = len(x) // frame * frame
    frames = x[:usable].reshape(-1, frame) if usable else x.reshape(1, -1)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    loud = power[power > 10 ** (GATE_DBFS / 10)]
    if not len(loud):
        return None
    return float(10 * np.log10(np.mean(loud)))


def normalise(x: Floats) -> tuple[Floats, float]:
    """``x`` at ``TARGET_RMS_DBFS``, its peaks under ``PEAK_DBFS``; the gain applied (dB)."""
    level = loudness_dbfs(x)
    if level is None:
        raise InvalidInput("content", "The sound file is silent")
    gain_db = TARGET_RMS_DBFS - level
    peak = float(np.max(np.abs(x)))
    if peak > 0:
        gain_db = min(gain_db, PEAK_DBFS - 20 * np.log10(peak))
    result: Floats = (x * np.float32(10 ** (gain_db / 20))).astype(np.float32)
    return result, float(gain_db)


def convert(content: bytes) -> ConvertedAudio:
    """CFG-12: an uploaded sound file as the engines play it (see the module). Blocking."""
    mono, rate, channels = decode(content)
    at_rate = resample(mono, rate)
    if len(at_rate) > MAX_SECONDS * RATE + RATE // 10:
        raise _too_long()
    levelled, gain_db = normalise(at_rate)
    pcm = np.clip(np.round(levelled * 32767), -32768, 32767).astype(np.int16)
    out = io.BytesIO()
    soundfile.write(out, pcm, RATE, format="WAV", subtype="PCM_16")
    return ConvertedAudio(
        wav=out.getvalue(),
        duration_ms=len(pcm) * 1000 // RATE,
        source_rate=rate,
        source_channels=channels,
        gain_db=round(gain_db, 2),
    )
