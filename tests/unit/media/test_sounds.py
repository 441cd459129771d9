"""Uploaded sound files converted once: any common format to 8 kHz mono at a common loudness."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from nuage.errors import InvalidInput, UnreadableAudio
from nuage.media import sounds
from sound_samples import dominant_hz, rms_dbfs, tone_file

FORMATS = [
    ("WAV", "PCM_16", 44100),
    ("FLAC", "PCM_16", 44100),
    ("OGG", "VORBIS", 44100),
    ("OGG", "OPUS", 48000),
    ("MP3", "MPEG_LAYER_III", 44100),
]


def _decoded(converted: sounds.ConvertedAudio) -> tuple[np.ndarray, int, int]:
    info = soundfile.info(io.BytesIO(converted.wav))
    audio, rate = soundfile.read(io.BytesIO(converted.wav), dtype="float64")
    return audio, rate, info.channels


@pytest.mark.rule("CFG-12")
@pytest.mark.parametrize(("file_format", "subtype", "rate"), FORMATS, ids=[f[1] for f in FORMATS])
def test_a_stereo_file_becomes_8_khz_mono_at_the_loudness_target(
    file_format: str, subtype: str, rate: int
) -> None:
    content = tone_file(700, 3, rate=rate, channels=2, level=0.05, file_format=file_format, subtype=subtype)
    converted = sounds.convert(content)
    audio, out_rate, channels = _decoded(converted)
    assert (out_rate, channels) == (8000, 1)
    assert converted.source_channels == 2
    assert converted.source_rate == rate
    assert abs(converted.duration_ms - 3000) < 120  # codecs pad a little
    steady = audio[800:-800]
    assert abs(dominant_hz(steady) - 700) < 5
    assert abs(rms_dbfs(steady) - sounds.TARGET_RMS_DBFS) < 0.5  # a quiet tone brought up (+~11 dB)
    assert converted.gain_db > 8


def test_loud_peaks_are_held_under_the_ceiling() -> None:
    # a quiet tone with one loud click: the RMS target would push the click past full scale
    t = np.arange(8000 * 2) / 8000
    signal = 0.01 * np.sin(2 * np.pi * 440 * t)
    signal[8000] = 0.9
    out = io.BytesIO()
    soundfile.write(out, signal, 8000, format="WAV", subtype="PCM_16")
    audio, _, _ = _decoded(sounds.convert(out.getvalue()))
    assert np.max(np.abs(audio)) <= 10 ** (sounds.PEAK_DBFS / 20) + 1e-3


def test_content_above_4_khz_does_not_fold_back_into_the_band() -> None:
    # a 700 Hz voice under a loud 6 kHz whistle: resampled without a low-pass, the whistle would
    # come back as 2 kHz (8000 - 6000), louder than the voice
    t = np.arange(44100 * 2) / 44100
    signal = 0.05 * np.sin(2 * np.pi * 700 * t) + 0.5 * np.sin(2 * np.pi * 6000 * t)
    out = io.BytesIO()
    soundfile.write(out, signal, 44100, format="WAV", subtype="PCM_16")
    audio, _, _ = _decoded(sounds.convert(out.getvalue()))
    spectrum = np.abs(np.fft.rfft(audio[800:-800] * np.hanning(len(audio) - 1600)))
    freqs = np.fft.rfftfreq(len(audio) - 1600, 1 / 8000)
    voice = spectrum[np.abs(freqs - 700) < 10].max()
    folded = spectrum[np.abs(freqs - 2000) < 10].max()
    assert folded < voice / 30  # more than 30 dB down


@pytest.mark.rule("CFG-12")
@pytest.mark.parametrize(
    "content",
    [b"RIFF....WAVEfmt ", b"\x00" * 4096, b"ID3" + bytes(range(256)) * 8, b"fLaC" + b"\xff" * 100],
    ids=["truncated-wav", "zeros", "fake-mp3", "fake-flac"],
)
def test_bytes_that_are_not_audio_are_refused(content: bytes) -> None:
    with pytest.raises(UnreadableAudio) as refused:
        sounds.convert(content)
    assert refused.value.error_id == "unreadable-audio"
    assert "cannot be read as audio" in refused.value.message
    assert "BytesIO" not in refused.value.message


def test_silence_and_overlong_audio_are_refused() -> None:
    with pytest.raises(InvalidInput, match="silent"):
        sounds.convert(tone_file(700, 1, level=0.0))
    long = io.BytesIO()
    soundfile.write(long, np.zeros(8000 * (sounds.MAX_SECONDS + 5), dtype=np.int16), 8000, format="FLAC")
    with pytest.raises(InvalidInput, match="at most 10 minutes") as refused:
        sounds.convert(long.getvalue())
    assert refused.value.details["max_seconds"] == sounds.MAX_SECONDS
