"""Transaction state machines and their timers (RFC 3261 §17) on virtual time.

The layer runs with the RFC's own timer values (T1 = 500 ms, T2 = 4 s, T4 = 5 s) on a
``VirtualScheduler``: a test moves the time on and every timer due fires at its own instant, so
timeouts of 32 s are proven at once and exactly, whatever the machine's load. Messages go out
on an in-memory network that records them.
"""

from __future__ import annotations

import pytest

from nuage.sip.memory_transport import MemoryNetwork, MemoryTransport
from nuage.sip.message import SipRequest, SipResponse, make_response, parse_message
from nuage.sip.timers import CoarseTimers, Timers, VirtualScheduler
from nuage.sip.transaction_layer import TransactionLayer
from nuage.sip.transactions import ServerTransaction, TxState
from nuage.sip.transport import Address

TIMERS = Timers()  # T1 0.5 s, T2 4 s, T4 5 s, 64*T1 = 32 s
T1, T2, T4, B = TIMERS.t1, TIMERS.t2, TIMERS.t4, TIMERS.b
PEER = Address("UDP", "127.0.0.1", 5099)


class RecordingUser:
    """The transaction user: keeps what the layer hands it."""

    def __init__(self) -> None:
        self.requests: list[ServerTransaction] = []
        self.acks: list[SipRequest] = []
        self.cancelled: list[ServerTransaction] = []
        self.stray: list[SipResponse] = []

    def on_request(self, transaction: ServerTransaction) -> None:
        self.requests.append(transaction)

    def on_ack(self, request: SipRequest, source: Address) -> None:
        self.acks.append(request)

    def on_cancel(self, invite: ServerTransaction) -> None:
        self.cancelled.append(invite)

    def on_stray_response(self, response: SipResponse, source: Address) -> None:
        self.stray.append(response)


class Stack:
    """A transaction layer on virtual time, its transport on an in-memory network, its user."""

    def __init__(self) -> None:
        self.clock = VirtualScheduler()
        self.network = MemoryNetwork()
        self.transport: MemoryTransport = self.network.endpoint("127.0.0.1", 5060)
        self.user = RecordingUser()
        self.layer = TransactionLayer(self.user, TIMERS, self.clock)

    def lines(self) -> list[str]:
        return [datagram.first_line for datagram in self.transport.sent()]

    def receive(self, message: SipRequest | SipResponse) -> None:
        self.layer.receive(message, PEER, self.transport)

    def count(self, line: str) -> int:
        return self.lines().count(line)


@pytest.fixture
def stack() -> Stack:
    return Stack()


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


def sends_over_time(stack: Stack, until: float, step: float = T1 / 4) -> list[float]:
    """Advance to ``until`` in small steps; the instants at which something was sent."""
    instants: list[float] = []
    seen = len(stack.transport.sent())
    while stack.clock.time() < until:
        stack.clock.advance(min(step, until - stack.clock.time()))
        now = len(stack.transport.sent())
        instants += [stack.clock.time()] * (now - seen)
        seen = now
    return instants


def test_timers_e_and_f_retransmit_a_non_invite_doubling_to_t2_then_time_out_at_64_t1(stack: Stack) -> None:
    results: list[SipResponse | None] = []
    stack.layer.send_request(request("OPTIONS"), PEER, results.append, transport=stack.transport)
    instants = sends_over_time(stack, B - 0.1)
    # E: T1, 2T1, 4T1 apart, then every T2: 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5
    assert instants == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert results == []
    stack.clock.advance(0.1)  # F: 64 T1 after the request
    assert results == [None]
    assert stack.layer.counts == (0, 0)
    stack.clock.advance(60)
    assert len(stack.transport.sent()) == 11  # nothing more once timed out


def test_timers_a_and_b_retransmit_an_invite_doubling_without_cap_then_time_out(stack: Stack) -> None:
    results: list[SipResponse | None] = []
    stack.layer.send_request(request("INVITE"), PEER, results.append, transport=stack.transport)
    instants = sends_over_time(stack, B - 0.1)
    assert instants == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # A: T1, 2T1, 4T1, 8T1, 16T1, 32T1 apart
    assert results == []
    stack.clock.advance(0.1)  # B
    assert results == [None]
    assert stack.layer.counts == (0, 0)


def test_invite_client_stops_retransmitting_on_1xx_and_acks_a_final_error_once_reported(stack: Stack) -> None:
    invite = request("INVITE")
    results: list[SipResponse | None] = []
    stack.layer.send_request(invite, PEER, results.append, transport=stack.transport)
    stack.clock.advance(3.5 * T1)  # timer A: sends at 0, T1, 3T1
    assert len(stack.transport.sent()) == 3
    stack.receive(make_response(invite, 180, to_tag="b"))
    stack.clock.advance(B * 2)  # neither A nor B once a provisional came (§17.1.1.2)
    assert len(stack.transport.sent()) == 3
    busy = make_response(invite, 486, to_tag="b")
    stack.receive(busy)
    stack.receive(busy)  # retransmission: ACKed again, not reported again
    assert [r.status for r in results if r] == [180, 486]
    assert stack.count("ACK sip:bob@127.0.0.1 SIP/2.0") == 2


def test_timer_d_keeps_a_failed_invite_client_32_s_to_ack_retransmitted_finals(stack: Stack) -> None:
    invite = request("INVITE")
    stack.layer.send_request(invite, PEER, lambda r: None, transport=stack.transport)
    stack.receive(make_response(invite, 486, to_tag="b"))
    stack.clock.advance(31.0)
    assert stack.layer.counts == (0, 1)
    stack.receive(make_response(invite, 486, to_tag="b"))
    assert stack.count("ACK sip:bob@127.0.0.1 SIP/2.0") == 2
    stack.clock.advance(1.5)  # D: 32 s, on the coarse wheel
    assert stack.layer.counts == (0, 0)


def test_timer_k_ends_a_non_invite_client_t4_after_its_final_response(stack: Stack) -> None:
    options = request("OPTIONS")
    stack.layer.send_request(options, PEER, lambda r: None, transport=stack.transport)
    stack.receive(make_response(options, 200))
    stack.clock.advance(T4 - T1)
    assert stack.layer.counts == (0, 1)
    stack.clock.advance(T1)
    assert stack.layer.counts == (0, 0)


def test_cancel_waits_for_a_provisional_response(stack: Stack) -> None:
    invite = request("INVITE")
    client = stack.layer.send_request(invite, PEER, lambda r: None, transport=stack.transport)
    client.cancel()
    assert not any(line.startswith("CANCEL") for line in stack.lines())
    stack.receive(make_response(invite, 180, to_tag="b"))
    cancels = [d.data for d in stack.transport.sent() if d.data.startswith(b"CANCEL")]
    assert len(cancels) == 1
    assert b"branch=z9hG4bKtest1" in cancels[0]


def test_timers_g_and_h_resend_an_invite_error_until_ack_or_64_t1(stack: Stack) -> None:
    stack.receive(request("INVITE"))
    (tx,) = stack.user.requests
    tx.reply(180, to_tag="x")
    stack.receive(request("INVITE"))  # retransmitted INVITE: 180 again, no new request
    assert len(stack.user.requests) == 1
    assert stack.lines() == ["SIP/2.0 180 Ringing", "SIP/2.0 180 Ringing"]
    tx.reply(486, to_tag="x")
    instants = sends_over_time(stack, B - 0.1)
    # G: T1, 2T1, 4T1 apart, then every T2, as long as no ACK comes
    assert instants == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert tx.state is TxState.COMPLETED
    stack.clock.advance(0.6)  # H: 64 T1, on the coarse wheel (T1-wide slots)
    assert tx.state is TxState.TERMINATED
    assert stack.layer.counts == (0, 0)


def test_an_ack_stops_timer_g_and_timer_i_ends_the_transaction_t4_later(stack: Stack) -> None:
    stack.receive(request("INVITE"))
    (tx,) = stack.user.requests
    tx.reply(486, to_tag="x")
    stack.clock.advance(3.5 * T1)  # G resends at T1 and 3T1
    assert stack.count("SIP/2.0 486 Busy Here") == 3
    stack.receive(request("ACK"))
    assert tx.state is TxState.CONFIRMED
    assert stack.user.acks == []  # absorbed by the transaction
    stack.clock.advance(T4 - T1)
    assert stack.count("SIP/2.0 486 Busy Here") == 3
    assert stack.layer.counts == (1, 0)
    stack.clock.advance(2 * T1)  # I: T4 after the ACK, at the end of its T1-wide slot of the coarse wheel
    assert stack.layer.counts == (0, 0)


def test_non_invite_server_answers_a_retransmission_with_the_last_response_until_timer_j(
    stack: Stack,
) -> None:
    stack.receive(request("OPTIONS"))
    stack.user.requests[0].reply(200)
    stack.clock.advance(B - 1)
    stack.receive(request("OPTIONS"))
    assert stack.lines() == ["SIP/2.0 200 OK", "SIP/2.0 200 OK"]
    assert len(stack.user.requests) == 1
    stack.clock.advance(1.5)  # J: 64 T1 after the final response
    assert stack.layer.counts == (0, 0)
    stack.receive(request("OPTIONS"))  # now a new request
    assert len(stack.user.requests) == 2


def test_cancel_gets_200_and_tells_the_user_about_the_invite(stack: Stack) -> None:
    stack.receive(request("INVITE"))
    stack.receive(request("CANCEL"))
    assert stack.lines() == ["SIP/2.0 200 OK"]
    assert stack.user.cancelled == stack.user.requests
    stack.receive(request("CANCEL", branch="z9hG4bKother"))
    assert stack.lines()[-1].startswith("SIP/2.0 481")


def test_ack_of_a_2xx_goes_to_the_user(stack: Stack) -> None:
    stack.receive(request("ACK", branch="z9hG4bKnew"))
    assert len(stack.user.acks) == 1


def test_response_routing_uses_received_and_rport(stack: Stack) -> None:
    invite = request("INVITE")
    invite.headers.set("via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;received=192.0.2.9;rport=40000")
    stack.receive(invite)
    stack.user.requests[0].reply(100)
    assert stack.transport.sent()[-1].destination == Address("UDP", "192.0.2.9", 40000)


def test_coarse_timers_fire_together_at_slot_ends_and_can_be_cancelled() -> None:
    clock = VirtualScheduler()
    wheel = CoarseTimers(clock, resolution=1.0)
    fired: list[tuple[str, float]] = []
    wheel.call_later(0.2, lambda: fired.append(("a", clock.time())))
    wheel.call_later(0.7, lambda: fired.append(("b", clock.time())))
    cancelled = wheel.call_later(0.7, lambda: fired.append(("never", clock.time())))
    wheel.call_later(2.4, lambda: fired.append(("c", clock.time())))
    cancelled.cancel()
    assert len(wheel) == 4
    clock.advance(0.5)
    assert fired == []
    clock.advance(0.5)  # the end of the first slot: both of its live timers at once
    assert fired == [("a", 1.0), ("b", 1.0)]
    clock.advance(2.0)
    assert fired == [("a", 1.0), ("b", 1.0), ("c", 3.0)]
    assert len(wheel) == 0
    assert clock.pending == 0


def test_a_released_invite_client_sends_a_late_2xx_to_the_stray_responses_not_to_its_old_handler(
    stack: Stack,
) -> None:
    """Issue #22: a leg that closed releases its branches; they linger (timer M) without it."""
    invite = request("INVITE")
    results: list[SipResponse | None] = []
    tx = stack.layer.send_request(invite, PEER, results.append, transport=stack.transport)
    ok = make_response(invite, 200, to_tag="b")
    stack.receive(ok)
    assert tx.state is TxState.ACCEPTED
    tx.release()
    stack.receive(ok)  # retransmitted: the user hears of it as of any 2xx after the transaction
    assert [r.status for r in results if r] == [200]
    assert [r.status for r in stack.user.stray] == [200]
    assert invite.from_tag == "a"  # its views, parsed again when asked
    assert invite.cseq.number == 1


def test_a_cancelled_coarse_timer_keeps_nothing_of_its_callback(stack: Stack) -> None:
    wheel = CoarseTimers(stack.clock, resolution=1.0)
    fired: list[int] = []
    timer = wheel.call_later(30, lambda: fired.append(1))
    timer.cancel()
    assert timer.callback() is None  # what it held is gone before its slot comes
    stack.clock.advance(31)
    assert fired == []
