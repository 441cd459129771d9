"""The embedded engine's own limits: its port range, unknown sessions, garbage on a leg's port."""

from __future__ import annotations

import asyncio

import pytest

from media.peers import Peer, media_port, sdp
from netports import free_port
from nuage.media.engine import EmbeddedMediaEngine
from nuage.sip.media import MediaUnavailable, Side, UnknownSession
from waiting import wait_for_condition


async def test_a_full_port_range_is_a_clear_error_and_release_frees_it() -> None:
    low = free_port(span=4)
    low += low % 2
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 3)  # two RTP/RTCP pairs: one call
    await engine.allocate("first")
    with pytest.raises(MediaUnavailable):
        await engine.allocate("second")
    await engine.release("first")
    await engine.allocate("second")
    with pytest.raises(UnknownSession):
        await engine.quality("first")
    await engine.close()


@pytest.mark.parametrize("forwarders", [0, 1], ids=["in-process", "forwarder"])
async def test_garbage_on_a_legs_port_is_dropped_and_the_call_goes_on(forwarders: int) -> None:
    low = free_port(span=8)
    engine = EmbeddedMediaEngine("127.0.0.1", low, low + 7, forwarder_processes=forwarders)
    caller, callee = await Peer.start(), await Peer.start()
    to_callee_side = media_port(await engine.offer("call", sdp(caller.port, "1")))
    to_caller_side = media_port(await engine.answer("call", sdp(callee.port, "2")))
    for junk in (b"\x80", b"\x00" * 5, b"\x40" + bytes(30), b"\x8f" + bytes(11)):
        caller.send_raw(junk, to_caller_side)
    await asyncio.gather(
        caller.send_tone(to_caller_side, 440, 200), callee.send_tone(to_callee_side, 1000, 200)
    )
    await wait_for_condition(lambda: len(callee.received) >= 10)
    figures = await engine.quality("call")  # a forwarder's figures come back with the leg's state
    assert figures.caller.packets == 10
    assert figures.caller.lost == 0
    leg = engine._session("call").legs[Side.CALLER]
    assert leg.garbage == 4
    assert leg.latched == ("127.0.0.1", caller.port)
    await engine.close()
    caller.close()
    callee.close()
