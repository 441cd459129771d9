"""SUP-1: the support address's SMTP listener (aiosmtpd): e-mail in, handed to ``services.support.mail_in``.

Only the support address is accepted as a recipient (550 for any other: no open relay); a message
over the size bound is refused by the SMTP server itself before it is held whole (552). The
message is handed to ``ingest`` on a worker thread (the database is not touched on the event loop);
its answer decides the reply: 250 with the ticket, 550 for what the rules refuse (no usable sender,
a new ticket from the operator's own staff), 451 (try again later) when the platform could not
take it, so the sending server keeps it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from nuage.errors import NuageError, UpstreamUnavailable
from nuage.services.support.mail_in import MailOutcome

log = logging.getLogger("nuage.support.smtp")


class SupportMailHandler:
    """aiosmtpd's handler: the recipient checked, the message ingested."""

    def __init__(self, address: str, ingest: Callable[[bytes], MailOutcome]) -> None:
        self.address = address.strip().lower()
        self.ingest = ingest
        self.outcomes: list[MailOutcome] = []  # the latest ones, for the log and the tests
        self.received = asyncio.Event()  # set after each accepted message (the outbox may send)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.strip().lower() != self.address:
            return f"550 5.1.1 Only <{self.address}> receives mail here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "replace")
        try:
            outcome = await asyncio.to_thread(self.ingest, raw)
        except UpstreamUnavailable:  # the database away: the sending server retries
            log.warning("support e-mail from %s deferred: the platform is unavailable", envelope.mail_from)
            return "451 4.3.0 Support could not take this message now; it will be retried"
        except NuageError as exc:  # what the rules refuse: told once, not retried
            return f"550 5.6.0 {' '.join(exc.message.split())[:300]}"
        except Exception:  # the database is down, a bug: the sending server keeps it and retries
            log.exception("support e-mail from %s not taken", envelope.mail_from)
            return "451 4.3.0 Support could not take this message now; it will be retried"
        self.outcomes = [*self.outcomes[-99:], outcome]
        self.received.set()
        if outcome.ticket_id is None:
            log.info("support e-mail from unknown sender %s: refused by mail", outcome.sender)
            return "250 OK: not registered (unknown sender), the sender is told why"
        return f"250 OK: ticket {outcome.ticket_id}"


async def start_listener(
    host: str, port: int, handler: SupportMailHandler, max_bytes: int, hostname: str = "nuage"
) -> asyncio.Server:
    """Listen for SMTP on ``host:port`` (port 0: a free one); the caller closes the server."""
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=max_bytes, hostname=hostname, ident="Nuage support")

    return await loop.create_server(protocol, host, port)
