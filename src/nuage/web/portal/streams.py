"""The portal's live streams (server-sent events): how many are open, and whether the server stops.

Bounded: at most ``MAX_STREAMS`` at once in this process (one more is refused with 503, the page
keeps its no-script fallback), each open at most ``MAX_STREAM_S`` (then it ends and the browser's
``EventSource`` opens it again). :meth:`LiveStreams.close` ends every stream at its next tick: the
web server waits for open answers before it stops, so ``nuage serve`` calls it first.
"""

from __future__ import annotations

import threading

MAX_STREAMS = 100
MAX_STREAM_S = 300.0


class LiveStreams:
    """The open streams of this process (thread-safe: ticks run on worker threads)."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self.limit = limit
        self.open = 0
        self.closed = threading.Event()
        self._lock = threading.Lock()

    def room(self) -> bool:
        """Whether one more stream may open now (checked before answering; :meth:`admit` counts
        it once the stream runs, so a client gone before it starts is never counted)."""
        with self._lock:
            return not self.closed.is_set() and self.open < self.limit

    def admit(self) -> bool:
        """Count one more open stream; False when the server stops or enough are open."""
        with self._lock:
            if self.closed.is_set() or self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        """One stream has ended."""
        with self._lock:
            self.open -= 1

    def close(self) -> None:
        """The server stops: every stream ends at its next tick and no new one opens."""
        self.closed.set()
