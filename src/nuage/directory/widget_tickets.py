"""The click-to-call widget's call tickets (CFG-10): how a visitor's browser call reaches Nuage's SIP plane.

The web process, once the visitor's page has passed the origin check, the rate limits and the
single-use token (``nuage.web.widget``), issues a **ticket**: the web channel, its account, the
destination the administrator configured (an E.164 number of the account) and the channels it may
hold, signed (HMAC-SHA256) with a key derived from the platform's secret key, valid for one minute
and usable once. The browser calls through Janus's SIP plugin with the ticket in the
``X-Nuage-Widget`` header; the SIP plane, which shares the secret key, checks the ticket and places
the call to the ticket's destination whatever the Request-URI says: a visitor can never choose
the number, and a ticket cannot be forged, altered, replayed or used late.

The SIP plane then counts the call as one line of the web channel among the calls in progress
(``nuage.policy``: ``web_channel_holder``), given back when the call ends, however it ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nuage.errors import InvalidInput
from nuage.shared.clock import Clock

HEADER = "X-Nuage-Widget"
TICKET_TTL = timedelta(seconds=60)
MAX_TICKET = 600


def ticket_key(secret_key: str) -> bytes:
    """The key tickets are signed with, derived from the platform's secret key (web and SIP share it)."""
    return hmac.new(secret_key.encode(), b"nuage-widget-call-v1", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class WidgetTicket:
    """CFG-10: one visitor's call of one web channel, to the destination its administrator set."""

    widget_id: str
    account_id: str
    destination: str  # E.164
    channels: int
    expires: int  # POSIX seconds
    nonce: str


class WidgetTickets:
    """Issues and redeems tickets (single use: the nonces redeemed are kept until they expire)."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self._clock = clock
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self, widget_id: str, account_id: str, destination: str, channels: int) -> str:
        """A ticket for one call of the web channel, valid ``TICKET_TTL``."""
        claims = {
            "w": widget_id,
            "a": account_id,
            "d": destination,
            "c": channels,
            "exp": int((self._clock.now() + TICKET_TTL).timestamp()),
            "n": secrets.token_urlsafe(12),
        }
        raw = json.dumps(claims, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def redeem(self, token: str) -> WidgetTicket:
        """CFG-10: the ticket, if signed by this platform, not expired and not used; else ``InvalidInput``."""
        refused = InvalidInput("ticket", "This widget call ticket is not valid", rule_id="CFG-10")
        body, _, signature = token.strip()[:MAX_TICKET].partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise refused
        try:
            claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            ticket = WidgetTicket(
                str(claims["w"]),
                str(claims["a"]),
                str(claims["d"]),
                int(claims["c"]),
                int(claims["exp"]),
                str(claims["n"]),
            )
        except (ValueError, KeyError, TypeError):
            raise refused from None
        now = int(self._clock.now().timestamp())
        if ticket.expires <= now:
            raise refused
        with self._lock:
            for nonce in [key for key, until in self._used.items() if until <= now]:
                del self._used[nonce]
            if ticket.nonce in self._used:
                raise refused
            self._used[ticket.nonce] = ticket.expires
        return ticket
