"""The click-to-call widget's calls (CFG-10): who may start one and how many run at once.

* ``check_origin``: a widget answers only pages of the origin its administrator allowed (scheme,
  host and port, exactly); a widget with no allowed origin answers nobody;
* CFG-10's count of concurrent widget calls is the call policy's (``nuage.policy.channels``): a
  widget call holds one channel of its web channel while it is in progress; its ticket is
  ``nuage.directory.widget_tickets``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from nuage.errors import NotFound


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
