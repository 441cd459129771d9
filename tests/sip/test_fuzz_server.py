"""Mutation fuzzing (fixed seed, bounded count): through the parser, then through a running server.

The parser may only ever return a message or raise SipParseError; the server may only ever answer
with something other than a 500, and nothing may be logged as an error or reach the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator

import pytest

from nuage.sip import SipSettings
from nuage.sip.message import SipParseError, SipRequest, parse_message
from nuage.sip.security import SecuritySettings
from sip.fuzzing import mutate, templates
from sip.harness import Lab
from waiting import wait_for_condition

COUNT = 3000
SEED = 20


@pytest.fixture
def lab_settings() -> SipSettings:
    return SipSettings(
        listen_port=0,
        t1_s=0.05,
        t2_s=0.4,
        no_answer_timeout_s=2.0,
        cdr_flush_interval_ms=50,
        security=SecuritySettings(rate_per_s=0, max_auth_failures=0),
    )


def test_mutated_messages_only_ever_raise_the_parsers_error() -> None:
    rng = random.Random(SEED)
    corpus = templates(5060, 5070)
    parsed = 0
    for serial in range(COUNT):
        data = mutate(rng.choice(corpus), rng, serial)
        try:
            message = parse_message(data)
            if isinstance(message, SipRequest):
                message.uri  # noqa: B018
            message.from_addr  # noqa: B018
            message.to_addr  # noqa: B018
            message.contacts  # noqa: B018
            message.vias  # noqa: B018
            message.int_header("expires")
            message.to_bytes()
        except SipParseError:
            continue
        parsed += 1
    assert 0 < parsed < COUNT  # the mutations make both kinds


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.markers: set[bytes] = set()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if data.startswith(b"SIP/2.0 "):
            if b"Call-ID: mark-" in data:
                self.markers.add(data.split(b"Call-ID: ", 1)[1].split(b"\r\n", 1)[0])
            else:
                self.statuses.append(int(data[8:11]))


async def _until_answered(
    transport: asyncio.DatagramTransport, protocol: _Collector, marker: bytes, mark: bytes, port: int
) -> None:
    """Send ``marker`` until it is answered, as a UDP client retransmits (RFC 3261 timer E): on a
    loaded machine a datagram may be dropped from a full socket buffer; each copy is the same
    transaction, so the server answers it from its transaction layer."""
    for _ in range(30):
        transport.sendto(marker, ("127.0.0.1", port))
        with contextlib.suppress(AssertionError):
            await wait_for_condition(lambda: mark in protocol.markers, timeout=2, what="the marker")
            return
    raise AssertionError(f"the server never answered {mark.decode()} (60 s)")


@pytest.fixture
async def collector() -> AsyncIterator[tuple[asyncio.DatagramTransport, _Collector]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
    yield transport, protocol
    transport.close()


async def test_mutated_requests_never_get_a_500_nor_an_error_in_the_server(
    lab: Lab, collector: tuple[asyncio.DatagramTransport, _Collector], caplog: pytest.LogCaptureFixture
) -> None:
    transport, protocol = collector
    loop = asyncio.get_running_loop()
    escaped: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: escaped.append(context))
    caplog.set_level(logging.ERROR, logger="nuage")
    rng = random.Random(SEED)
    corpus = templates(lab.port, transport.get_extra_info("sockname")[1])
    options = corpus[2]
    try:
        for serial in range(COUNT):
            transport.sendto(mutate(rng.choice(corpus), rng, serial), ("127.0.0.1", lab.port))
            if serial % 50 == 49 or serial == COUNT - 1:
                # a marker after each batch: once it is answered, the server has read the batch
                # (its socket buffer is finite); the last one proves it still serves
                mark = f"mark-{serial}".encode()
                marker = options.replace(b"fuzz-2", mark).replace(b"z9hG4bKfz", b"z9hG4bK" + mark)
                await _until_answered(transport, protocol, marker, mark, lab.port)
    finally:
        loop.set_exception_handler(None)
    assert len(protocol.statuses) > COUNT // 10
    assert 500 not in protocol.statuses
    assert escaped == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
