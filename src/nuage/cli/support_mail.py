"""SUP-1: the support desk's e-mail as ``nuage serve`` runs it: the SMTP listener of the support
address (``[support] smtp_listen``) and the outbox sent through ``[support] smtp_relay``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from nuage.adapters.smtp import SmtpMailer
from nuage.adapters.smtp_listener import SupportMailHandler, start_listener
from nuage.bootstrap import Platform
from nuage.config import parse_host_port
from nuage.services.support import mail_in, mail_out
from nuage.services.support.mail_in import MailOutcome

log = logging.getLogger("nuage.support.mail")


@dataclass
class SupportMailRuntime:
    """The listener (None when e-mail in is off) and the outbox's sending task (None without relay)."""

    handler: SupportMailHandler
    server: asyncio.Server | None
    sender: asyncio.Task[None] | None

    @property
    def bound(self) -> tuple[str, int] | None:
        """Where the listener listens."""
        if self.server is None:
            return None
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def stop(self) -> None:
        """Stop listening and sending."""
        if self.sender is not None:
            self.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.sender
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _send_loop(platform: Platform, handler: SupportMailHandler, relay: str) -> None:
    settings = platform.settings.support
    host, port = parse_host_port(relay)
    mailer = SmtpMailer(host, port)
    while True:
        try:
            await mail_out.deliver_pending(platform.uow, mailer, platform.clock.now, settings.address)
        except Exception:  # the database away for a moment: the next round tries again
            log.exception("support outbox round failed")
        handler.received.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.mail_every_s):
                await handler.received.wait()


async def start_support_mail(platform: Platform) -> SupportMailRuntime:
    """SUP-1: start what ``[support]`` asks for; an address in use raises ``OSError``."""
    settings = platform.settings.support

    def ingest(raw: bytes) -> MailOutcome:
        with platform.uow() as uow:
            return mail_in.receive(uow, platform.clock, raw)

    handler = SupportMailHandler(settings.address, ingest)
    server = None
    if settings.smtp_listen is not None:
        host, port = parse_host_port(settings.smtp_listen)
        server = await start_listener(host, port, handler, settings.max_message_bytes)
    sender = None
    if settings.smtp_relay is not None:
        sender = asyncio.create_task(_send_loop(platform, handler, settings.smtp_relay))
    return SupportMailRuntime(handler, server, sender)
