"""Virtual incoming faxes (CFG-7): ``/virtual-faxes``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Email, Id, Input, Output
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

router = APIRouter()
register(router, FAXES)
