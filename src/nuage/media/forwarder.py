"""The media forwarder: a process of its own that relays anchored calls' RTP (issue #15).

Owns the packet path of the sessions the embedded engine hands it (``[sip.media]
forwarder_processes`` > 0), off the SIP process's event loop: one ``select.epoll`` loop
(level-triggered, one datagram per ready socket per turn into one preallocated buffer), no asyncio. Per leg
it does what ``endpoint.RtpEndpoint`` and ``relay.Relay`` do in process: latching (RFC 4961, the
same rules), garbage and strangers dropped and counted, RFC 3550 receive counters, RFC 4733 digits,
stream timeouts and RTCP receiver reports; a recorded session's audio payloads are teed to the
recording's spool (``spool.Tee``: ``record`` / ``unrecord``) and speech changes reported.

A latched leg's party is read and written through the leg's link, a socket of the leg's port
connected to that party (``Forwarder.link``): the kernel sorts its datagrams from strangers', no
address goes through Python for them, and the sends keep their route.

It never allocates a port: the engine binds the legs' sockets, passes copies of them over the control
channel (a unix SOCK_SEQPACKET pair, SCM_RIGHTS, one JSON object per datagram: ``forwarding.py``
is the other end) and takes a session back (``take``) when a feature needs its audio in process;
the forwarder then forgets it and returns its state. It exits when the channel closes.
"""

from __future__ import annotations

import contextlib
import gc
import json
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from typing import Any

from nuage.media import rtcp, rtp, spool
from nuage.media.dtmf import DtmfError
from nuage.media.endpoint import unlatches
from nuage.media.forwarder_legs import REPORT_EVERY_S, Address, Leg, Links, Session, address

TICK_S = 0.25  # how often stream timeouts and receiver reports are looked at
CONTROL_BYTES = 65536
MAX_FDS = 4  # one session: each leg's RTP and RTCP sockets
MAX_EVENTS = 256  # ready sockets taken per turn (more wait for the next: level-triggered)
_AFTER_FIRST = struct.Struct("!BHII")  # the RTP fixed header less its first byte


class Forwarder(Links):
    """The forwarder's loop: the legs' sockets and the control channel on one epoll."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        control.setblocking(False)
        self.epoll = select.epoll()
        self.control_fd = control.fileno()
        self.epoll.register(self.control_fd, select.EPOLLIN)
        self.legs: dict[int, Leg] = {}
        self.sessions: dict[int, Session] = {}
        self.outbox: deque[bytes] = deque()
        self.running = True
        self.relinks: list[Leg] = []  # legs latched elsewhere (or no longer) this turn: links to change
        self.draining: list[Leg] = []  # legs whose link is being emptied before it is closed
        self.leaving: list[tuple[Session, dict[str, Any]]] = []  # taken or dropped once drained

    # ------------------------------------------------------------------ the packet path
    def run(self) -> None:
        """Forward until the engine says ``quit`` or closes the channel."""
        self.send({"ready": True})
        buffer = bytearray(rtp.MAX_DATAGRAM + 1)  # one byte more: a longer datagram is seen too long
        view = memoryview(buffer)
        unpack = _AFTER_FIRST.unpack_from
        clock = time.monotonic
        poll = self.epoll.poll
        legs = self.legs
        largest = rtp.MAX_DATAGRAM
        next_tick = clock() + TICK_S
        sized, data = 0, view[:0]  # the last datagram's length and a view of that much of the buffer
        while self.running:
            events = poll(TICK_S, MAX_EVENTS)
            # one clock reading per turn: the turn's packets had all arrived by then (their jitter
            # is measured from it, and it is when their leg last had media)
            now = clock()
            arrival = now * 8000.0  # in RTP timestamp units (8 kHz: G.711 and telephone-event)
            for fd, mask in events:
                try:
                    leg = legs[fd]
                except KeyError:
                    if fd == self.control_fd:
                        self.on_control(mask)
                    continue
                if fd == leg.link_fd:  # the leg's link: its party's datagrams, and nobody else's
                    recv_into = leg.link_recv
                    try:
                        size = recv_into(buffer)
                    except OSError:
                        continue
                    source: Any = leg.link_source  # as recvfrom_into's (an IPv6 one has four parts)
                else:
                    recv = leg.recv  # a slot read, then a call (a method call on a slot is not specialised)
                    try:
                        size, source = recv(buffer)
                    except OSError:
                        continue
                latched = leg.latched
                if source != latched:
                    if len(source) != 2:
                        source = (source[0], source[1])  # IPv6: (host, port, flow, scope)
                    if latched is not None and source != latched:
                        if source != leg.remote:
                            leg.strangers += 1
                            continue
                        latched = None  # the leg's SDP address: latched again below (a stray came first)
                if buffer[0] == 0x80 and 12 <= size <= largest:
                    second, sequence, timestamp, ssrc = unpack(buffer, 1)
                    payload_type = second & 0x7F
                else:
                    try:
                        packet = rtp.parse(bytes(view[:size]))
                    except rtp.RtpError:
                        leg.garbage += 1
                        continue
                    payload_type, sequence, timestamp, ssrc = packet[:4]
                if latched is None and not self.latch(leg, source, buffer[1]):
                    continue
                if ssrc != leg.ssrc:  # a new source from the latched address: its counters restart
                    leg.ssrc = ssrc
                    leg.reset_counters()
                leg.last_at = now
                if leg.base < 0:
                    leg.base = leg.max_seq = sequence
                else:
                    top = leg.max_seq
                    if 0 < (sequence - top) & 0xFFFF < 0x8000:
                        if sequence < top:
                            leg.cycles += 0x10000
                        leg.max_seq = sequence
                leg.received += 1
                transit = arrival - timestamp
                previous = leg.transit
                if previous is not None:
                    jitter = leg.jitter
                    difference = transit - previous if transit > previous else previous - transit
                    leg.jitter = jitter + (difference - jitter) / 16
                leg.transit = transit
                leg.timed_out = False
                if size != sized:  # a stream's packets are mostly all one length: the same view
                    sized, data = size, view[:size]
                if payload_type == leg.event_type:
                    self.digit(leg, timestamp, bytes(data))
                elif leg.tee is not None and payload_type in spool.AUDIO_TYPES:
                    self.tee(leg, leg.tee, (payload_type, sequence, timestamp, now), data)
                peer = leg.peer
                send = peer.link_send
                if send is not None:  # to the peer's party through its link: no address to give
                    try:  # noqa: SIM105 (no context manager for every packet)
                        send(data)
                    except OSError:
                        pass  # a full send buffer (or an ICMP error reported): the packet is lost
                    continue
                destination = peer.latched or peer.remote
                if destination is not None:
                    sendto = peer.sendto
                    try:  # noqa: SIM105 (no context manager for every packet)
                        sendto(data, destination)
                    except OSError:
                        pass  # a full send buffer: the packet is lost, as on a network
            if self.relinks or self.draining or self.leaving:
                self.links()
            if now >= next_tick:
                next_tick = now + TICK_S
                self.tick(now)

    def latch(self, leg: Leg, source: Address, second: int) -> bool:
        """A valid packet latches a leg not latched yet, or latched elsewhere when it comes from the
        leg's SDP address; never to the party the leg had before, never to an RTCP packet (``second``:
        the datagram's second byte). The same rules as ``endpoint.RtpEndpoint``."""
        if rtp.is_rtcp_type(second):
            leg.garbage += 1
            return False
        if source == leg.replaced:
            leg.strangers += 1
            return False
        leg.latched = source
        self.relink(leg)
        if not leg.started:
            leg.started = True
            self.send({"ev": "started", "sid": leg.session.sid, "side": leg.side, "source": source})
        return True

    def digit(self, leg: Leg, timestamp: int, data: bytes) -> None:
        """A telephone-event packet: a digit the first time its event ends."""
        try:
            found = leg.detector.feed(timestamp, rtp.parse(data).payload)
        except (DtmfError, rtp.RtpError):
            return
        if found is not None:
            event = {"ev": "dtmf", "sid": leg.session.sid, "side": leg.side, "digit": found[0]}
            self.send({**event, "duration_ms": found[1]})

    def tee(self, leg: Leg, tee: spool.Tee, header: tuple[int, int, int, float], data: memoryview) -> None:
        """A recorded leg's audio packet: its payload to the spool, a speech change to the engine."""
        if (speaking := tee.packet(leg.direction, *header, data)) is not None:
            self.send({"ev": "speech", "sid": leg.session.sid, "side": leg.side, "speaking": speaking})

    def tick(self, now: float) -> None:
        """Stream timeouts (once per silence) and receiver reports every ``REPORT_EVERY_S``."""
        for session in self.sessions.values():
            for leg in session.legs:
                if leg.last_at is None or leg.timed_out:
                    continue
                idle = now - leg.last_at
                if idle >= session.timeout_s:
                    leg.timed_out = True
                    event = {"ev": "timeout", "sid": session.sid, "side": leg.side, "idle_s": round(idle, 3)}
                    self.send(event)
            if now >= session.next_report:
                session.next_report = now + REPORT_EVERY_S
                for leg in session.legs:
                    self.report(session, leg)

    def report(self, session: Session, leg: Leg) -> None:
        destination = leg.latched or leg.remote
        if leg.ssrc is None or destination is None:
            return
        stats = leg.stats()
        block = stats.report_block(leg.ssrc)
        leg.set_stats(stats)  # the report's interval starts again
        data = rtcp.build(rtcp.Report(rtcp.RR, session.reporter, (block,)))
        with contextlib.suppress(OSError):
            leg.rtcp_sock.sendto(data, (destination[0], destination[1] + 1))

    # ------------------------------------------------------------------ the control channel
    def on_control(self, mask: int) -> None:
        if mask & select.EPOLLOUT:
            self.flush()
        if not mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
            return
        while self.running:
            try:
                data, fds, _, _ = socket.recv_fds(self.control, CONTROL_BYTES, MAX_FDS)
            except BlockingIOError:
                return
            except OSError:
                self.running = False
                return
            if not data:  # the engine closed the channel (or its process is gone)
                self.running = False
                return
            try:
                self.command(json.loads(data), fds)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                for fd in fds:
                    socket.close(fd)
                self.send({"error": f"bad command: {exc}"})

    def command(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message["op"]
        if op == "add":
            self.add(message, fds)
            return
        for fd in fds:  # only ``add`` carries sockets
            socket.close(fd)
        if op == "quit":
            self.running = False
            return
        session = self.sessions.get(int(message["sid"]))
        if session is None:
            if "id" in message:
                self.send({"id": message["id"], "error": "unknown session"})
            return
        if op == "remote":
            leg = session.legs[0 if message["side"] == session.legs[0].side else 1]
            previous, leg.remote = leg.remote, address(message["remote"])
            if unlatches(previous, leg.remote, leg.latched):
                leg.replaced, leg.latched = leg.latched, None
                self.relink(leg)
        elif op == "event_type":
            for leg in session.legs:
                leg.event_type = message["event_type"]
        elif op == "record":
            try:
                session.record(message["spool"], message.get("speaking", []))
                self.send({"id": message["id"]})
            except OSError as exc:  # the spool cannot be written: the engine records in process
                self.send({"id": message["id"], "error": f"spool: {exc}"})
        elif op == "unrecord":
            self.send({"id": message["id"], "spool": session.record(None, [])})
        elif op in ("take", "drop", "stats"):
            if op != "stats" and any(leg.link is not None for leg in session.legs):
                for leg in session.legs:  # its links emptied first: answered once they are
                    if leg.link is not None and leg not in self.draining:
                        self.deflect(leg)
                self.leaving.append((session, message))
                return
            self.answer(session, message)
        else:
            raise ValueError(f"unknown operation {op!r}")

    def answer(self, session: Session, message: dict[str, Any]) -> None:
        """The session's state to the engine (``take``, ``drop``: the session ends here)."""
        state: dict[str, Any] = {leg.side: leg.state() for leg in session.legs}
        reply = {"id": message["id"], "state": state}
        if message["op"] != "stats":
            reply["spool"] = session.record(None, [])
            self.remove(session)
        self.send(reply)

    def add(self, message: dict[str, Any], fds: list[int]) -> None:
        if len(fds) != 4:
            raise ValueError("a session needs four sockets")
        socks = [socket.socket(fileno=fd) for fd in fds]
        for sock in socks:
            sock.setblocking(False)
        sid = int(message["sid"])
        session = Session(sid, None, float(message["timeout_s"]), int(message["reporter"]))
        caller = Leg(message["sides"][0], session, socks[0], socks[1])
        callee = Leg(message["sides"][1], session, socks[2], socks[3])
        caller.peer, callee.peer = callee, caller
        session.legs = (caller, callee)
        for direction, (leg, state) in enumerate(zip(session.legs, message["state"], strict=True)):
            leg.restore(state)
            leg.event_type = message.get("event_type")
            leg.direction = direction
        session.record(message.get("spool"), message.get("speaking", []))  # recorded: teed on
        self.sessions[sid] = session
        for leg in session.legs:
            self.legs[leg.sock.fileno()] = leg
            self.epoll.register(leg.sock.fileno(), select.EPOLLIN)
            self.link(leg)

    def remove(self, session: Session) -> None:
        del self.sessions[session.sid]
        for leg in session.legs:
            fd = leg.sock.fileno()
            self.legs.pop(fd, None)
            self.epoll.unregister(fd)
            self.unlink(leg)
            leg.close()

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message to the engine (never blocks: what does not fit waits for EPOLLOUT)."""
        data = json.dumps(message, separators=(",", ":")).encode()
        if not self.outbox:
            try:
                self.control.send(data)
                return
            except BlockingIOError:
                self.epoll.modify(self.control_fd, select.EPOLLIN | select.EPOLLOUT)
            except OSError:
                self.running = False
                return
        self.outbox.append(data)

    def flush(self) -> None:
        while self.outbox:
            try:
                self.control.send(self.outbox[0])
            except BlockingIOError:
                return
            except OSError:
                self.running = False
                return
            self.outbox.popleft()
        self.epoll.modify(self.control_fd, select.EPOLLIN)


def main(argv: list[str]) -> None:
    """``python -m nuage.media.forwarder FD``: forward over the control channel inherited as FD."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C stops the server, which stops us
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)  # the packet path makes no cycles; sessions break theirs
    control = socket.socket(fileno=int(argv[1]))
    Forwarder(control).run()


if __name__ == "__main__":
    main(sys.argv)
