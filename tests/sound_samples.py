"""Sound files for the tests: tones written in any format libsndfile writes, and their analysis."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import soundfile


def tone_file(
    hz: float,
    seconds: float,
    *,
    rate: int = 44100,
    channels: int = 2,
    level: float = 0.05,
    file_format: str = "WAV",
    subtype: str = "PCM_16",
) -> bytes:
    """A sine at ``hz`` (peak ``level`` of full scale) on every channel, encoded as asked."""
    t = np.arange(int(rate * seconds)) / rate
    mono = level * np.sin(2 * np.pi * hz * t)
    out = io.BytesIO()
    soundfile.write(out, np.stack([mono] * channels, axis=1), rate, format=file_format, subtype=subtype)
    return out.getvalue()


def dominant_hz(pcm: npt.NDArray[np.float64], rate: int = 8000) -> float:
    """The frequency with the most energy."""
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


def rms_dbfs(pcm: npt.NDArray[np.float64]) -> float:
    """The RMS level of samples in -1..1, in dBFS."""
    return float(20 * np.log10(np.sqrt(np.mean(np.square(pcm)))))
