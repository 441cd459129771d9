"""SIP trunks of customers' PBXs (SIP-3, CFG-5, SIP-5): ``/trunks``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.resources.devices import SipPassword, SipUser
from nuage.api.schemas import Id, Input, Name, Output, Street, changes
from nuage.directory.model import LinePurpose, TrunkAuth
from nuage.services.directory.trunks import TrunkChanges, add_trunk, remove_trunk, update_trunk

Ips = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[0-9A-Fa-f.:/,\[\] ]+$")]
ChannelLimit = Annotated[int, Field(ge=1, le=100_000)]


class TrunkCreate(Input):
    """SIP-3: by registration (generated credentials unless given) or by IP; CFG-5 refuses alarm/lift."""

    account_id: Id | None = None
    name: Name
    auth: TrunkAuth
    purpose: LinePurpose = LinePurpose.TELEPHONY
    sip_username: SipUser | None = None
    sip_password: SipPassword | None = None
    allowed_ips: Ips | None = None
    channel_limit: ChannelLimit | None = None
    site: Street | None = None  # EMG-2: where the PBX's phones stand


class TrunkUpdate(Input):
    """Change a trunk; CFG-5 and SIP-5 still hold."""

    name: Name | None = None
    channel_limit: ChannelLimit | None = None
    allowed_ips: Ips | None = None
    purpose: LinePurpose | None = None
    sip_password: SipPassword | None = None
    emergency_number_id: Id | None = None
    site: Street | None = None


class TrunkOut(Output):
    """A customer's trunk (its SIP password is shown only when created)."""

    id: str
    account_id: str
    name: str
    auth: TrunkAuth
    purpose: LinePurpose
    sip_username: str | None
    allowed_ips: str | None
    emergency_number_id: str | None
    channel_limit: int | None
    site: str | None
    created_at: datetime


class TrunkCreated(TrunkOut):
    """The new trunk with its SIP password, shown this once (SIP-5)."""

    sip_password: str | None


def _create(c: Call, body: TrunkCreate) -> Any:
    fields = body.model_dump(exclude={"account_id", "name", "auth"})
    return add_trunk(c.uow, c.ctx, body.account_id or c.claims.account_id, body.name, body.auth, **fields)


TRUNKS = Resource(
    path="/trunks",
    area="directory",
    name="trunks",
    tag="directory",
    noun="trunk",
    out=TrunkOut,
    created_out=TrunkCreated,
    repo=lambda uow: uow.trunks,
    filters={"account_id": Id, "auth": TrunkAuth},
    order_fields=("name", "created_at"),
    create_body=TrunkCreate,
    create=_create,
    update_body=TrunkUpdate,
    update=lambda c, key, body: update_trunk(
        c.uow, c.ctx, key, TrunkChanges(**changes(body, "name", "purpose", "sip_password"))
    ),
    delete=lambda c, key: remove_trunk(c.uow, c.ctx, key),
    rules="SIP-3, CFG-5 (alarm and lift lines refused), SIP-5.",
    refused_by=("CFG-5", "SIP-5"),
)

router = APIRouter()
register(router, TRUNKS)
