"""SUP-1: e-mail out on every change of a ticket, through an outbox and the ``Mailer`` port.

Each change the desk (or the platform) makes to a ticket writes one ``SupportMail`` to the
requester in the same transaction as the change (``queue_for_event``): a change never commits
without its e-mail, and an e-mail never reports a change that rolled back. ``deliver_pending``
then hands the waiting e-mails to the mail server, retried with a doubling back-off and given up
after ``MAX_ATTEMPTS``; ``nuage serve`` runs it in the background. The requester's own words
(what they wrote on the portal or by e-mail) are not echoed back to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage

from nuage.documents.messages import message
from nuage.services.payments.ports import Mailer, MailNotSent
from nuage.services.support.ports import (
    EventKind,
    MailState,
    SupportMail,
    SupportUnitOfWork,
    Ticket,
    TicketEvent,
)
from nuage.shared.ids import new_id
from nuage.support.mail import subject_for
from nuage.tenancy.model import PartyKind

log = logging.getLogger("nuage.support.mail")

MAX_ATTEMPTS = 6  # then the e-mail is given up (FAILED) and shows in the outbox as such
FIRST_RETRY = timedelta(minutes=1)
BATCH = 50


def recipient_of(uow: SupportUnitOfWork, ticket: Ticket) -> str | None:
    """SUP-1: who hears about a ticket: its contact (the user or sender who opened it), else the
    partner that opened it for its customer, else the account's own address."""
    if ticket.contact_email:
        return ticket.contact_email
    if ticket.opened_by != ticket.account_id:
        opener = uow.parties.find(ticket.opened_by)
        if opener is not None and opener.kind is PartyKind.PARTNER and opener.email:
            return opener.email
    account = uow.parties.find(ticket.account_id)
    return account.email if account is not None else None


def queue(
    uow: SupportUnitOfWork, at: datetime, recipient: str, subject: str, body: str, ticket_id: str | None
) -> SupportMail:
    """SUP-1: one e-mail in the outbox, sent once the transaction commits."""
    mail = SupportMail(new_id("sml"), ticket_id, recipient, subject[:300], body, at, next_try_at=at)
    uow.support.mails.add(mail)
    return mail


def queue_for_event(uow: SupportUnitOfWork, ticket: Ticket, event: TicketEvent) -> SupportMail | None:
    """SUP-1: the e-mail telling the requester about a change of their ticket (none for their own
    words, nor when nobody has an address)."""
    if not event.from_desk and event.kind in (EventKind.OPENED, EventKind.MESSAGE):
        return None
    recipient = recipient_of(uow, ticket)
    if recipient is None:
        return None
    footer = message("support.mail.footer", ticket.language.value, ticket=ticket.id)
    body = f"{event.body}\n\n-- \n{footer}\n"
    return queue(uow, event.at, recipient, subject_for(ticket.id, ticket.subject), body, ticket.id)


def _claim(uow: SupportUnitOfWork, now: datetime) -> list[SupportMail]:
    waiting = uow.support.mails.list(state=MailState.PENDING.value, order_by=("created_at", "id"), limit=500)
    return [m for m in waiting if m.next_try_at is None or m.next_try_at <= now][:BATCH]


def email_of(mail: SupportMail, sender: str) -> EmailMessage:
    """The e-mail as handed to the mail server: from (and answered to) the support address."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = mail.recipient
    email["Reply-To"] = sender
    email["Subject"] = mail.subject
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders do not answer it
    email["Message-ID"] = f"<{mail.id}@{sender.rsplit('@', 1)[-1]}>"
    email.set_content(mail.body)
    return email


def after_attempt(mail: SupportMail, now: datetime, error: str | None) -> SupportMail:
    """SUP-1: a sent e-mail, or one to retry later (twice as late each time), or given up."""
    if error is None:
        return replace(mail, state=MailState.SENT, attempts=mail.attempts + 1, sent_at=now, last_error=None)
    attempts = mail.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return replace(mail, state=MailState.FAILED, attempts=attempts, last_error=error[:300])
    delay = FIRST_RETRY * (2 ** (attempts - 1))
    return replace(mail, attempts=attempts, next_try_at=now + delay, last_error=error[:300])


async def deliver_pending(
    uow_factory: Callable[[], SupportUnitOfWork],
    mailer: Mailer,
    now: Callable[[], datetime],
    sender: str,
) -> list[SupportMail]:
    """SUP-1: send the e-mails that are due, one try each; returns them as recorded afterwards."""

    def claim() -> list[SupportMail]:
        with uow_factory() as uow:
            return _claim(uow, now())

    due = await asyncio.to_thread(claim)
    done = []
    for mail in due:
        try:
            await mailer.send(email_of(mail, sender))
            error = None
        except MailNotSent as exc:
            error = str(exc)
            log.warning("support e-mail %s to %s not sent: %s", mail.id, mail.recipient, error)
        done.append(after_attempt(mail, now(), error))

    def record() -> None:
        with uow_factory() as uow:
            for mail in done:
                uow.support.mails.update(mail)
            uow.commit()

    if done:
        await asyncio.to_thread(record)
    return done
