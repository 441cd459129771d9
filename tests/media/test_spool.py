"""A recorded call's spool (issue #15): what a forwarder tees is what the recorder reads back, in
order, bounded, a cut-off last frame left out; the recorder places spooled and in-process frames
of one recording on one timeline, out of order and late frames included."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from media.peers import dominant_hz, rms
from nuage.media import g711, rtp, spool
from nuage.media.player import tone
from nuage.media.recorder import Recorder
from nuage.sip.media import Side


def frames(hz: float, count: int) -> list[bytes]:
    """``count`` 20 ms PCMU payloads of a tone at ``hz``."""
    pcm = tone(hz, 20 * count, -10)
    return [g711.ulaw_encode(pcm[i * 160 : (i + 1) * 160]) for i in range(count)]


def test_the_spool_gives_back_what_was_teed_in_order(tmp_path: Path) -> None:
    path = tmp_path / ".call.flac.spool"
    tee = spool.Tee(str(path), [None, None])
    payloads = frames(440, 3)
    for n, payload in enumerate(payloads):
        tee.frame(n % 2, g711.PCMU, 100 + n, 160 * n, 1000.0 + n / 50, payload)
    plain = rtp.build(g711.PCMA, 7, 1120, 99, b"\xd5" * 160)
    with_csrc = bytes([0x81]) + plain[1:12] + (1234).to_bytes(4, "big") + plain[12:]
    tee.packet(1, g711.PCMA, 7, 1120, 1000.5, memoryview(with_csrc))  # the payload after the CSRC
    figures = tee.close()
    assert figures["frames"] == 4
    assert figures["dropped"] == 0
    read = list(spool.read(path))
    assert [(d, pt, seq, ts) for d, pt, seq, ts, _, _ in read] == [
        (0, 0, 100, 0), (1, 0, 101, 160), (0, 0, 102, 320), (1, 8, 7, 1120),
    ]  # fmt: skip
    assert [payload for *_, payload in read] == [*payloads, b"\xd5" * 160]
    assert read[3][4] == pytest.approx(1000.5)


def test_a_cut_off_last_frame_is_left_out_and_the_spool_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / ".call.flac.spool"
    tee = spool.Tee(str(path), [None, None])
    for n, payload in enumerate(frames(440, 2)):
        tee.frame(0, g711.PCMU, n, 160 * n, float(n), payload)
    tee.close()
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # the writer was killed in the middle of its last write
    assert [seq for _, _, seq, *_ in spool.read(path)] == [0]
    monkeypatch.setattr(spool, "MAX_BYTES", len(data) + spool.HEADER.size + 160)
    tee = spool.Tee(str(path), [None, None])  # appends, counting what is already there
    for n, payload in enumerate(frames(440, 3)):
        tee.frame(0, g711.PCMU, 10 + n, 160 * n, float(n), payload)
    assert tee.close()["dropped"] == 2


def test_the_recorder_places_spooled_and_heard_frames_on_one_timeline(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "call.flac")
    recorder.started_at = start = time.monotonic() - 1.0  # began a second ago
    caller, callee = frames(440, 50), frames(1000, 50)
    tee = spool.Tee(str(recorder.spool), [None, None])
    order = list(range(25))
    order[10], order[11] = order[11], order[10]  # two packets swapped on the way
    for n in order:  # the first half second, teed by a forwarder
        tee.frame(0, g711.PCMU, n, 160 * n, start + n / 50, caller[n])
        tee.frame(1, g711.PCMU, n, 8000 + 160 * n, start + n / 50, callee[n])
    tee.close()
    # the second half heard in process (it arrives now, after the first)
    for n in range(25, 50):
        recorder.feed(Side.CALLER, 160 * n, g711.ulaw_decode(caller[n]))
        recorder.feed(Side.CALLEE, 8000 + 160 * n, g711.ulaw_decode(callee[n]))
    frames_ = recorder._channels()
    assert len(frames_) >= 8000
    left, right = frames_[:8000, 0], frames_[:8000, 1]
    assert rms(left) > 1000
    assert abs(dominant_hz(left) - 440) < 15
    assert abs(dominant_hz(right) - 1000) < 15
    assert int(np.count_nonzero(left[:7800] == 0)) < 200, "no gap where the swapped packets were"
    recorder._store()
    assert not recorder.spool.exists()
    audio, rate = soundfile.read(str(recorder.path), dtype="int16", always_2d=True)
    assert rate == 8000
    assert audio.shape[1] == 2
