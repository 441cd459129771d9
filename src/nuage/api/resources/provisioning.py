"""Provisioning credentials of desk phones (HW-1): ``/devices/{id}/provisioning``.

Issuing one gives the phone's provisioning URL once (its token is kept only as a hash); the phone
fetches ``<url><file>`` by itself, ``<file>`` being its vendor's name for its MAC address.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Response

from nuage.api.caching import write_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import unprocessable
from nuage.api.schemas import Output
from nuage.provisioning.phones import Vendor, config_filename
from nuage.services.support import provisioning

UPDATE = "directory.devices.update"

router = APIRouter(tags=["directory"])


class ProvisioningOut(Output):
    """HW-1: the phone's own provisioning URL (shown once) and the file it will ask for."""

    device_id: str
    vendor: Vendor
    mac: str
    url: str  # the path under this server; the phone appends ``filename``
    filename: str
    issued_at: datetime


@router.post(
    "/devices/{id}/provisioning",
    response_model=ProvisioningOut,
    status_code=201,
    summary="Issue a desk phone's provisioning URL",
    responses=responses(FORBIDDEN, NOT_FOUND, unprocessable("HW-1")),
    **described(
        UPDATE,
        "HW-1: a new credential for the phone (the previous one stops working); the phone fetches its "
        "configuration by MAC from this URL, generated from the device and user records.",
    ),
)
def issue_provisioning(id: ID, c: Call = Depends(call)) -> Response:
    c.require(UPDATE)
    credential, token = provisioning.issue(c.uow, c.ctx, id)
    vendor = Vendor(credential.vendor)
    out = ProvisioningOut(
        device_id=credential.device_id,
        vendor=vendor,
        mac=credential.mac,
        url=f"/provisioning/{token}/",
        filename=config_filename(vendor, credential.mac),
        issued_at=credential.issued_at,
    )
    return write_response(out.model_dump_json().encode(), 201)
