"""The media forwarder's legs and sessions, and the links of latched legs (``forwarder``, issue #15).

A ``Leg`` is the forwarder's copy of one side of a forwarded call (its sockets, its latching and
RFC 3550 receive state), a ``Session`` the two legs of a call. ``Links`` is the part of the
forwarder's loop that gives each latched leg a link: a socket of the leg's port connected to the
latched party (below).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from nuage.media import rtcp, spool
from nuage.media.dtmf import DtmfDetector

Address = tuple[str, int]
NOWHERE: Address = ("", 0)  # the party of a leg without a link

REPORT_EVERY_S = 5.0  # RTCP receiver reports, as the in-process relay sends them


def address(value: Any) -> Address | None:
    """An address from a control message (a JSON list), or None."""
    return None if value is None else (str(value[0]), int(value[1]))


class Leg:
    """One leg of a forwarded session: the forwarder's copies of its sockets, and its state."""

    __slots__ = (
        "side", "session", "peer", "sock", "rtcp_sock", "recv", "sendto", "remote", "latched", "replaced",
        "ssrc", "last_at", "strangers", "garbage", "started", "timed_out", "detector", "event_type",
        "direction", "tee", "received", "base", "max_seq", "cycles", "transit", "jitter", "priors",
        "link", "link_fd", "link_recv", "link_send", "link_source",
    )  # fmt: skip

    def __init__(self, side: str, session: Session, sock: socket.socket, rtcp_sock: socket.socket) -> None:
        self.side = side
        self.session = session
        self.peer: Leg = self
        self.sock = sock
        self.rtcp_sock = rtcp_sock
        self.recv = sock.recvfrom_into
        self.sendto = sock.sendto
        self.remote: Address | None = None
        self.latched: Address | None = None
        self.replaced: Address | None = None
        self.ssrc: int | None = None
        self.reset_counters()
        self.last_at: float | None = None
        self.strangers = 0
        self.garbage = 0
        self.started = False
        self.timed_out = False
        self.detector = DtmfDetector()
        self.event_type: int | None = None
        self.direction = 0  # in the spool: 0 the caller's leg, 1 the callee's
        self.tee: spool.Tee | None = None  # the session's recording, while it is recorded
        # the leg's link: a socket of its own port connected to its latched party (``Forwarder.link``)
        self.link: socket.socket | None = None
        self.link_fd = -1
        self.link_recv: Callable[[bytearray], int] = sock.recv_into
        self.link_send: Callable[[memoryview], int] | None = None  # None: not linked (or no longer)
        self.link_source: Address = NOWHERE

    def restore(self, state: dict[str, Any]) -> None:
        """Take over the state the engine's in-process leg had."""
        self.remote = address(state.get("remote"))
        self.latched = address(state.get("latched"))
        self.replaced = address(state.get("replaced"))
        self.ssrc = state.get("ssrc")
        if state.get("stats") is not None:
            self.set_stats(rtcp.ReceiveStats.restored(state["stats"]))
        self.last_at = state.get("last_at")
        self.strangers = int(state.get("strangers", 0))
        self.garbage = int(state.get("garbage", 0))
        self.started = bool(state.get("started", False))
        self.timed_out = bool(state.get("timed_out", False))
        self.detector = DtmfDetector(state.get("digits", ()))

    def state(self) -> dict[str, Any]:
        """What the engine needs to carry the leg on in process (or to report its quality)."""
        return {
            "remote": self.remote,
            "latched": self.latched,
            "replaced": self.replaced,
            "ssrc": self.ssrc,
            "stats": self.stats().state(),
            "last_at": self.last_at,
            "strangers": self.strangers,
            "garbage": self.garbage,
            "started": self.started,
            "timed_out": self.timed_out,
            "digits": self.detector.recent(),
        }

    # the receive counters of RFC 3550 A.1, A.3 and A.8, as ``rtcp.ReceiveStats`` keeps them, held
    # here and updated in the packet path itself (a method call less for every packet)
    def reset_counters(self) -> None:
        """Counters of a new stream."""
        self.received, self.base, self.max_seq, self.cycles = 0, -1, 0, 0
        self.transit: float | None = None
        self.jitter = 0.0
        self.priors = (0, 0)

    def stats(self) -> rtcp.ReceiveStats:
        """The counters as ``rtcp.ReceiveStats`` (for a report, or the engine)."""
        base = None if self.base < 0 else self.base
        counters = [self.received, base, self.max_seq, self.cycles, self.transit, self.jitter, *self.priors]
        return rtcp.ReceiveStats.restored(counters)

    def set_stats(self, stats: rtcp.ReceiveStats) -> None:
        """Carry on from ``stats``."""
        received, base, max_seq, cycles, transit, jitter, expected_prior, received_prior = stats.state()
        self.received, self.max_seq, self.cycles = int(received or 0), int(max_seq or 0), int(cycles or 0)
        self.base = -1 if base is None else int(base)
        self.transit = None if transit is None else float(transit)
        self.jitter = float(jitter or 0.0)
        self.priors = (int(expected_prior or 0), int(received_prior or 0))

    def close(self) -> None:
        """Close the forwarder's copies of the leg's sockets (the engine keeps its own), and its link."""
        if self.link is not None:
            self.link.close()
            self.link, self.link_fd, self.link_send = None, -1, None
        self.sock.close()
        self.rtcp_sock.close()
        self.peer = self  # no cycle left: the collector need not find the session


class Session:
    """One forwarded call: its two legs, its timeout, its receiver reports."""

    __slots__ = ("sid", "legs", "timeout_s", "reporter", "next_report", "tee")

    def __init__(self, sid: int, legs: tuple[Leg, Leg] | None, timeout_s: float, reporter: int) -> None:
        self.sid = sid
        self.legs: tuple[Leg, ...] = legs or ()
        self.timeout_s = timeout_s
        self.reporter = reporter
        self.next_report = time.monotonic() + REPORT_EVERY_S
        self.tee: spool.Tee | None = None

    def record(self, path: str | None, speaking: list[bool | None]) -> dict[str, Any] | None:
        """Tee the legs' audio to the spool at ``path`` from now on (None: stop); the last spool's figures."""
        tee, self.tee = self.tee, None if path is None else spool.Tee(path, speaking)
        for leg in self.legs:
            leg.tee = self.tee
        return None if tee is None else tee.close()


class Links:
    """The links of latched legs, part of ``forwarder.Forwarder``'s loop (which holds the state)."""

    legs: dict[int, Leg]
    sessions: dict[int, Session]
    epoll: select.epoll
    relinks: list[Leg]  # legs latched elsewhere (or no longer) this turn: links to change
    draining: list[Leg]  # legs whose link is being emptied before it is closed
    leaving: list[tuple[Session, dict[str, Any]]]  # taken or dropped once drained

    def answer(self, session: Session, message: dict[str, Any]) -> None:
        """Answer a take or a drop of ``session`` (the forwarder's)."""
        raise NotImplementedError

    # A latched leg gets a link: a second socket on the leg's own port (SO_REUSEPORT, set on the
    # engine's socket too) connected to the latched party. The kernel then hands that party's
    # datagrams to the link, read without their address (one check and one conversion less per
    # packet), and what goes to the party leaves by it without one (its route kept by the socket);
    # anybody else's datagrams still reach the leg's own socket, where they are strangers as before.
    # A link no longer wanted is first deflected (connected to its own address: nothing reaches it
    # any more), emptied by the loop like any socket, and closed once empty; a session taken or
    # dropped is answered then, so that no datagram queued on a link is lost.
    def relink(self, leg: Leg) -> None:
        """The leg's latched party changed (or it has none): its link changes after this turn."""
        leg.link_send = None  # what goes to the leg goes by address meanwhile
        self.relinks.append(leg)

    def links(self) -> None:
        """After a turn: deflect the links of legs latched elsewhere, close the emptied ones,
        link the latched legs without one, answer the sessions taken or dropped once drained."""
        relinks, self.relinks = self.relinks, []
        for leg in relinks:
            if self.sessions.get(leg.session.sid) is not leg.session:
                continue  # its session is gone
            if leg.link is not None and leg not in self.draining:
                if leg.link_source == leg.latched:
                    leg.link_send = leg.link.send  # latched again to the same party
                else:
                    self.deflect(leg)
            elif leg.link is None:
                self.link(leg)
        for leg in list(self.draining):
            if leg.link is not None and not empty(leg.link):
                continue
            self.draining.remove(leg)
            self.unlink(leg)
            session = leg.session
            if self.sessions.get(session.sid) is session and not any(session is s for s, _ in self.leaving):
                self.link(leg)  # latched to another party meanwhile
        for session, message in list(self.leaving):
            if not any(leg in self.draining for leg in session.legs):
                self.leaving.remove((session, message))
                self.answer(session, message)

    def link(self, leg: Leg) -> None:
        """Link a latched leg to its party (a link that cannot be made: the leg goes on without)."""
        source = leg.latched
        if source is None or leg.link is not None:
            return
        link = socket.socket(leg.sock.family, socket.SOCK_DGRAM)
        try:
            leg.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            link.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            link.setsockopt(
                socket.SOL_SOCKET,
                socket.SO_RCVBUF,
                leg.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2,
            )
            link.setblocking(False)
            link.bind(leg.sock.getsockname())
            link.connect(source)
        except OSError:
            link.close()
            return
        leg.link, leg.link_fd, leg.link_source = link, link.fileno(), source
        leg.link_recv, leg.link_send = link.recv_into, link.send
        self.legs[leg.link_fd] = leg
        self.epoll.register(leg.link_fd, select.EPOLLIN)

    def deflect(self, leg: Leg) -> None:
        """Stop the leg's link from receiving (its party's datagrams reach the leg's own socket);
        the loop empties it, ``links`` closes it."""
        assert leg.link is not None
        leg.link_send = None
        try:
            leg.link.connect(leg.link.getsockname())
        except OSError:
            self.unlink(leg)  # it cannot be deflected: closed at once (what it held is lost)
            return
        self.draining.append(leg)

    def unlink(self, leg: Leg) -> None:
        """Close the leg's link."""
        link = leg.link
        if link is None:
            return
        self.legs.pop(leg.link_fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.epoll.unregister(leg.link_fd)
        link.close()
        leg.link, leg.link_fd, leg.link_send, leg.link_source = None, -1, None, NOWHERE


def empty(sock: socket.socket) -> bool:
    """Whether no datagram waits on ``sock`` (an error reported by it is taken and cleared)."""
    for _ in range(2):
        try:
            sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:
            continue
        return False
    return True
