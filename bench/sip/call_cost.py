"""CPU per call in the SIP stack and the B2BUA, in one process (issue #22): an A/B tool.

``serve_vs_kamailio.py`` measures the whole server against a reference, but on a shared machine
two runs of the same tree differ by 10-20 %; a change worth a few per cent needs this instead.
A ``SipServer`` with in-memory ports and the dial plan's policy, bound on loopback UDP, its
socket swapped for one that keeps what is sent (as ``register_cost.py``). Calls go in batches,
each as ``serve_vs_kamailio.py``'s scenario plays it: Alice's INVITE is challenged (407) and
ACKed, sent again with credentials; Bob's phone rings (180) and answers (200); Alice ACKs, talks
for no time and hangs up (BYE); Bob's phone answers the BYE. Every message is handed to the
UDP transport's ``datagram_received`` as the loop would; only the server's work is timed
(``time.process_time``), not the building of the phones' messages. No socket system calls are
counted: it is the per-call Python path alone. ``--profile`` prints the top of a cProfile.
``--cold MB``: each message alone after MB megabytes of other memory were written, as in
``register_cost.py`` (``--cold 0``: one by one, nothing evicted).

    .venv/bin/python bench/sip/call_cost.py [--calls 5000] [--rounds 5] [--batch 100] [--profile] [--cold MB]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import re
from collections.abc import Callable

from nuage_lab import ALICE, BOB, bob_registered
from register_cost import Capture, Evictor, captured_server, finish, hand_over

from nuage.sip.digest import authorization_header
from nuage.sip.message import SipRequest, SipResponse, make_response, parse_message

CHALLENGE = re.compile(rb"\r\nProxy-Authenticate: ([^\r]*)\r\n", re.IGNORECASE)
BOB_PORT = 30000
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def alice_request(
    method: str,
    n: int,
    server_port: int,
    cseq: int,
    *,
    to_tag: str = "",
    uri: str = "",
    extra: str = "",
    branch: str = "",
) -> bytes:
    """A request of Alice's phone number ``n`` (each phone its own port), as SIPp writes them;
    the ACK of an error response takes its INVITE's ``branch`` (RFC 3261 §17.1.1.3)."""
    port = 20000 + n
    body = SDP.format(port=40000 + 2 * n).encode() if method == "INVITE" else b""
    lines = [
        f"{method} {uri or f'sip:bob@127.0.0.1:{server_port}'} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch or f'z9hG4bK-{n}-{cseq}-{method}'};rport",
        f'From: "Alice" <sip:alice@127.0.0.1>;tag=a{n}',
        f"To: <sip:bob@127.0.0.1>{f';tag={to_tag}' if to_tag else ''}",
        f"Call-ID: call-{n}@127.0.0.1",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:alice@127.0.0.1:{port}>",
        "Max-Forwards: 70",
    ]
    if extra:
        lines.append(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def bob_answer(request: SipRequest, status: int, tag: str) -> bytes:
    """Bob's phone's response to what the server sent it (a 180 and a 200 with an answer, a 200 to BYE)."""
    response = make_response(request, status, to_tag=tag if request.method == "INVITE" else None)
    if request.method == "INVITE" and status == 200:
        response.headers.add("contact", f"<sip:bob@127.0.0.1:{BOB_PORT}>")
        response.headers.add("content-type", "application/sdp")
        response.body = SDP.format(port=50000).encode()
    return response.to_bytes()


async def settle(capture: Capture, done: Callable[[list[tuple[bytes, tuple[str, int]]]], bool]) -> None:
    for _ in range(100_000):
        if done(capture.sent):
            return
        await asyncio.sleep(0)
    raise RuntimeError(f"the server did not answer: {[d[:40] for d, _ in capture.sent[-3:]]}")


def to_bob(sent: list[tuple[bytes, tuple[str, int]]], method: bytes) -> list[SipRequest]:
    found = []
    for data, addr in sent:
        if addr[1] == BOB_PORT and data.startswith(method + b" "):
            message = parse_message(data)
            assert isinstance(message, SipRequest)
            found.append(message)
    return found


def count(sent: list[tuple[bytes, tuple[str, int]]], prefix: bytes, port: int | None = None) -> int:
    return sum(1 for data, addr in sent if data.startswith(prefix) and (port is None or addr[1] == port))


async def run(calls: int, rounds: int, batch: int, profile: bool, cold: int | None) -> None:
    server, udp, capture = await captured_server([ALICE, BOB], await bob_registered(BOB_PORT))
    port = udp.local.port
    profiler = cProfile.Profile() if profile else None
    receive = udp.datagram_received  # type: ignore[attr-defined]
    evict = None if cold is None else Evictor(cold)

    async def deliver(
        datagrams: list[tuple[bytes, int]], done: Callable[[list[tuple[bytes, tuple[str, int]]]], bool]
    ) -> float:
        """Hand ``datagrams`` (data, source port) to the server; the CPU until ``done``."""
        capture.sent.clear()
        sourced = [(data, ("127.0.0.1", source)) for data, source in datagrams]
        return await hand_over(receive, sourced, evict, profiler, lambda: settle(capture, done))

    def quiet(sent: list[tuple[bytes, tuple[str, int]]]) -> bool:
        return True

    per_call: list[float] = []
    first = 0
    for _ in range(rounds):
        spent, placed = 0.0, 0
        while placed < calls:
            k = min(batch, calls - placed)
            ns = range(first, first + k)
            spent += await deliver(
                [(alice_request("INVITE", n, port, 1), 20000 + n) for n in ns],
                lambda sent, k=k: count(sent, b"SIP/2.0 407") == k,
            )
            challenges = {parse_message(data).call_id: data for data, _ in capture.sent}  # type: ignore[union-attr]
            acks, invites = [], []
            for n in ns:
                data = challenges[f"call-{n}@127.0.0.1"]
                tag = parse_message(data).to_tag or ""  # type: ignore[union-attr]
                invite_branch = f"z9hG4bK-{n}-1-INVITE"
                acks.append((alice_request("ACK", n, port, 1, to_tag=tag, branch=invite_branch), 20000 + n))
                match = CHALLENGE.search(data)
                assert match is not None
                auth = authorization_header(match.group(1).decode(), username="alice",
                                            password="alice-secret", method="INVITE",
                                            uri=f"sip:bob@127.0.0.1:{port}")  # fmt: skip
                extra = f"Proxy-Authorization: {auth}"
                invites.append((alice_request("INVITE", n, port, 2, extra=extra), 20000 + n))
            spent += await deliver(acks, quiet)
            spent += await deliver(invites, lambda sent, k=k: count(sent, b"INVITE ", BOB_PORT) == k)
            rung = to_bob(capture.sent, b"INVITE")
            answers = []
            for request in rung:
                tag = "b" + request.call_id[:10]
                answers.append((bob_answer(request, 180, tag), BOB_PORT))
                answers.append((bob_answer(request, 200, tag), BOB_PORT))
            spent += await deliver(answers, lambda sent, k=k: count(sent, b"SIP/2.0 200") == k)
            oks = {}
            for data, _ in capture.sent:
                if data.startswith(b"SIP/2.0 200"):
                    ok = parse_message(data)
                    assert isinstance(ok, SipResponse)
                    oks[ok.call_id] = ok
            assert count(capture.sent, b"ACK ", BOB_PORT) == k
            hang_ups, byes = [], []
            for n in ns:
                ok = oks[f"call-{n}@127.0.0.1"]
                contact = str(ok.contacts[0].uri)
                tag = ok.to_tag or ""
                hang_ups.append((alice_request("ACK", n, port, 2, to_tag=tag, uri=contact), 20000 + n))
                byes.append((alice_request("BYE", n, port, 3, to_tag=tag, uri=contact), 20000 + n))
            spent += await deliver(hang_ups, quiet)
            spent += await deliver(byes, lambda sent, k=k: count(sent, b"BYE ", BOB_PORT) == k)
            early = count(capture.sent, b"SIP/2.0 200")  # Alice's BYE answered before Bob's
            ended = [(bob_answer(request, 200, ""), BOB_PORT) for request in to_bob(capture.sent, b"BYE")]
            spent += await deliver(
                ended, lambda sent, k=k, early=early: early + count(sent, b"SIP/2.0 200") == k
            )
            first += k
            placed += k
        per_call.append(1e6 * spent / calls)
        print(f"round: {per_call[-1]:.1f} us per call", flush=True)
    await finish(server, profiler, per_call, "call", SORT)


SORT = "tottime"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--cold", type=int, metavar="MB", help="each datagram alone, after MB written")
    options = parser.parse_args()
    global SORT
    SORT = options.sort
    from nuage.sip import install_uvloop

    install_uvloop()
    asyncio.run(run(options.calls, options.rounds, options.batch, options.profile, options.cold))


if __name__ == "__main__":
    main()
