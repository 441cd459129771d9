"""Traffic packs (CFG-11, CAP-2): ``/traffic-packs``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output
from nuage.services.directory.media import add_traffic_pack, remove_traffic_pack


class PackCreate(Input):
    """CFG-11: minutes or an amount, bought by count; CAP-2: ``channel_limit`` replaces the CAP-1 formula."""

    account_id: Id | None = None
    name: Name
    quantity: Annotated[int, Field(ge=1, le=10000)] = 1
    valid_from: Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]
    minutes: Annotated[int, Field(ge=1, le=100_000_000)] | None = None
    amount: Annotated[Decimal, Field(gt=0, le=Decimal("9999999999"), decimal_places=4)] | None = None
    channel_limit: Annotated[int, Field(ge=1, le=100_000)] | None = None
    valid_until: Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))] | None = None


class PackOut(Output):
    """A traffic pack; ``amount`` is a decimal string."""

    id: str
    account_id: str
    name: str
    quantity: int
    valid_from: date
    valid_until: date | None
    minutes: int | None
    amount: Decimal | None
    channel_limit: int | None
    created_at: datetime


def _create(c: Call, body: PackCreate) -> Any:
    fields = body.model_dump(exclude={"account_id", "name"})
    return add_traffic_pack(c.uow, c.ctx, body.account_id or c.claims.account_id, body.name, **fields)


PACKS = Resource(
    path="/traffic-packs",
    area="directory",
    name="traffic-packs",
    tag="directory",
    noun="traffic pack",
    out=PackOut,
    repo=lambda uow: uow.packs,
    filters={"account_id": Id},
    order_fields=("created_at", "name", "valid_from"),
    create_body=PackCreate,
    create=_create,
    delete=lambda c, key: remove_traffic_pack(c.uow, c.ctx, key),
    rules="CFG-11, CAP-2.",
)

router = APIRouter()
register(router, PACKS)
