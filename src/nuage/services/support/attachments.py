"""SUP-1: files, call recordings and call records attached to a ticket, in the ticket's tenant.

A file is kept with the ticket (bounded, its type sniffed from its bytes); a call recording or a
call record is linked, and only one of the ticket's own account: another account's is not found
(TEN-4), like a missing one. Each attachment is written in the ticket's history.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Protocol

from nuage.documents.messages import message
from nuage.errors import Conflict, InvalidInput, NotFound
from nuage.services.call_record_ports import CallRecordFilter, CallRecordQuery, CallRecordsUnitOfWork
from nuage.services.context import Context
from nuage.services.support.ports import (
    AttachmentBytes,
    EventKind,
    SupportUnitOfWork,
    Ticket,
    TicketAttachment,
)
from nuage.services.support.tickets import add_event, get_ticket
from nuage.shared.ids import new_id
from nuage.support.attachments import (
    MAX_ATTACHMENTS_PER_TICKET,
    AttachmentKind,
    check_size,
    safe_filename,
    sniff,
)
from nuage.support.status import TicketStatus


class AttachmentsUnitOfWork(SupportUnitOfWork, CallRecordsUnitOfWork, Protocol):
    """A unit of work with the support records and the call records (a link checks its call)."""


def _open_ticket(uow: SupportUnitOfWork, ctx: Context, ticket_id: str) -> Ticket:
    ticket = get_ticket(uow, ctx, ticket_id)
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict("This ticket is closed: a new request is a new ticket", ticket=ticket.id)
    if uow.support.attachments.count(ticket_id=ticket.id) >= MAX_ATTACHMENTS_PER_TICKET:
        raise Conflict(f"A ticket holds at most {MAX_ATTACHMENTS_PER_TICKET} attachments", ticket=ticket.id)
    return ticket


def _record(uow: SupportUnitOfWork, ctx: Context, ticket: Ticket, attachment: TicketAttachment) -> None:
    uow.support.attachments.add(attachment)
    text = message(
        "support.mail.attachment", ticket.language.value, name=attachment.filename, size=attachment.size_bytes
    )
    add_event(
        uow,
        ticket,
        attachment.added_at,
        ctx.scope.viewer_id,
        EventKind.MESSAGE,
        text,
        from_desk=ctx.scope.is_operator,
    )


def store_file(
    uow: SupportUnitOfWork, ctx: Context, ticket: Ticket, filename: str | None, data: bytes
) -> TicketAttachment:
    """SUP-1: keep a file on a ticket the caller sees (checked, not committed)."""
    check_size(len(data))
    media = sniff(data)
    attachment = TicketAttachment(
        id=new_id("att"),
        ticket_id=ticket.id,
        account_id=ticket.account_id,
        kind=AttachmentKind.FILE,
        filename=safe_filename(filename, media),
        content_type=media,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        added_at=ctx.clock.now(),
        added_by=ctx.scope.viewer_id,
    )
    _record(uow, ctx, ticket, attachment)
    uow.support.attachment_bytes.add(AttachmentBytes(attachment.id, data))
    return attachment


def attach_file(
    uow: SupportUnitOfWork, ctx: Context, ticket_id: str, filename: str | None, data: bytes
) -> TicketAttachment:
    """SUP-1: attach a file (a screenshot, a log, a recording) to a ticket."""
    attachment = store_file(uow, ctx, _open_ticket(uow, ctx, ticket_id), filename, data)
    uow.commit()
    return attachment


def attach_call(
    uow: AttachmentsUnitOfWork, ctx: Context, ticket_id: str, kind: AttachmentKind, target_id: str
) -> TicketAttachment:
    """SUP-1: link a call recording or a call record of the ticket's own account to the ticket."""
    ticket = _open_ticket(uow, ctx, ticket_id)
    if kind is AttachmentKind.CALL_RECORDING:
        recording = uow.call_recordings.find(target_id)
        if recording is None or recording.account_id != ticket.account_id:
            raise NotFound("call recording", target_id)
        name, size = f"recording-{recording.call_id}.flac", recording.size_bytes
    elif kind is AttachmentKind.CALL_RECORD:
        record = _call_record(uow, ticket, target_id)
        name, size = f"call-{record}.cdr", 0
    else:
        raise InvalidInput("kind", "Link a call_recording or a call_record; upload a file instead")
    if uow.support.attachments.find_by(ticket_id=ticket.id, target_id=target_id) is not None:
        raise Conflict(f"{kind.value} {target_id} is already attached to this ticket", ticket=ticket.id)
    attachment = TicketAttachment(
        id=new_id("att"),
        ticket_id=ticket.id,
        account_id=ticket.account_id,
        kind=kind,
        filename=name,
        content_type="application/vnd.nuage.link",
        size_bytes=size,
        sha256="",
        added_at=ctx.clock.now(),
        added_by=ctx.scope.viewer_id,
        target_id=target_id,
    )
    _record(uow, ctx, ticket, attachment)
    uow.commit()
    return attachment


def _call_record(uow: CallRecordsUnitOfWork, ticket: Ticket, record_id: str) -> str:
    """The call id of one of the account's call records (another account's is not found)."""
    query = CallRecordQuery(
        CallRecordFilter(account_id=ticket.account_id, since=ticket.opened_at - timedelta(days=400)),
        frozenset({ticket.account_id}),
        frozenset(),
        limit=10_000,
    )
    for record in uow.call_records.page(query):
        if record.id == record_id:
            return record.call_id
    raise NotFound("call record", record_id)


def list_attachments(uow: SupportUnitOfWork, ctx: Context, ticket_id: str) -> list[TicketAttachment]:
    """SUP-1: a ticket's attachments, oldest first (their bytes left out)."""
    ticket = get_ticket(uow, ctx, ticket_id)
    return uow.support.attachments.list(ticket_id=ticket.id, order_by=("added_at", "id"))


def get_attachment(
    uow: SupportUnitOfWork, ctx: Context, ticket_id: str, attachment_id: str
) -> tuple[TicketAttachment, bytes | None]:
    """SUP-1: one attachment of a ticket the caller sees, with a file's bytes (None for a link)."""
    ticket = get_ticket(uow, ctx, ticket_id)
    found = uow.support.attachments.find(attachment_id)
    if found is None or found.ticket_id != ticket.id:
        raise NotFound("attachment", attachment_id)
    stored = uow.support.attachment_bytes.find(found.id)
    return found, stored.data if stored is not None else None
