"""Virtual incoming faxes (CFG-7): ``/virtual-faxes`` and what they received, ``/received-faxes``.

A received fax is listed with its status (received, partial, failed), pages, sender and, when it
did not complete, the fax engine's reason; ``GET /received-faxes/{id}/pdf`` downloads its pages.
Tenant-scoped (TEN-4): another tenant's fax is 404, like a missing one.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from nuage.api.caching import cached_file_response, read_response
from nuage.api.crud import FORBIDDEN, NOT_FOUND, NOT_MODIFIED, Resource, register, responses
from nuage.api.deps import Call, call, runtime
from nuage.api.schemas import Email, Id, Input, Output
from nuage.errors import NotFound
from nuage.services import fax as faxes
from nuage.services.directory.media import add_virtual_fax, remove_virtual_fax


class FaxCreate(Input):
    """CFG-7: each number that leads to a virtual fax counts as one; fax is best effort."""

    account_id: Id | None = None
    number_id: Id
    email: Email


class FaxOut(Output):
    """A virtual fax: faxes to the number arrive by e-mail."""

    id: str
    account_id: str
    number_id: str
    email: str
    created_at: datetime


def _create(c: Call, body: FaxCreate) -> Any:
    return add_virtual_fax(c.uow, c.ctx, body.account_id or c.claims.account_id, body.number_id, body.email)


FAXES = Resource(
    path="/virtual-faxes",
    area="directory",
    name="virtual-faxes",
    tag="directory",
    noun="virtual fax",
    out=FaxOut,
    repo=lambda uow: uow.faxes,
    filters={"account_id": Id, "number_id": Id},
    order_fields=("created_at", "email"),
    create_body=FaxCreate,
    create=_create,
    delete=lambda c, key: remove_virtual_fax(c.uow, c.ctx, key),
    rules="CFG-7 (best effort: heavy fax users should keep an analogue line).",
)


class ReceivedFaxOut(Output):
    """CFG-7: one call to a virtual fax: received, partial (pages, then a failure) or failed."""

    id: str
    fax_id: str
    account_id: str
    received_at: datetime
    status: str
    pages: int
    reason: str
    sender: str
    caller: str
    size_bytes: int
    emailed_at: datetime | None


RECEIVED = Resource(
    path="/received-faxes",
    area="directory",
    name="received-faxes",
    tag="directory",
    noun="received fax",
    out=ReceivedFaxOut,
    repo=lambda uow: uow.received_faxes,
    filters={"account_id": Id, "fax_id": Id, "status": str},
    order_fields=("received_at",),
    rules="CFG-7 (best effort: a failed or partial fax says why).",
)

router = APIRouter()
register(router, FAXES)
register(router, RECEIVED)


@router.get(
    "/received-faxes/{received_id}/pdf",
    response_class=Response,
    summary="Download a received fax",
    tags=["directory"],
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The pages received, one PDF"},
        **responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    },
    openapi_extra={"x-permission": "directory.received-faxes.read"},
    description="The pages of a received fax (404 when no page arrived).\n\n"
    "Permission: `directory.received-faxes.read`.",
)
async def download_fax(received_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def find() -> Path:
        c.require("directory.received-faxes.read")
        fax = faxes.get_received(c.uow, c.ctx, received_id)  # TEN-4: 404 when not visible
        return faxes.pdf_file(runtime(request).platform.settings.data_dir, fax)

    path = await run_in_threadpool(find)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("received fax", received_id) from None
    return cached_file_response(request, content, "application/pdf", f"{received_id}.pdf")


class FaxUsageOut(Output):
    """CFG-7: the fax pages an account received lately; ``warning`` when it is a heavy fax user."""

    account_id: str
    days: int
    pages: int
    heavy: bool
    warning: str | None


HEAVY_WARNING = (
    "Fax over the internet is best effort: this account receives many faxes, keep an analogue line."
)


@router.get(
    "/customers/{account_id}/fax-usage",
    response_model=FaxUsageOut,
    summary="Fax pages received lately (CFG-7 warning)",
    tags=["directory"],
    responses=responses(FORBIDDEN, NOT_FOUND, NOT_MODIFIED),
    openapi_extra={"x-permission": "directory.received-faxes.read"},
    description="The pages received by the account's virtual faxes in the last days, and the best-effort "
    "warning of CFG-7 when they are many.\n\nPermission: `directory.received-faxes.read`.",
)
async def fax_usage(account_id: Id, request: Request, c: Call = Depends(call)) -> Response:
    def run() -> faxes.FaxUsage:
        c.require("directory.received-faxes.read")
        return faxes.fax_usage(c.uow, c.ctx, account_id)

    usage = await run_in_threadpool(run)
    out = FaxUsageOut(
        account_id=usage.account_id,
        days=usage.days,
        pages=usage.pages,
        heavy=usage.heavy,
        warning=HEAVY_WARNING if usage.heavy else None,
    )
    return read_response(request, out.model_dump_json().encode())
