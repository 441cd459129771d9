"""UDPTL (T.38 §9.1): the packet codec against bytes written from the ASN.1, loss recovery by
redundancy and by FEC, bounds, and two endpoints over loopback with datagrams lost on the way."""

from __future__ import annotations

import asyncio

import pytest

from netports import free_port
from nuage.media.udptl import MAX_DATAGRAM, Reassembly, UdptlEndpoint, UdptlError, UdptlPacket
from waiting import wait_for_condition


def test_a_redundancy_packet_is_written_as_the_asn1_says() -> None:
    packet = UdptlPacket(0x0102, b"\x06\x07", (b"\x04", b"\x02"))
    wire = bytes([0x01, 0x02, 0x02, 0x06, 0x07, 0x00, 0x02, 0x01, 0x04, 0x01, 0x02])
    assert packet.encode() == wire
    assert UdptlPacket.decode(wire) == packet


def test_an_fec_packet_is_read_with_its_span_and_entries() -> None:
    wire = bytes([0x00, 0x09, 0x01, 0xAA, 0x80, 0x01, 0x03, 0x02, 0x01, 0x11, 0x02, 0x22, 0x33])
    packet = UdptlPacket.decode(wire)
    assert (packet.seq, packet.primary, packet.fec_span, packet.fec) == (
        9,
        b"\xaa",
        3,
        (b"\x11", b"\x22\x33"),
    )
    assert packet.encode() == wire
    # entry 0 covers every 2nd of the 6 packets before 9 from the first; entry 1 the others
    assert [covered for _, covered in packet.fec_sets()] == [[3, 5, 7], [4, 6, 8]]


def test_a_long_ifp_takes_a_two_octet_length() -> None:
    packet = UdptlPacket(7, bytes(200))
    wire = packet.encode()
    assert wire[2:4] == bytes([0x80, 200])
    assert UdptlPacket.decode(wire) == packet


@pytest.mark.parametrize(
    "wire",
    [
        b"\x00\x01\x05\x01",  # primary longer than the datagram
        b"\x00\x01\x01\x06\x00\x01",  # a secondary announced, none there
        b"\x00\x01\x01\x06\x00\x00\xff",  # trailing bytes
        b"\x00\x01\x01\x06\x00\x11" + b"\x01\x00" * 17,  # more secondaries than we accept
        b"\x00\x01\xc1\x06\x00\x00",  # a fragmented length
        b"\x00\x01\x01\x06\x00\x00" + bytes(MAX_DATAGRAM),  # over the size we accept
    ],
)
def test_what_is_not_a_udptl_packet_we_accept_is_refused(wire: bytes) -> None:
    with pytest.raises(UdptlError):
        UdptlPacket.decode(wire)


def test_a_lost_packet_comes_back_from_the_next_ones_redundancy_in_order() -> None:
    rx = Reassembly()
    assert rx.feed(UdptlPacket(10, b"a")) == [(10, b"a")]
    # 11 and 12 lost; 13 carries them as secondaries (most recent first)
    assert rx.feed(UdptlPacket(13, b"d", (b"c", b"b", b"a"))) == [(11, b"b"), (12, b"c"), (13, b"d")]
    assert rx.feed(UdptlPacket(12, b"c", (b"b", b"a"))) == []  # late: already handed on
    assert rx.feed(UdptlPacket(13, b"d")) == []  # a copy
    assert (rx.recovered, rx.lost) == (2, 0)
    assert rx.feed(UdptlPacket(20, b"k", (b"j",))) == [(19, b"j"), (20, b"k")]
    assert rx.lost == 5  # 14 to 18: beyond what the redundancy carried


def test_a_lost_packet_is_rebuilt_from_fec() -> None:
    rx = Reassembly()
    data = {seq: bytes([seq + 1, (seq * 37) % 256, 0x40]) for seq in range(4)}
    rx.feed(UdptlPacket(0, data[0]))
    rx.feed(UdptlPacket(1, data[1]))
    parity = bytes(a ^ b ^ c for a, b, c in zip(data[0], data[1], data[2], strict=True))
    # 2 lost; 3 carries one FEC entry over the 3 packets before it
    assert rx.feed(UdptlPacket(3, data[3], (), (parity,), 3)) == [(2, data[2]), (3, data[3])]
    assert (rx.recovered, rx.lost) == (1, 0)


def test_sequence_numbers_wrap_and_a_wild_jump_restarts_the_stream() -> None:
    rx = Reassembly()
    rx.feed(UdptlPacket(0xFFFF, b"x"))
    assert rx.feed(UdptlPacket(0, b"y")) == [(0, b"y")]
    assert rx.feed(UdptlPacket(30000, b"z")) == [(30000, b"z")]


async def test_two_endpoints_exchange_ifp_packets_in_order_despite_losses() -> None:
    received: list[tuple[int, bytes]] = []

    class Lossy(UdptlEndpoint):
        sent_count = 0

        def _transmit(self, datagram: bytes) -> None:
            self.sent_count += 1
            if self.sent_count % 4 != 0:  # every fourth datagram is lost
                super()._transmit(datagram)

    sender = Lossy(lambda seq, ifp: None, redundancy=3, far_max_datagram=400)
    receiver = UdptlEndpoint(lambda seq, ifp: received.append((seq, ifp)))
    await sender.bind("127.0.0.1", free_port())
    await receiver.bind("127.0.0.1", free_port())
    try:
        sender.connect(("127.0.0.1", receiver.port))
        for n in range(1, 41):
            sender.send(bytes([n]) * 10)
            await asyncio.sleep(0)
        await wait_for_condition(lambda: len(received) >= 39, timeout=10, what="the IFP packets")
    finally:
        sender.close()
        receiver.close()
    # the 40th was lost and nothing came after it; every other one arrived, in order
    assert received == [(n - 1, bytes([n]) * 10) for n in range(1, 40)]
    assert receiver.reassembly.recovered == 9
    assert receiver.latched == ("127.0.0.1", sender.port)


def test_redundancy_stays_within_the_far_ends_datagram_size() -> None:
    endpoint = UdptlEndpoint(lambda seq, ifp: None, redundancy=3, far_max_datagram=100)
    sent: list[bytes] = []
    endpoint._transmit = sent.append  # type: ignore[method-assign]
    for n in range(4):
        endpoint.send(bytes([n]) * 40)
    assert all(len(datagram) <= 100 for datagram in sent)
    assert [len(UdptlPacket.decode(d).secondaries) for d in sent] == [0, 1, 1, 1]
