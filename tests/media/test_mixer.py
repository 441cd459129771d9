"""The conference mixer (CFG-8): who hears whom, checked on the audio; jitter, saturation, tones."""

from __future__ import annotations

import random

import numpy as np
import pytest

from nuage.media import g711, rtp
from nuage.media.g711 import Pcm
from nuage.media.mixer import JOIN_TONE, LEAVE_TONE, Mixer, Playout
from nuage.media.player import FRAME, tone

HZ = {"a": 500.0, "b": 1100.0, "c": 1700.0}


def level_at(pcm: Pcm, hz: float) -> float:
    """The amplitude of the ``hz`` component (Goertzel-like projection), in sample units."""
    t = np.arange(len(pcm)) / 8000
    x = pcm.astype(np.float64)
    return float(
        2 * np.hypot(np.dot(x, np.sin(2 * np.pi * hz * t)), np.dot(x, np.cos(2 * np.pi * hz * t))) / len(pcm)
    )


def run(mixer: Mixer, sources: dict[str, Pcm], ticks: int, order: str = "in_order") -> dict[str, Pcm]:
    """Feed each source frame by frame (timestamp-stamped) and tick; what each participant heard."""
    heard: dict[str, list[Pcm]] = {key: [] for key in mixer.members}
    rng = random.Random(7)
    base = {key: rng.getrandbits(32) for key in sources}
    pending: list[tuple[str, int, Pcm]] = []
    for n in range(ticks):
        for key, pcm in sources.items():
            frame = pcm[n * FRAME : (n + 1) * FRAME]
            if len(frame) == FRAME:
                pending.append((key, (base[key] + n * FRAME) & 0xFFFFFFFF, frame))
        if order == "jittered" and n % 3 != 2:
            pass  # hold packets back, then deliver them out of order and twice
        else:
            if order == "jittered":
                rng.shuffle(pending)
                pending += pending[:2]
            for key, timestamp, frame in pending:
                mixer.push(key, timestamp, frame)
            pending.clear()
        for key, frame in mixer.tick().items():
            heard[key].append(frame)
    return {key: np.concatenate(frames) for key, frames in heard.items()}


def conference(*keys: str) -> Mixer:
    mixer = Mixer()
    for key in keys:
        mixer.join(key, tone_to_others=False)
    return mixer


def sources(seconds: int = 1) -> dict[str, Pcm]:
    return {key: tone(hz, seconds * 1000, -12.0) for key, hz in HZ.items()}


def test_each_participant_hears_the_others_and_not_themselves() -> None:
    heard = run(conference("a", "b", "c"), sources(), 50)
    for listener, pcm in heard.items():
        steady = pcm[8 * FRAME : 48 * FRAME]
        for speaker, hz in HZ.items():
            level = level_at(steady, hz)
            if speaker == listener:
                assert level < 20, (listener, speaker, level)
            else:
                assert level > 5000, (listener, speaker, level)


def test_packets_late_out_of_order_and_twice_still_mix_cleanly() -> None:
    mixer = conference("a", "b", "c")
    heard = run(mixer, sources(), 50, order="jittered")
    steady = heard["c"][10 * FRAME : 45 * FRAME]
    assert level_at(steady, HZ["a"]) > 5000
    assert level_at(steady, HZ["b"]) > 5000
    assert level_at(steady, HZ["c"]) < 20
    assert all(np.abs(steady[i * FRAME : (i + 1) * FRAME]).max() > 1000 for i in range(35))  # no gap


def test_a_muted_participant_is_heard_by_nobody_but_hears_everyone() -> None:
    mixer = conference("a", "b", "c")
    mixer.set_muted("a", True)
    heard = run(mixer, sources(), 50)
    for listener in ("b", "c"):
        assert level_at(heard[listener][8 * FRAME :], HZ["a"]) < 20
    assert level_at(heard["a"][8 * FRAME :], HZ["b"]) > 5000


def test_loud_participants_saturate_instead_of_wrapping() -> None:
    loud = {key: tone(hz, 1000, 0.0) for key, hz in HZ.items()}
    heard = run(conference("a", "b", "c", "d"), loud, 50)
    pcm = heard["d"][8 * FRAME : 48 * FRAME].astype(np.int64)
    exact = sum(tone(hz, 1000, 0.0)[: len(pcm)].astype(np.int64) for hz in HZ.values())
    assert pcm.max() == 32767
    assert pcm.min() == -32768
    overflow = np.abs(exact) > 32767
    assert overflow.any()
    assert np.all(np.sign(pcm[overflow]) == np.sign(exact[overflow]))  # clipped, never wrapped


def test_join_and_leave_tones_reach_the_others() -> None:
    mixer = conference("a", "b")
    mixer.join("c")
    frames = [mixer.tick() for _ in range(12)]
    to_a = np.concatenate([f["a"] for f in frames])
    to_c = np.concatenate([f["c"] for f in frames])
    assert np.array_equal(to_a[: len(JOIN_TONE)], JOIN_TONE)
    assert not to_c.any()  # the newcomer does not hear their own join tone
    mixer.leave("a")
    frames = [mixer.tick() for _ in range(12)]
    to_b = np.concatenate([f["b"] for f in frames])
    assert np.array_equal(to_b[: len(LEAVE_TONE)], LEAVE_TONE)
    assert set(frames[0]) == {"b", "c"}


@pytest.mark.parametrize("count", [50])
def test_fifty_participants_each_hear_the_forty_nine_others(count: int) -> None:
    mixer = Mixer()
    keys = [f"p{i}" for i in range(count)]
    for key in keys:
        mixer.join(key, tone_to_others=False)
    speaking = {"p0": tone(500.0, 400, -20.0), "p49": tone(1700.0, 400, -20.0)}
    heard = run(mixer, speaking, 20)
    for key in ("p0", "p1", "p25", "p49"):
        pcm = heard[key][5 * FRAME : 18 * FRAME]
        assert (level_at(pcm, 500.0) > 1000) == (key != "p0")
        assert (level_at(pcm, 1700.0) > 1000) == (key != "p49")


def test_playout_skips_a_growing_backlog_and_refills_after_silence() -> None:
    playout = Playout(depth=3 * FRAME, max_backlog=6 * FRAME)
    frame = np.full(FRAME, 1000, dtype=np.int16)
    for n in range(20):  # a burst of 400 ms
        playout.push(n * FRAME, frame)
    assert playout.read() is not None
    assert playout.skipped == 17 * FRAME  # jumped to three frames behind the newest
    assert playout.read() is not None
    assert playout.read() is not None
    assert playout.read() is None  # drained: waits for depth again
    playout.push(0, frame)
    assert playout.late == 1


@pytest.mark.parametrize("order", ["in_order", "jittered"])
@pytest.mark.parametrize("room", ["pcmu", "pcmu_and_pcma"])
def test_g711_packets_mix_exactly_as_their_samples(room: str, order: str) -> None:
    laws = {"a": g711.PCMU, "b": g711.PCMA if room == "pcmu_and_pcma" else g711.PCMU, "c": g711.PCMU}
    coded, plain = Mixer(), Mixer()
    for key, law in laws.items():
        coded.join(key, law=law, tone_to_others=False)
        plain.join(key, tone_to_others=False)
    rng = random.Random(3)
    pending: list[tuple[str, int, bytes]] = []
    heard: dict[str, list[Pcm]] = {key: [] for key in laws}
    for n in range(50):
        for key, pcm in sources().items():
            payload = g711.encode(laws[key], pcm[n * FRAME : (n + 1) * FRAME])
            pending.append((key, (1000 * ord(key) + n * FRAME) & 0xFFFFFFFF, payload))
        if order == "jittered" and n % 3 != 2:
            continue
        if order == "jittered":
            rng.shuffle(pending)
            pending += pending[:2]
        for key, timestamp, payload in pending:
            packet = rtp.parse(rtp.build(laws[key], n, timestamp, ord(key), payload))
            coded.members[key].playout.push_rtp(None, packet, b"")
            plain.push(key, timestamp, g711.decode(laws[key], payload))
        pending.clear()
        from_packets, from_samples = coded.tick(), plain.tick()
        for key in laws:
            assert np.array_equal(from_packets[key], from_samples[key]), (n, key)
            heard[key].append(from_packets[key])
    for listener, frames in heard.items():
        steady = np.concatenate(frames)[10 * FRAME : 45 * FRAME]
        for speaker, hz in HZ.items():
            assert (level_at(steady, hz) > 5000) == (speaker != listener), (listener, speaker)
        assert level_at(steady, HZ[listener]) < 150  # G.711 noise of the others only


def test_telephone_events_and_empty_packets_are_not_mixed() -> None:
    playout = Playout(depth=FRAME)
    playout.push_rtp(None, rtp.parse(rtp.build(101, 1, 0, 5, b"\x01\x0a\x00\xa0")), b"")
    playout.push_rtp(None, rtp.parse(rtp.build(0, 2, 0, 5, b"")), b"")
    assert playout.read() is None
    playout.push_rtp(None, rtp.parse(rtp.build(8, 3, 0, 5, g711.encode(8, tone(500.0, 20, -6.0)))), b"")
    frame = playout.read()  # another law than the participant's: decoded on arrival
    assert isinstance(frame, np.ndarray)
    assert level_at(frame, 500.0) > 10000
