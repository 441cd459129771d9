"""Read-only computed views of an account: capacity (CAP-1/2), declaration audit (CNT-4),
emergency readiness (EMG-1..3): ``/customers/{id}/capacity``, ``/declaration-audit``,
``/emergency-readiness``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from nuage.api.caching import read_response
from nuage.api.crud import FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import Output
from nuage.services import views as v
from nuage.tenancy.model import CapacityReading
from nuage.terms.audit import ShortfallKind
from nuage.terms.emergency import FindingKind


class CapacityOut(Output):
    """CAP-1/CAP-2: channels, the rule they come from and the pack that fixes them if any."""

    account_id: str
    channels: int
    rule_id: str
    billable_users: int
    reading: CapacityReading
    pack_id: str | None
    trunk_channels: int  # SIP-3: channels the trunks subscribe, included in ``channels``


class ShortfallOut(Output):
    """CNT-4: one user the terms require that the declaration lacks, and why."""

    kind: ShortfallKind
    rule_id: str
    device_id: str | None
    reason: str


class AuditOut(Output):
    """CNT-4: required against declared users, each shortfall explained."""

    account_id: str
    declared_users: int
    required_users: int
    missing_users: int
    under_declared: bool
    shortfalls: list[ShortfallOut]


class FindingOut(Output):
    """EMG-1..3: one finding; ``blocking`` for EMG-1/2 configuration errors, EMG-3 ones are warnings."""

    kind: FindingKind
    rule_id: str
    item_kind: str
    item_id: str
    message: str
    blocking: bool


class ReadinessOut(Output):
    """EMG-1..3: ``ready`` when no blocking finding remains."""

    account_id: str
    ready: bool
    findings: list[FindingOut]


router = APIRouter()


@router.get(
    "/customers/{id}/capacity",
    response_model=CapacityOut,
    summary="Channel capacity of an account",
    tags=["views"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        "terms.capacity.read", "CAP-1 from the billable users, unless a pack fixes the limit (CAP-2)."
    ),
)
def capacity(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    cap = v.capacity_of(c.uow, c.ctx, id)
    c.require("terms.capacity.read")
    out = CapacityOut(
        account_id=id,
        channels=cap.channels,
        rule_id=cap.rule_id,
        billable_users=cap.billable_users,
        reading=cap.reading,
        pack_id=cap.pack_id,
        trunk_channels=cap.trunk_channels,
    )
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/customers/{id}/declaration-audit",
    response_model=AuditOut,
    summary="Declaration audit of an account",
    tags=["views"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        "terms.declaration-audit.read", "CNT-4: users the configuration requires against those declared."
    ),
)
def declaration_audit(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    audit = v.declaration_audit_of(c.uow, c.ctx, id)
    c.require("terms.declaration-audit.read")
    out = AuditOut(
        account_id=id,
        declared_users=audit.declared_users,
        required_users=audit.required_users,
        missing_users=audit.missing_users,
        under_declared=audit.under_declared,
        shortfalls=[ShortfallOut.model_validate(s) for s in audit.shortfalls],
    )
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/customers/{id}/emergency-readiness",
    response_model=ReadinessOut,
    summary="Emergency readiness of an account",
    tags=["views"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        "terms.emergency-readiness.read",
        "EMG-1 block addresses, EMG-2 emergency caller IDs, EMG-3 nomadic and hot-desk warnings.",
    ),
)
def emergency_readiness(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    readiness = v.emergency_readiness_of(c.uow, c.ctx, id)
    c.require("terms.emergency-readiness.read")
    out = ReadinessOut(
        account_id=id,
        ready=readiness.ready,
        findings=[FindingOut.model_validate(f) for f in readiness.findings],
    )
    return read_response(request, out.model_dump_json().encode())
