"""The click-to-call widget's calls (CFG-10): who may start one and how many run at once.

* ``check_origin``: a widget answers only pages of the origin its administrator allowed (scheme,
  host and port, exactly); a widget with no allowed origin answers nobody;
* ``WidgetLines``: CFG-10: concurrent widget calls never exceed the channels configured for the
  widget: a call holds one line (a lease, given back at hang-up or when it runs out) and the call
  beyond the channels is refused, "all lines busy". The clock is injected, so leases expire on the
  platform's time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from nuage.errors import NotFound, TermViolation
from nuage.shared.clock import Clock


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL (lowercase), or None when it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def check_origin(allowed: str | None, origin: str | None, widget_id: str) -> None:
    """CFG-10: the page asking must be of the widget's allowed origin (else, like a missing widget)."""
    wanted = origin_of(allowed) if allowed else None
    if wanted is None or origin is None or origin_of(origin) != wanted:
        raise NotFound("web channel", widget_id)


@dataclass(frozen=True)
class Line:
    """CFG-10: one widget call in progress and until when its lease runs."""

    line_id: str
    widget_id: str
    until: datetime


class WidgetLines:
    """CFG-10: the lines each widget holds now (one process; leases bound a line whose hang-up is lost)."""

    def __init__(self, clock: Clock, *, lease: timedelta = timedelta(hours=2)) -> None:
        self._clock = clock
        self._lease = lease
        self._lines: dict[str, Line] = {}
        self._lock = threading.Lock()

    def _expire(self) -> None:
        now = self._clock.now()
        for line_id in [key for key, line in self._lines.items() if line.until <= now]:
            del self._lines[line_id]

    def in_use(self, widget_id: str) -> int:
        """The widget's calls in progress."""
        with self._lock:
            self._expire()
            return sum(1 for line in self._lines.values() if line.widget_id == widget_id)

    def take(self, widget_id: str, line_id: str, channels: int) -> Line:
        """CFG-10: a line for a new call, or ``TermViolation`` when the widget's channels are all busy."""
        with self._lock:
            self._expire()
            busy = sum(1 for line in self._lines.values() if line.widget_id == widget_id)
            if busy >= channels:
                raise TermViolation(
                    "CFG-10", "All lines busy: try again in a moment", widget_id=widget_id, channels=channels
                )
            line = Line(line_id, widget_id, self._clock.now() + self._lease)
            self._lines[line_id] = line
            return line

    def give_back(self, widget_id: str, line_id: str) -> None:
        """The call ended: its line is free (a line of another widget, or unknown, is ``NotFound``)."""
        with self._lock:
            line = self._lines.get(line_id)
            if line is None or line.widget_id != widget_id:
                raise NotFound("widget call", line_id)
            del self._lines[line_id]
