"""Click-to-call web channels (CFG-10): ``/web-channels``; the operator sets the channels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output, Url, changes
from nuage.services.directory.media import (
    WebChannelChanges,
    add_web_channel,
    remove_web_channel,
    update_web_channel,
)

Channels = Annotated[int, Field(ge=1, le=1000)]


class WebChannelCreate(Input):
    """CFG-10: a click-to-call widget, billed by the channels the operator configured."""

    account_id: Id
    name: Name
    channels: Channels
    allowed_origin: Url | None = None
    target_number_id: Id | None = None


class WebChannelUpdate(Input):
    """Change a widget's name, origin or (operator) channels."""

    name: Name | None = None
    channels: Channels | None = None
    allowed_origin: Url | None = None


class WebChannelOut(Output):
    """A click-to-call widget."""

    id: str
    account_id: str
    name: str
    channels: int
    allowed_origin: str | None
    target_number_id: str | None
    created_at: datetime


def _create(c: Call, body: WebChannelCreate) -> Any:
    return add_web_channel(
        c.uow,
        c.ctx,
        body.account_id,
        body.name,
        body.channels,
        allowed_origin=body.allowed_origin,
        target_number_id=body.target_number_id,
    )


WEB_CHANNELS = Resource(
    path="/web-channels",
    area="directory",
    name="web-channels",
    tag="directory",
    noun="web channel",
    out=WebChannelOut,
    repo=lambda uow: uow.web_channels,
    filters={"account_id": Id},
    order_fields=("name", "created_at"),
    create_body=WebChannelCreate,
    create=_create,
    update_body=WebChannelUpdate,
    update=lambda c, key, body: update_web_channel(
        c.uow, c.ctx, key, WebChannelChanges(**changes(body, "name", "channels"))
    ),
    delete=lambda c, key: remove_web_channel(c.uow, c.ctx, key),
    rules="CFG-10.",
)

router = APIRouter()
register(router, WEB_CHANNELS)
