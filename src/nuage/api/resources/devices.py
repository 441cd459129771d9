"""Devices (CFG-3, CFG-5, CFG-13, SIP-5, EMG-3): ``/devices``.

SIP passwords are shown once, in the answer that creates the device or sets a new password.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import StringConstraints

from nuage.api.crud import Resource, register
from nuage.api.deps import Call
from nuage.api.schemas import Id, Input, Name, Output, Street, changes
from nuage.directory.model import DeviceKind, LinePurpose
from nuage.services.directory.devices import DeviceChanges, add_device, remove_device, update_device

SipUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,64}$")]
SipPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")
]
Mac = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$")]


class DeviceCreate(Input):
    """CFG-3: a device, for a user or not; CFG-5 refuses alarm and lift lines (``purpose``)."""

    account_id: Id | None = None
    kind: DeviceKind
    label: Name
    user_id: Id | None = None
    room_id: Id | None = None
    purpose: LinePurpose = LinePurpose.TELEPHONY
    hot_desk: bool = False
    sip_username: SipUser | None = None
    sip_password: SipPassword | None = None
    site: Street | None = None
    mac_address: Mac | None = None


class DeviceUpdate(Input):
    """Relink, move or rename a device; CFG-2 and CFG-5 still hold; SIP-5 for a new password."""

    label: Name | None = None
    user_id: Id | None = None
    room_id: Id | None = None
    hot_desk: bool | None = None
    site: Street | None = None
    emergency_number_id: Id | None = None
    purpose: LinePurpose | None = None
    sip_password: SipPassword | None = None


class DeviceOut(Output):
    """A device; ``nomadic`` is EMG-3's warning: it cannot be located reliably for emergency calls."""

    id: str
    account_id: str
    kind: DeviceKind
    label: str
    user_id: str | None
    room_id: str | None
    sip_username: str | None
    purpose: LinePurpose
    hot_desk: bool
    site: str | None
    emergency_number_id: str | None
    mac_address: str | None
    nomadic: bool
    created_at: datetime


class DeviceCreated(DeviceOut):
    """The new device with its SIP password, shown this once (SIP-5)."""

    sip_password: str | None


def _create(c: Call, body: DeviceCreate) -> Any:
    fields = body.model_dump(exclude={"account_id", "kind", "label"})
    return add_device(c.uow, c.ctx, body.account_id or c.claims.account_id, body.kind, body.label, **fields)


def _update(c: Call, key: str, body: DeviceUpdate) -> Any:
    return update_device(
        c.uow, c.ctx, key, DeviceChanges(**changes(body, "label", "hot_desk", "purpose", "sip_password"))
    )


DEVICES = Resource(
    path="/devices",
    area="directory",
    name="devices",
    tag="directory",
    noun="device",
    out=DeviceOut,
    created_out=DeviceCreated,
    repo=lambda uow: uow.devices,
    filters={"account_id": Id, "user_id": Id, "room_id": Id, "kind": DeviceKind, "hot_desk": bool},
    order_fields=("created_at", "label", "kind"),
    create_body=DeviceCreate,
    create=_create,
    update_body=DeviceUpdate,
    update=_update,
    delete=lambda c, key: remove_device(c.uow, c.ctx, key),
    rules="CFG-3, CFG-5 (alarm and lift lines refused: 422 term-violation), CFG-13, SIP-5, EMG-3.",
    refused_by=("CFG-2", "CFG-5", "SIP-5"),
)

router = APIRouter()
register(router, DEVICES)
