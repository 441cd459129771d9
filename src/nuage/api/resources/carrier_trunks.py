"""The operator's carrier trunks (SIP-1): ``/carrier-trunks``; nobody else sees them (TEN-4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Input, Name, Output, changes
from nuage.services.directory.carrier_trunks import (
    CarrierTrunkChanges,
    add_carrier_trunk,
    get_carrier_trunk,
    remove_carrier_trunk,
    update_carrier_trunk,
)

Host = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9.:\[\]-]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]


class CarrierCreate(Input):
    """SIP-1: a gateway to the public network."""

    name: Name
    host: Host
    port: Port = 5060


class CarrierUpdate(Input):
    """Change a gateway or take it out of rotation."""

    name: Name | None = None
    host: Host | None = None
    port: Port | None = None
    transport: Literal["udp", "tcp", "tls"] | None = None
    enabled: bool | None = None


class CarrierOut(Output):
    """A carrier trunk."""

    id: str
    name: str
    host: str
    port: int
    transport: str
    enabled: bool
    created_at: datetime


def _create(c: Call, body: CarrierCreate) -> Any:
    return add_carrier_trunk(c.uow, c.ctx, body.name, body.host, body.port)


CARRIERS = Resource(
    path="/carrier-trunks",
    area="directory",
    name="carrier-trunks",
    tag="operator",
    noun="carrier trunk",
    out=CarrierOut,
    repo=lambda uow: uow.carrier_trunks,
    owner_field="id",
    filters={"enabled": bool},
    order_fields=("name", "created_at"),
    create_body=CarrierCreate,
    create=_create,
    update_body=CarrierUpdate,
    update=lambda c, key, body: update_carrier_trunk(
        c.uow,
        c.ctx,
        key,
        CarrierTrunkChanges(**changes(body, "name", "host", "port", "transport", "enabled")),
    ),
    delete=lambda c, key: remove_carrier_trunk(c.uow, c.ctx, key),
    get=lambda c, key: get_carrier_trunk(c.uow, c.ctx, key),
    rules="SIP-1. Operator only.",
)

router = APIRouter()
register(router, CARRIERS)
