"""The room's outgoing packets (CFG-8): the mix of a whole room encoded into each participant's RTP
packet, checked on the bytes that leave: headers that continue across ticks and wraps, payloads
that are exactly the others' saturated sum in each participant's law."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from nuage.media import g711, rtp
from nuage.media.g711 import Pcm
from nuage.media.mixer import Mixer
from nuage.media.outbox import SLOTS, Outbox
from nuage.media.player import FRAME, tone


def collect(into: list[bytes]) -> Callable[[memoryview], None]:
    return lambda packet: into.append(bytes(packet))


def feed(
    mixer: Mixer, voices: dict[str, Pcm], laws: dict[str, int], ticks: int, first: int = 0
) -> list[dict[str, Pcm]]:
    """Send each voice as 20 ms RTP packets (packet ``first`` on) in its member's law, one per
    tick; the decoded input per tick."""
    said: list[dict[str, Pcm]] = []
    for n in range(first, first + ticks):
        frames = {}
        for i, (key, pcm) in enumerate(voices.items()):
            payload = g711.encode(laws[key], pcm[n * FRAME : (n + 1) * FRAME])
            packet = rtp.parse(rtp.build(laws[key], n, 5000 + n * FRAME, 77 + i, payload))
            mixer.members[key].playout.push_rtp(None, packet, b"")
            frames[key] = g711.decode(laws[key], payload)
        said.append(frames)
    return said


@pytest.mark.parametrize("alaw_every", [0, 3], ids=["all-pcmu", "pcmu-and-pcma"])
def test_fifty_speakers_each_get_exactly_the_others_sum_saturated(alaw_every: int) -> None:
    keys = [f"p{i}" for i in range(50)]
    laws = {key: g711.PCMA if alaw_every and i % alaw_every == 0 else g711.PCMU for i, key in enumerate(keys)}
    mixer = Mixer(depth=FRAME)
    for key in keys:
        mixer.join(key, law=laws[key], tone_to_others=False)
    voices = {key: tone(200 + 37 * i, 200, -14.0) for i, key in enumerate(keys)}  # 50 × -14 dBFS saturates
    sent: dict[str, list[bytes]] = {key: [] for key in keys}
    outbox = Outbox(
        [(laws[key], 100, 1000, 9 + i, True) for i, key in enumerate(keys)], [collect(sent[k]) for k in keys]
    )
    saturated = 0
    for said in feed(mixer, voices, laws, 6):
        outbox.send(mixer.mix())
        total = sum(frame.astype(np.int64) for frame in said.values())
        for key in keys:
            exact = total - said[key]
            saturated += int(np.count_nonzero(np.abs(exact) > 32767))
            expected = g711.encode(laws[key], np.clip(exact, -32768, 32767).astype(np.int16))
            assert rtp.parse(sent[key][-1]).payload == expected, key
    assert saturated > 0  # the case where clipping matters was exercised


def test_headers_continue_across_ticks_and_wraps() -> None:
    sent: list[bytes] = []
    wrapping = (g711.PCMA, 0xFFF0, 2**32 - 2000, 0xDEADBEEF, True)
    other = (g711.PCMU, 7, 123_456, 42, False)
    outbox = Outbox([wrapping, other], [collect(sent), collect([])])
    silence = np.full((2, FRAME), g711.BIAS, dtype=np.intp)
    ticks = 3 * SLOTS + 5  # across several refills of the prebuilt headers
    for _ in range(ticks):
        outbox.send(silence)
    packets = [rtp.parse(data) for data in sent]
    assert [p.sequence for p in packets] == [(0xFFF0 + n) & 0xFFFF for n in range(ticks)]
    assert [p.timestamp for p in packets] == [(2**32 - 2000 + n * FRAME) % 2**32 for n in range(ticks)]
    assert packets[20].sequence == 4  # wrapped
    assert packets[20].timestamp == 1200  # wrapped
    assert [p.marker for p in packets] == [True] + [False] * (ticks - 1)
    assert {p.ssrc for p in packets} == {0xDEADBEEF}
    assert {p.payload_type for p in packets} == {g711.PCMA}
    assert {p.payload for p in packets} == {g711.encode(g711.PCMA, np.zeros(FRAME, dtype=np.int16))}
    assert outbox.state(0) == ((0xFFF0 + ticks) & 0xFFFF, (2**32 - 2000 + ticks * FRAME) % 2**32)
    assert outbox.state(1) == (7 + ticks, 123_456 + ticks * FRAME)


@pytest.mark.parametrize("law", [g711.PCMU, g711.PCMA])
def test_listeners_hear_exactly_the_speaker_and_silence_when_nobody_speaks(law: int) -> None:
    mixer = Mixer(depth=FRAME)
    for key in ("a", "b", "c"):
        mixer.join(key, law=law, tone_to_others=False)
    heard = mixer.mix()
    assert np.array_equal(heard, np.full((3, FRAME), g711.BIAS))  # nobody yet: silence for all
    voice = tone(700.0, 100, -6.0)
    feed(mixer, {"a": voice}, {"a": law}, 1)  # b and c silent: rows of silence (A-law has no 0)
    pcm = mixer.tick()
    decoded = g711.decode(law, g711.encode(law, voice[:FRAME]))
    assert not pcm["a"].any()
    assert np.array_equal(pcm["b"], decoded)
    assert np.array_equal(pcm["c"], decoded)
    feed(mixer, {"a": voice}, {"a": law}, 1, first=1)
    assert mixer.tick()["b"].any()
    mixer.set_muted("a", True)
    feed(mixer, {"a": voice}, {"a": law}, 1, first=2)
    assert not any(frame.any() for frame in mixer.tick().values())  # muted: nobody hears a
