"""Attachments of support tickets (SUP-1): ``/tickets/{id}/attachments``.

A file is uploaded as ``multipart/form-data`` (one ``file`` part, at most
``support.attachments.MAX_ATTACHMENT_BYTES``; the edge refuses a larger body with 413); its type
is sniffed from its bytes. A call recording or a call record of the ticket's own account is linked
with a JSON body. Everyone who sees the ticket reads its attachments (TEN-4).
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from nuage.api.caching import cached_file_response, read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Id, Input, Output
from nuage.errors import InvalidInput, NotFound
from nuage.services.support import attachments as att
from nuage.services.support.ports import TicketAttachment
from nuage.support.attachments import MAX_ATTACHMENT_BYTES, AttachmentKind

READ, UPDATE = "support.tickets.read", "support.tickets.update"

router = APIRouter(tags=["support"])


class AttachmentOut(Output):
    """SUP-1: a file on a ticket, or a linked call recording or call record."""

    id: str
    ticket_id: str
    account_id: str
    kind: AttachmentKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    added_at: datetime
    added_by: str
    target_id: str | None


class AttachmentPage(Output):
    """SUP-1: a ticket's attachments, oldest first."""

    items: list[AttachmentOut]


class LinkBody(Input):
    """SUP-1: a call attached to the ticket: one of the account's call recordings or call records."""

    kind: AttachmentKind
    target_id: Id


def _out(attachment: TicketAttachment) -> AttachmentOut:
    return AttachmentOut.model_validate(attachment, from_attributes=True)


def file_part(content_type: str, body: bytes) -> tuple[str | None, bytes]:
    """The ``file`` part of a ``multipart/form-data`` body: its file name and bytes."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise InvalidInput("content_type", "Upload the file as multipart/form-data with a 'file' part")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    assert isinstance(form, EmailMessage)
    for part in form.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            data = part.get_payload(decode=True)
            return part.get_filename(), data if isinstance(data, bytes) else b""
    raise InvalidInput("file", "The form has no 'file' part")


@router.post(
    "/tickets/{id}/attachments",
    response_model=AttachmentOut,
    status_code=201,
    summary="Attach a file to a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("SUP-1")),
    openapi_extra={
        "x-permission": UPDATE,
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        },
    },
    description=f"SUP-1: one file (PDF, image, sound, ZIP or text; its bytes decide the type), at most "
    f"{MAX_ATTACHMENT_BYTES} bytes.\n\nPermission: `{UPDATE}`.",
)
async def attach_file(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    body = await request.body()  # bounded at the edge (body_limit: MULTIPART_BYTES)
    filename, data = file_part(request.headers.get("content-type", ""), body)

    def work() -> bytes:
        c.require(UPDATE)
        return _out(att.attach_file(c.uow, c.ctx, id, filename, data)).model_dump_json().encode()

    return write_response(await run_in_threadpool(work), 201)


@router.post(
    "/tickets/{id}/attachments/links",
    response_model=AttachmentOut,
    status_code=201,
    summary="Attach a call recording or a call record to a ticket",
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT, unprocessable("SUP-1")),
    **described(UPDATE, "SUP-1: a call of the ticket's own account attached to it (another's is not found)."),
)
def link_call(id: ID, body: LinkBody, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    found = att.attach_call(c.uow, c.ctx, id, body.kind, body.target_id)
    return write_response(_out(found).model_dump_json().encode(), 201)


@router.get(
    "/tickets/{id}/attachments",
    response_model=AttachmentPage,
    summary="A ticket's attachments",
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, "SUP-1: the files and calls attached to a ticket, oldest first."),
)
def list_attachments(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    page = AttachmentPage(items=[_out(a) for a in att.list_attachments(c.uow, c.ctx, id)])
    return read_response(request, page.model_dump_json().encode())


@router.get(
    "/tickets/{id}/attachments/{attachment_id}/content",
    summary="Download a file attached to a ticket",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file, as uploaded"},
        **responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    },
    **described(READ, "SUP-1: the file's bytes, with the type sniffed at upload (a link has none: 404)."),
)
def download(id: ID, attachment_id: ID, request: Request, c: Call = Depends(call)) -> Response:
    c.require(READ)
    found, data = att.get_attachment(c.uow, c.ctx, id, attachment_id)
    if data is None:
        raise NotFound("attachment content", attachment_id)
    response = cached_file_response(request, data, found.content_type, found.filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"  # the browser never runs it as a page
    return response
