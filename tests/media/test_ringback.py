"""The ringback tone (issue #16) on both media engines: a caller anchored on the engine hears 425 Hz
with energy in 1 s bursts that start 5 s apart (1 s on, 4 s off); once it is stopped, what the far
end sends reaches the caller again."""

from __future__ import annotations

import time
import uuid

import numpy as np

from media.conftest import Events
from media.peers import Peer, media_port, sdp
from media.test_voicemail_wired import pure_tone
from nuage.media import g711
from nuage.sip.b2bua.media import CallMedia, MediaServices
from nuage.sip.b2bua.ringback import RINGBACK_HZ, Ringback
from nuage.sip.media import MediaPort, Side
from waiting import wait_for_condition

Engine = tuple[MediaPort, Events]


class TimedPeer(Peer):
    """A test phone that notes when each packet arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.arrivals.append(time.monotonic())
        super().datagram_received(data, addr)


def bursts(arrivals: list[float]) -> list[tuple[int, int]]:
    """The packets' index ranges separated by more than a second of nothing."""
    found: list[tuple[int, int]] = []
    start = 0
    for n in range(1, len(arrivals) + 1):
        if n == len(arrivals) or arrivals[n] - arrivals[n - 1] > 1.0:
            found.append((start, n))
            start = n
    return found


def two_in_a_row(arrivals: list[float]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The first two bursts in a row of at least 45 packets each (the second may still be coming).

    Arrival times are taken when this process reads a packet: a loaded machine that leaves it
    unscheduled for more than a second in a burst splits that burst in two, so the bursts after it
    are the ones measured."""
    found = bursts(arrivals)
    for first, second in zip(found, found[1:], strict=False):
        if first[1] - first[0] >= 45 and second[1] - second[0] >= 45:
            return first, second
    return None


async def test_the_ringback_cadence_reaches_the_caller(engine: Engine) -> None:
    port, _ = engine
    call_id = f"ringback-{uuid.uuid4().hex[:10]}"
    caller, callee = await TimedPeer.start(), await Peer.start()
    try:
        await port.allocate(call_id)
        to_callee_side = media_port(await port.offer(call_id, sdp(caller.port, "1")))
        to_caller_side = media_port(await port.answer(call_id, sdp(callee.port, "2")))
        await caller.send_tone(to_caller_side, 300, 100)  # the engine latches on the caller
        media = CallMedia(MediaServices(port), call_id)
        ringback = Ringback(media, Side.CALLER)
        ringback.start()

        await wait_for_condition(
            lambda: two_in_a_row(caller.arrivals) is not None, 30, 0.05, "two bursts of ringback"
        )
        await ringback.close()
        assert not ringback.playing
        pair = two_in_a_row(caller.arrivals)
        assert pair is not None
        first, second = pair
        for start, end in (first, second):
            pcm = np.concatenate([g711.decode(0, p.payload) for p in caller.received[start:end]])
            assert pure_tone(pcm[800:-800], RINGBACK_HZ)  # 425 Hz, with energy
        assert 45 <= first[1] - first[0] <= 55  # 1 s on: 50 packets of 20 ms
        assert caller.arrivals[second[0]] - caller.arrivals[first[1] - 1] >= 3.0  # then 4 s off
        assert caller.arrivals[second[0]] - caller.arrivals[first[0]] >= 4.0  # a burst every 5 s
        mark = len(caller.received)  # stopped: what the far end sends reaches the caller again
        await callee.send_tone(to_callee_side, 1000, 600)

        def far_end_heard() -> bool:
            chunks = [g711.decode(0, p.payload) for p in caller.received[mark:] if p.payload_type == 0]
            return bool(chunks) and pure_tone(np.concatenate(chunks)[-1600:], 1000)

        await wait_for_condition(far_end_heard, 10, what="the far end after the ringback")
    finally:
        await port.release(call_id)
        caller.close()
        callee.close()
