"""SUP-1: e-mail in: a message to the support address opens a ticket or adds to one.

The sender must be known: a user's address, or the address of a customer or partner account;
the ticket is then the sender's own request, with the sender as its contact. A subject carrying a
ticket's token (``[#tkt_…]``) of a ticket the sender may see adds the message to it (a closed one
is not reopened: the message opens a new ticket, SUP-1). An unknown sender is answered, politely,
that nothing was registered (never an automatic message: no mail loop). Files attached to the
e-mail are kept on the ticket when they pass the checks of ``support.attachments``; those that do
not are named in the outcome and left out. The ticket (or the message) and its files are one
transaction: a message the platform could not take leaves nothing behind, and is retried whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from nuage.documents.messages import message
from nuage.errors import InvalidInput, NuageError
from nuage.services.context import Context
from nuage.services.support import tickets
from nuage.services.support.attachments import store_file
from nuage.services.support.mail_out import queue
from nuage.services.support.ports import Channel, SupportUnitOfWork, Ticket
from nuage.services.tenancy import scope_of
from nuage.shared.clock import Clock
from nuage.support.attachments import MAX_ATTACHMENTS_PER_TICKET
from nuage.support.mail import InboundMail, parse
from nuage.support.status import TicketStatus
from nuage.support.tickets import Category, Criticality
from nuage.tenancy.model import Party, PartyKind

NO_SUBJECT = "(no subject)"


@dataclass(frozen=True)
class MailOutcome:
    """SUP-1: what became of one e-mail to support."""

    sender: str
    ticket_id: str | None  # None: refused (unknown sender)
    opened: bool  # a new ticket (else a message added to an existing one)
    files: tuple[str, ...] = ()  # attachment ids kept
    refused_files: tuple[str, ...] = ()  # "name: reason"


def sender_account(uow: SupportUnitOfWork, sender: str) -> Party | None:
    """SUP-1: the account an e-mail comes from: a user's (the operator's staff answer tickets by
    e-mail too), or a customer or partner by its address."""
    user = uow.users.find_by(email=sender)
    if user is not None:
        return uow.parties.find(user.account_id)
    for party in uow.parties.list(email=sender, limit=5):
        if party.kind in (PartyKind.CUSTOMER, PartyKind.PARTNER):
            return party
    return None


def _refuse(uow: SupportUnitOfWork, clock: Clock, mail: InboundMail) -> MailOutcome:
    if not mail.automatic:
        body = "\n\n".join(
            message("support.mail.unknown_sender", lang, sender=mail.sender) for lang in ("en", "fr", "nl")
        )
        queue(uow, clock.now(), mail.sender, f"Re: {mail.subject or NO_SUBJECT}", body + "\n", None)
    uow.commit()
    return MailOutcome(mail.sender, None, opened=False)


def _answered(uow: SupportUnitOfWork, ctx: Context, mail: InboundMail) -> Ticket | None:
    """The open ticket the e-mail answers, when its token names one the sender may see."""
    wanted = mail.ticket_id
    if wanted is None:
        return None
    found = uow.support.tickets.find(wanted)
    if found is None or not ctx.scope.can_see(found.account_id) or found.status is TicketStatus.CLOSED:
        return None
    return found


def receive(uow: SupportUnitOfWork, clock: Clock, raw: bytes) -> MailOutcome:
    """SUP-1: one e-mail to the support address (``InvalidInput`` when it has no usable sender)."""
    mail = parse(raw)
    account = sender_account(uow, mail.sender)
    if account is None:
        return _refuse(uow, clock, mail)
    ctx = Context(scope_of(uow, account.id), clock)
    text = mail.text or mail.subject or NO_SUBJECT
    ticket = _answered(uow, ctx, mail)
    if ticket is not None:
        tickets.reply(uow, ctx, ticket.id, text, Channel.EMAIL, sender=mail.sender, commit=False)
        opened = False
    elif account.kind is PartyKind.OPERATOR:
        raise InvalidInput(
            "subject",
            "The desk answers a ticket by its token in the subject; a new ticket names its customer (SUP-1)",
        )
    else:
        ticket = tickets.open_ticket(
            uow,
            ctx,
            account.id,
            Category.OTHER,
            Criticality.NORMAL,
            mail.subject or NO_SUBJECT,
            text,
            Channel.EMAIL,
            sender=mail.sender,
            commit=False,
        )
        opened = True
    ticket = uow.support.tickets.get(ticket.id)  # as the message left it
    kept: list[str] = []
    refused: list[str] = []
    room = MAX_ATTACHMENTS_PER_TICKET - uow.support.attachments.count(ticket_id=ticket.id)
    for file in mail.files:
        name = file.filename or "attachment"
        if len(kept) >= room:
            refused.append(f"{name}: the ticket holds {MAX_ATTACHMENTS_PER_TICKET} attachments at most")
            continue
        try:
            kept.append(store_file(uow, ctx, ticket, file.filename, file.data).id)
        except NuageError as exc:
            refused.append(f"{name}: {exc}")
    uow.commit()
    return MailOutcome(mail.sender, ticket.id, opened, tuple(kept), tuple(refused))
