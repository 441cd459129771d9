"""SUP-1: e-mail to and from the support desk: the ticket token that threads replies, and what an
incoming message carries (its sender, subject, text and attached files).

A message to the support address opens a ticket, or adds to the one whose token its subject
carries (``[#tkt_…]``, which every e-mail the platform sends about a ticket has in its subject).
Pure: bytes in, a checked ``InboundMail`` out; the size of the whole message is bounded by the
listener before it gets here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from nuage.errors import InvalidInput

#: SUP-1: the largest e-mail the support address accepts, attachments included
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
#: SUP-1: the most files one e-mail attaches to a ticket
MAX_MAIL_ATTACHMENTS = 10
MAX_SUBJECT = 200
MAX_BODY = 10_000

_TOKEN = re.compile(r"\[#(tkt_[A-Za-z0-9_-]{1,60})\]")
_ADDRESS = re.compile(r"^[^@\s<>]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$")


def ticket_token(ticket_id: str) -> str:
    """SUP-1: the token that threads an e-mail to its ticket."""
    return f"[#{ticket_id}]"


def subject_for(ticket_id: str, subject: str) -> str:
    """SUP-1: the subject of an e-mail about a ticket: its token, then the ticket's subject."""
    return f"{ticket_token(ticket_id)} {subject}"[: MAX_SUBJECT + 40]


def token_in(subject: str) -> str | None:
    """SUP-1: the ticket a reply names in its subject, if any."""
    found = _TOKEN.search(subject)
    return found.group(1) if found else None


def normal_address(text: str) -> str | None:
    """An e-mail address as stored (lowercase), or None when ``text`` is not one."""
    address = text.strip().lower()
    return address if _ADDRESS.match(address) else None


@dataclass(frozen=True)
class MailFile:
    """A file an e-mail carries (its declared type is only a hint: the bytes decide)."""

    filename: str | None
    declared_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    """SUP-1: what the support desk reads from one e-mail."""

    sender: str  # the From address, lowercase
    subject: str
    text: str
    files: tuple[MailFile, ...]
    automatic: bool  # an auto-reply, a bounce or a list: never answered, so no mail loop

    @property
    def ticket_id(self) -> str | None:
        """The ticket this e-mail answers, from its subject's token."""
        return token_in(self.subject)


def _automatic(message: EmailMessage, sender: str) -> bool:
    submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    local = sender.split("@", 1)[0]
    return (
        submitted != "no"
        or precedence in ("bulk", "junk", "list")
        or "List-Id" in message
        or local in ("mailer-daemon", "postmaster", "noreply", "no-reply")
    )


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: the raw text, replaced where undecodable
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = re.sub(r"<[^>]+>", " ", text)
    return text.strip()[:MAX_BODY]


def parse(raw: bytes) -> InboundMail:
    """SUP-1: sender, subject, text and files of a raw e-mail; refused when it has no usable sender."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidInput("message", f"An e-mail to support is at most {MAX_MESSAGE_BYTES} bytes")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    senders = [address for _, address in getaddresses([str(message.get("From", ""))]) if address]
    sender = normal_address(senders[0]) if len(senders) == 1 else None
    if sender is None:
        raise InvalidInput("from", "An e-mail to support needs one sender address")
    subject = " ".join(str(message.get("Subject", "")).split())[:MAX_SUBJECT]
    files: list[MailFile] = []
    for part in message.iter_attachments():
        if len(files) == MAX_MAIL_ATTACHMENTS:
            break
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            files.append(MailFile(part.get_filename(), part.get_content_type(), data))
    return InboundMail(sender, subject, _text_of(message), tuple(files), _automatic(message, sender))
