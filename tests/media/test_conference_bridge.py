"""A conference room over real RTP on loopback (CFG-8): three phones each send their own tone to the
engine's ports; each hears the two others and not itself, in its own codec; mute, kick, recording."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile

from media.peers import Peer
from netports import free_port, release
from nuage.media.conference import ConferenceBridge
from nuage.media.engine import EmbeddedMediaEngine
from nuage.media.g711 import Pcm
from nuage.shared.clock import FrozenClock
from waiting import wait_for_condition

HZ = {"a": 500.0, "b": 1100.0, "c": 1700.0}
PT = {"a": 0, "b": 8, "c": 0}


def level_at(pcm: Pcm, hz: float) -> float:
    t = np.arange(len(pcm)) / 8000
    x = pcm.astype(np.float64)
    return float(
        2 * np.hypot(np.dot(x, np.sin(2 * np.pi * hz * t)), np.dot(x, np.cos(2 * np.pi * hz * t))) / len(pcm)
    )


@pytest.fixture
async def engine() -> AsyncIterator[EmbeddedMediaEngine]:
    block = free_port(span=401)
    low = block + block % 2  # RTP on even ports
    media = EmbeddedMediaEngine("127.0.0.1", low, low + 399)
    yield media
    await media.close()
    release(block, 401)  # a wide block: the zone they come from is not endless


@pytest.fixture
async def phones() -> AsyncIterator[dict[str, Peer]]:
    peers = {key: await Peer.start() for key in HZ}
    yield peers
    for peer in peers.values():
        peer.close()


async def join_all(bridge: ConferenceBridge, phones: dict[str, Peer]) -> dict[str, int]:
    return {
        key: await bridge.add(key, f"Phone {key}", payload_type=PT[key], remote=("127.0.0.1", phone.port))
        for key, phone in phones.items()
    }


async def test_three_phones_hear_each_other_and_not_themselves(
    engine: EmbeddedMediaEngine, phones: dict[str, Peer]
) -> None:
    bridge = ConferenceBridge("conf_1", engine.bind_endpoint, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    ports = await join_all(bridge, phones)
    try:
        await asyncio.gather(*(phones[key].send_tone(ports[key], HZ[key], 2000, pt=PT[key]) for key in HZ))
        await wait_for_condition(lambda: all(len(p.audio(PT[k])) >= 8000 for k, p in phones.items()))
    finally:
        await bridge.close()
    for listener, phone in phones.items():
        pcm = phone.audio(PT[listener])
        loudest = pcm[np.argmax(np.abs(pcm) > 1000) :][:8000]  # one second once the mix arrives
        assert len(loudest) >= 4000, listener
        for speaker, hz in HZ.items():
            level = level_at(loudest, hz)
            if speaker == listener:
                assert level < 150, (listener, speaker, level)  # G.711 noise only
            else:
                assert level > 2000, (listener, speaker, level)


async def test_mute_and_kick(engine: EmbeddedMediaEngine, phones: dict[str, Peer], tmp_path: Path) -> None:
    bridge = ConferenceBridge("conf_2", engine.bind_endpoint, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    ports = await join_all(bridge, phones)
    bridge.set_muted("a", True)
    assert bridge.remove("b")
    assert not bridge.remove("b")
    assert [p.key for p in bridge.participants.values()] == ["a", "c"]
    bridge.start_recording(tmp_path / "room.flac")
    try:
        phones["b"].received.clear()
        await asyncio.gather(*(phones[k].send_tone(ports[k], HZ[k], 1500, pt=PT[k]) for k in ("a", "c")))
        await wait_for_condition(lambda: len(phones["a"].audio(0)) >= 8000)
        recording = await bridge.stop_recording()
    finally:
        await bridge.close()
    heard_by_c = phones["c"].audio(0)
    assert level_at(heard_by_c[-6000:], HZ["a"]) < 150  # muted: nobody hears a
    heard_by_a = phones["a"].audio(0)
    assert level_at(heard_by_a[-6000:], HZ["c"]) > 2000  # but a hears c
    assert not phones["b"].received  # kicked: b gets nothing more
    assert recording.bytes_stored > 0
    assert recording.duration_s > 1
    mix, rate = soundfile.read(str(recording.path), dtype="int16")
    assert rate == 8000
    assert level_at(mix[-6000:], HZ["c"]) > 2000


async def test_a_newcomer_leaves_the_others_streams_unbroken_and_hears_the_room(
    engine: EmbeddedMediaEngine, phones: dict[str, Peer]
) -> None:
    bridge = ConferenceBridge("conf_3", engine.bind_endpoint, FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    ports = {
        key: await bridge.add(
            key, f"Phone {key}", payload_type=PT[key], remote=("127.0.0.1", phones[key].port)
        )
        for key in ("a", "b")
    }
    try:
        talking = asyncio.gather(*(phones[k].send_tone(ports[k], HZ[k], 2500, pt=PT[k]) for k in ("a", "b")))
        await wait_for_condition(lambda: len(phones["a"].received) >= 20)
        ports["c"] = await bridge.add(
            "c", "Phone c", payload_type=PT["c"], remote=("127.0.0.1", phones["c"].port)
        )
        await phones["c"].send_tone(ports["c"], HZ["c"], 1000, pt=PT["c"])
        await talking
        await wait_for_condition(lambda: len(phones["c"].audio(0)) >= 8000)
    finally:
        await bridge.close()
    for key in ("a", "b"):  # the packets they got before and after the room changed: one stream
        packets = phones[key].received
        assert len({p.ssrc for p in packets}) == 1
        assert {p.payload_type for p in packets} == {PT[key]}
        pairs = list(itertools.pairwise(packets))
        assert all((q.sequence - p.sequence) & 0xFFFF == 1 for p, q in pairs)
        assert all((q.timestamp - p.timestamp) & 0xFFFFFFFF == 160 for p, q in pairs)
        assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    heard_by_c = phones["c"].audio(0)
    loud = heard_by_c[np.argmax(np.abs(heard_by_c) > 1000) :][:4000]
    assert len(loud) == 4000
    assert level_at(loud, HZ["a"]) > 2000
    assert level_at(loud, HZ["b"]) > 2000
    assert level_at(loud, HZ["c"]) < 150
    assert phones["c"].received[0].marker
