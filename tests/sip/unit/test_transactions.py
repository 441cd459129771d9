"""Transaction state machines and timers (RFC 3261 §17) with a short T1 and a fake transport."""

from __future__ import annotations

import asyncio

from nuage.sip.message import SipRequest, SipResponse, parse_message
from nuage.sip.transactions import ServerTransaction, Timers, TransactionLayer, TxState, make_response
from nuage.sip.transport import Address

T1 = 0.02
TIMERS = Timers(t1=T1, t2=4 * T1, t4=5 * T1)
PEER = Address("UDP", "127.0.0.1", 5099)


class FakeTransport:
    name = "UDP"
    reliable = False
    local = Address("UDP", "127.0.0.1", 5060)

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Address]] = []

    def send(self, data: bytes, destination: Address) -> None:
        self.sent.append((data, destination))

    def close(self) -> None:
        pass

    def first_lines(self) -> list[str]:
        return [data.split(b"\r\n", 1)[0].decode() for data, _ in self.sent]


class RecordingUser:
    def __init__(self) -> None:
        self.requests: list[ServerTransaction] = []
        self.acks: list[SipRequest] = []
        self.cancelled: list[ServerTransaction] = []

    def on_request(self, transaction: ServerTransaction) -> None:
        self.requests.append(transaction)

    def on_ack(self, request: SipRequest, source: Address) -> None:
        self.acks.append(request)

    def on_cancel(self, invite: ServerTransaction) -> None:
        self.cancelled.append(invite)

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        pass


def request(method: str, branch: str = "z9hG4bKtest1", cseq: int = 1) -> SipRequest:
    data = (
        f"{method} sip:bob@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5099;branch={branch}\r\n"
        "From: <sip:alice@h>;tag=a\r\nTo: <sip:bob@h>\r\nCall-ID: c1\r\n"
        f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


def setup() -> tuple[TransactionLayer, FakeTransport, RecordingUser]:
    user = RecordingUser()
    layer = TransactionLayer(user, TIMERS, asyncio.get_running_loop())
    return layer, FakeTransport(), user


async def test_non_invite_client_retransmits_until_timeout_then_reports_none() -> None:
    layer, transport, _ = setup()
    results: list[SipResponse | None] = []
    layer.send_request(request("OPTIONS"), PEER, results.append, transport=transport)
    await asyncio.sleep(64 * T1 + 0.1)
    assert results == [None]
    # E: T1, 2T1, 4T1, then T2 (=4T1) until F at 64 T1 -> about 1 + 3 + 60/4 sends
    assert 12 <= len(transport.sent) <= 20
    assert layer.counts == (0, 0)


async def test_invite_client_stops_retransmitting_on_1xx_and_acks_a_final_error_once_reported() -> None:
    layer, transport, _ = setup()
    invite = request("INVITE")
    results: list[SipResponse | None] = []
    layer.send_request(invite, PEER, results.append, transport=transport)
    await asyncio.sleep(3.5 * T1)  # timer A: sends at 0, T1, 3T1
    assert len(transport.sent) == 3
    layer.receive(make_response(invite, 180, to_tag="b"), PEER, transport)
    await asyncio.sleep(4 * T1)
    assert len(transport.sent) == 3
    busy = make_response(invite, 486, to_tag="b")
    layer.receive(busy, PEER, transport)
    layer.receive(busy, PEER, transport)  # retransmission: ACKed again, not reported again
    assert [r.status for r in results if r] == [180, 486]
    acks = [line for line in transport.first_lines() if line.startswith("ACK")]
    assert len(acks) == 2


async def test_cancel_waits_for_a_provisional_response() -> None:
    layer, transport, _ = setup()
    invite = request("INVITE")
    client = layer.send_request(invite, PEER, lambda r: None, transport=transport)
    client.cancel()
    assert not any(line.startswith("CANCEL") for line in transport.first_lines())
    layer.receive(make_response(invite, 180, to_tag="b"), PEER, transport)
    cancels = [data for data, _ in transport.sent if data.startswith(b"CANCEL")]
    assert len(cancels) == 1
    assert b"branch=z9hG4bKtest1" in cancels[0]


async def test_invite_server_absorbs_retransmissions_and_resends_the_final_until_ack() -> None:
    layer, transport, user = setup()
    invite = request("INVITE")
    layer.receive(invite, PEER, transport)
    (tx,) = user.requests
    tx.reply(180, to_tag="x")
    layer.receive(request("INVITE"), PEER, transport)  # retransmitted INVITE: 180 again, no new request
    assert len(user.requests) == 1
    assert transport.first_lines() == ["SIP/2.0 180 Ringing", "SIP/2.0 180 Ringing"]
    tx.reply(486, to_tag="x")
    await asyncio.sleep(3.5 * T1)  # timer G: resends at T1 and 3T1
    assert transport.first_lines().count("SIP/2.0 486 Busy Here") == 3
    layer.receive(request("ACK"), PEER, transport)
    assert tx.state is TxState.CONFIRMED
    assert user.acks == []  # absorbed by the transaction
    await asyncio.sleep(4 * T1)
    assert transport.first_lines().count("SIP/2.0 486 Busy Here") == 3


async def test_non_invite_server_answers_a_retransmission_with_the_last_response() -> None:
    layer, transport, user = setup()
    layer.receive(request("OPTIONS"), PEER, transport)
    user.requests[0].reply(200)
    layer.receive(request("OPTIONS"), PEER, transport)
    assert transport.first_lines() == ["SIP/2.0 200 OK", "SIP/2.0 200 OK"]
    assert len(user.requests) == 1


async def test_cancel_gets_200_and_tells_the_user_about_the_invite() -> None:
    layer, transport, user = setup()
    layer.receive(request("INVITE"), PEER, transport)
    layer.receive(request("CANCEL"), PEER, transport)
    assert transport.first_lines() == ["SIP/2.0 200 OK"]
    assert user.cancelled == user.requests
    layer.receive(request("CANCEL", branch="z9hG4bKother"), PEER, transport)
    assert transport.first_lines()[-1].startswith("SIP/2.0 481")


async def test_ack_of_a_2xx_goes_to_the_user() -> None:
    layer, transport, user = setup()
    layer.receive(request("ACK", branch="z9hG4bKnew"), PEER, transport)
    assert len(user.acks) == 1


async def test_response_routing_uses_received_and_rport() -> None:
    layer, transport, user = setup()
    invite = request("INVITE")
    invite.headers.set("via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;received=192.0.2.9;rport=40000")
    layer.receive(invite, PEER, transport)
    user.requests[0].reply(100)
    assert transport.sent[-1][1] == Address("UDP", "192.0.2.9", 40000)


async def test_coarse_timers_fire_together_at_slot_ends_and_can_be_cancelled() -> None:
    from nuage.sip.transactions import CoarseTimers

    loop = asyncio.get_running_loop()
    wheel = CoarseTimers(loop, resolution=0.05)
    fired: list[str] = []
    wheel.call_later(0.01, lambda: fired.append("a"))
    wheel.call_later(0.02, lambda: fired.append("b"))
    cancelled = wheel.call_later(0.02, lambda: fired.append("never"))
    wheel.call_later(0.12, lambda: fired.append("c"))
    cancelled.cancel()
    await asyncio.sleep(0.11)
    assert fired == ["a", "b"]
    await asyncio.sleep(0.1)
    assert fired == ["a", "b", "c"]
    assert len(wheel) == 0
