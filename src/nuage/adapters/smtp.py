"""The ``Mailer`` adapter (BIL-4): e-mails handed to an SMTP server with aiosmtplib."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from nuage.services.payments.ports import MailNotSent


@dataclass(frozen=True)
class SmtpMailer:
    """BIL-4: the SMTP server documents and reminders are sent through (one try per ``send``)."""

    host: str
    port: int
    timeout_s: float = 10.0
    username: str | None = None
    password: str | None = None
    start_tls: bool = False

    async def send(self, message: EmailMessage) -> None:
        """Send one e-mail; raise ``MailNotSent`` with the reason when it is not accepted."""
        import aiosmtplib

        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                timeout=self.timeout_s,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
