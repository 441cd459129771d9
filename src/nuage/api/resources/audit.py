"""Declaration audit and regularisation (CNT-4): ``/customers/{id}/audit`` and its regularisations;
the emergency caller-ID check (EMG-2) across accounts: ``/emergency/caller-id-check``.

A customer reads its own findings, a partner its customers', the operator everyone's (TEN-4);
each finding has a stable ``key`` and says whether it was regularised. Only the operator turns a
finding into a retroactive line on the next invoice (``POST .../audit/regularisations``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from nuage.api.caching import read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, ID, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.schemas import Input, Output
from nuage.services import views
from nuage.services.billing import audit
from nuage.terms.audit import ShortfallKind
from nuage.terms.emergency import FindingKind

READ = "billing.declaration-audit.read"
CREATE = "billing.regularisations.create"
EMERGENCY = "terms.emergency-readiness.read"
AccountParam = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]

router = APIRouter()


class RegularisationOut(Output):
    """CNT-4/BIL-10: the line a finding became, and the invoice that carries it (None: the next one)."""

    account_id: str
    finding: str
    rule_id: str
    amount: Decimal
    description_params: dict[str, str]
    sources: list[tuple[str, str]]
    created_on: date
    invoiced_in: str | None


class AuditFindingOut(Output):
    """CNT-4: one user the terms require that the declaration lacks, why, and its regularisation."""

    key: str
    kind: ShortfallKind
    rule_id: str
    device_id: str | None
    subject: str | None
    reason: str
    regularisation: RegularisationOut | None


class AccountAuditOut(Output):
    """CNT-4: required against declared users, every finding explained."""

    account_id: str
    declared_users: int
    required_users: int
    missing_users: int
    under_declared: bool
    findings: list[AuditFindingOut]


class RegulariseBody(Input):
    """CNT-4: the finding (its ``key``) to invoice retroactively."""

    finding: Annotated[str, Field(min_length=3, max_length=200, pattern=r"^[a-z_]+:[^\s]+$")]


def _regularisation_out(record: audit.RegularisationRecord) -> RegularisationOut:
    line = record.line
    return RegularisationOut(
        account_id=record.account_id,
        finding=record.finding,
        rule_id=line.rule_id,
        amount=line.amount,
        description_params=dict(line.description_params),
        sources=[(source.kind, source.key) for source in line.sources],
        created_on=record.created_on,
        invoiced_in=record.invoiced_in,
    )


@router.get(
    "/customers/{id}/audit",
    response_model=AccountAuditOut,
    summary="Declaration audit findings of an account",
    tags=["billing"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        READ, "CNT-4: what the declaration misses, from the configuration and the SIP registrations."
    ),
)
def read_audit(id: ID, request: Request, c: Call = Depends(call)) -> Response:
    found = audit.account_audit(c.uow, c.ctx, id)
    c.require(READ)
    report = found.audit
    out = AccountAuditOut(
        account_id=id,
        declared_users=report.declared_users,
        required_users=report.required_users,
        missing_users=report.missing_users,
        under_declared=report.under_declared,
        findings=[
            AuditFindingOut(
                key=s.key,
                kind=s.kind,
                rule_id=s.rule_id,
                device_id=s.device_id,
                subject=s.subject,
                reason=s.reason,
                regularisation=None
                if (done := found.regularisation_of(s)) is None
                else _regularisation_out(done),
            )
            for s in report.shortfalls
        ],
    )
    return read_response(request, out.model_dump_json().encode())


@router.post(
    "/customers/{id}/audit/regularisations",
    response_model=RegularisationOut,
    status_code=201,
    summary="Regularise a declaration finding",
    tags=["billing"],
    responses=responses(FORBIDDEN, NOT_FOUND, CONFLICT),
    **described(
        CREATE,
        "CNT-4: invoice a finding's missing user for every month invoiced since the contract start, "
        "on the next invoice (operator).",
    ),
)
def create_regularisation(id: ID, body: RegulariseBody, c: Call = Depends(call)) -> Response:
    c.require(CREATE)
    record = audit.regularise(c.uow, c.ctx, id, body.finding)
    return write_response(_regularisation_out(record).model_dump_json().encode(), 201)


class CallerIdFindingOut(Output):
    """EMG-2: a device or trunk whose emergency caller ID would not locate the caller."""

    account_id: str
    kind: FindingKind
    rule_id: str
    item_kind: str
    item_id: str
    message: str


class CallerIdCheckOut(Output):
    """EMG-2: every device and trunk of the accounts the caller sees that would present a wrong place."""

    findings: list[CallerIdFindingOut]


@router.get(
    "/emergency/caller-id-check",
    response_model=CallerIdCheckOut,
    summary="Devices and trunks whose emergency caller ID is not their place",
    tags=["views"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        EMERGENCY,
        "EMG-2: devices and trunks with no located emergency caller ID or one whose block address is not "
        "their site, for one account (account_id) or every account the caller sees.",
    ),
)
def caller_id_check(request: Request, account_id: AccountParam = None, c: Call = Depends(call)) -> Response:
    c.require(EMERGENCY)
    found = views.emergency_caller_id_findings(c.uow, c.ctx, account_id)
    out = CallerIdCheckOut(
        findings=[
            CallerIdFindingOut(
                account_id=account,
                kind=f.kind,
                rule_id=f.rule_id,
                item_kind=f.item_kind,
                item_id=f.item_id,
                message=f.message,
            )
            for account, f in found
        ]
    )
    return read_response(request, out.model_dump_json().encode())
