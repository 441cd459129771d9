"""Billing (CNT-1, RAT-1..3, BIL-2..4, BIL-9, BIL-10): operator jobs and scoped invoices.

``POST /billing/counts``, ``/billing/ratings``, ``/billing/runs`` and ``/billing/cdr-imports``
(a ``text/csv`` body) are the operator's jobs; anyone else gets 404 (TEN-4: nothing reveals
them). ``GET /invoices`` and ``/invoices/{number}`` answer inside the caller's tenant: a
partner sees its own invoices, a customer its own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from nuage.api.caching import cached_file_response, read_response, write_response
from nuage.api.crud import CONFLICT, FORBIDDEN, MAX_PAGE, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call
from nuage.api.errors import ErrorBody
from nuage.api.resources.billing_runs import RunBody, RunOut, run_out
from nuage.api.schemas import MONTH_PATTERN, Input, MonthText, Output
from nuage.billing.vat import line_vat
from nuage.errors import Conflict, InvalidInput
from nuage.rating.csv_import import decoded_lines
from nuage.services.billing import cdr_import, counting, queries, rating
from nuage.services.payments import documents
from nuage.services.support import billing_run
from nuage.shared.month import Month

CSV_TYPES = ("text/csv",)


UNSUPPORTED = {415: {"description": "The body is not `text/csv`", "model": ErrorBody}}


class UnsupportedMediaType(StarletteHTTPException):
    """415: a body in another media type than the operation takes."""

    def __init__(self, detail: str) -> None:
        super().__init__(415, detail)


class CountBody(Input):
    """CNT-1: the month to freeze."""

    month: MonthText


class CountOut(Output):
    """CNT-1: accounts frozen, already frozen, not in service, refused (with the reason)."""

    month: str
    frozen: list[str]
    already_frozen: list[str]
    not_started: list[str]
    refused: dict[str, str]


class RatingOut(Output):
    """RAT: cost records stored per run and CDRs that could not be priced."""

    cdrs: int
    stored: dict[str, int]
    failure_count: int
    failures: list[list[str]]


class RowErrorOut(Output):
    """SIP-1: one refused field of one CSV row (row 0: the account is unknown)."""

    row: int
    field: str
    message: str


class ImportOut(Output):
    """SIP-1: CDRs stored, already stored, changed since imported (not applied), and the rows refused."""

    imported: int
    already_imported: int
    changed: int = Field(description="Rows whose cdr_id was imported before with other values: not applied")
    errors: list[RowErrorOut]


class SourceOut(Output):
    """BIL-10: what a line comes from."""

    kind: str
    key: str


class LineOut(Output):
    """BIL-10: one invoice line, its rule and its sources."""

    rule_id: str
    description_key: str
    description_params: dict[str, str]
    customer_id: str
    item_kind: str
    period: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    proration: str | None
    sources: list[SourceOut]
    vat_category: str  # BIL-4: S, AE, E or O (UNCL5305)
    vat_rate: Decimal


class InvoiceHeaderOut(Output):
    """BIL-4: an invoice or credit note, without its lines."""

    number: str
    document_type: str
    invoiced_party_id: str
    issue_on: date
    period: str | None
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    line_count: int
    replaces: str | None
    credits: str | None
    credited_by: str | None


class InvoicePage(Output):
    """A page of invoices and how many match in all."""

    items: list[InvoiceHeaderOut]
    total: int
    limit: int
    offset: int


class InvoiceOut(InvoiceHeaderOut):
    """BIL-4/BIL-10: an invoice with its lines, VAT and totals."""

    vat_regime: str
    vat_rate: Decimal
    vat_mention_key: str | None
    replaced_by: str | None
    lines: list[LineOut]


router = APIRouter()


@router.post(
    "/billing/counts",
    response_model=CountOut,
    summary="Freeze a month's summaries",
    tags=["billing"],
    responses=responses(NOT_FOUND, CONFLICT),
    **described("billing.counts.create", "CNT-1: freeze every customer's month-end summary (operator)."),
)
def create_count(body: CountBody, c: Call = Depends(call)) -> Response:
    c.require("billing.counts.create")
    report = counting.freeze_month(c.uow, c.ctx, Month.parse(body.month))
    out = CountOut(
        month=str(report.month),
        frozen=[summary.account_id for summary in report.frozen],
        already_frozen=report.already_frozen,
        not_started=report.not_started,
        refused=report.refused,
    )
    return write_response(out.model_dump_json().encode())


@router.post(
    "/billing/ratings",
    response_model=RatingOut,
    summary="Rate pending CDRs",
    tags=["billing"],
    responses=responses(NOT_FOUND),
    **described("billing.ratings.create", "RAT-1..3: rate every pending CDR in both runs (operator)."),
)
def create_rating(c: Call = Depends(call)) -> Response:
    c.require("billing.ratings.create")
    report = rating.rate_pending(c.runtime.platform.uow, c.ctx)
    out = RatingOut(
        cdrs=report.cdrs_seen,
        stored=report.stored,
        failure_count=report.failure_count,
        failures=[list(failure) for failure in report.failures],
    )
    return write_response(out.model_dump_json().encode())


@router.post(
    "/billing/runs",
    response_model=RunOut,
    summary="Run a period's billing",
    tags=["billing"],
    responses=responses(NOT_FOUND),
    **described("billing.runs.create", "BIL-2/BIL-3/BIL-9: the period's run; re-running issues nothing new."),
)
def create_run(body: RunBody, c: Call = Depends(call)) -> Response:
    c.require("billing.runs.create")
    platform = c.runtime.platform
    report = billing_run.run_billing(  # BIL-8: Telavox lines first
        platform.uow,
        c.ctx,
        Month.parse(body.period),
        validator=platform.einvoice_validator,
        run_on=body.run_on,
        settings=platform.payments,
        dry_run=body.dry_run,
    )
    out = run_out(report)
    return write_response(out.model_dump_json().encode())


@router.post(
    "/billing/cdr-imports",
    response_model=ImportOut,
    summary="Import CDRs from CSV",
    tags=["billing"],
    responses=responses(NOT_FOUND, UNSUPPORTED),
    openapi_extra={
        "x-permission": "billing.cdr-imports.create",
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True},
    },
    description="SIP-1: a CSV body (`cdr_id,account_id,started_at,destination,billable_seconds`); "
    "bad rows are reported, good rows kept; re-importing adds nothing.\n\n"
    "Permission: `billing.cdr-imports.create`.",
)
async def create_cdr_import(request: Request, c: Call = Depends(call)) -> Response:
    c.require("billing.cdr-imports.create")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise UnsupportedMediaType(
            f"Send the CDRs as {', '.join(CSV_TYPES)} (not {content_type or 'nothing'})"
        )
    raw = await request.body()  # at most ``body_limit.CSV_BYTES``: the edge refused more (413)
    lines = decoded_lines(raw.splitlines(keepends=True))  # not UTF-8: 422 naming the row
    report = cdr_import.import_cdrs(c.uow, c.ctx, lines)
    header = [error for error in report.errors if error.row == 1]
    if header:  # not a CDR file at all (empty, or not the expected columns)
        raise InvalidInput("body", f"CSV header: {header[0].field}: {header[0].message}")
    out = ImportOut(
        imported=report.imported,
        already_imported=report.already_imported,
        changed=report.changed,
        errors=[RowErrorOut(row=e.row, field=e.field, message=e.message) for e in report.errors],
    )
    return write_response(out.model_dump_json().encode())


DOCUMENT_FILES = {
    "pdf": ("application/pdf", "BIL-4: the invoice's PDF (TEN-4: another tenant's invoice is 404)."),
    "ubl": (
        "application/xml",
        "BIL-4: the invoice's Peppol BIS Billing 3.0 UBL e-invoice, validated (TEN-4: another "
        "tenant's invoice is 404).",
    ),
}


def _document_route(kind: str) -> None:
    media_type, text = DOCUMENT_FILES[kind]

    @router.get(
        f"/invoices/{{number}}/{kind}",
        summary=f"Get an invoice's {kind.upper()}",
        tags=["billing"],
        response_class=Response,
        responses={
            **responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
            200: {
                "description": f"The {kind.upper()} file",
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            },
        },
        **described("billing.invoices.read", text),
    )
    def get_document(
        number: Annotated[str, PathParam(max_length=32)], request: Request, c: Call = Depends(call)
    ) -> Response:
        queries.get_invoice(c.uow, c.ctx, number)  # TEN-4 first: another tenant's invoice is 404
        c.require("billing.invoices.read")
        # BIL-4: the stored files, as they are; the first read of an invoice not rendered yet renders
        # them from what was frozen at issue and stores them (the same bytes from then on).
        platform = c.runtime.platform
        try:
            with platform.uow() as uow:
                name, media, body = documents.document_file(uow, c.ctx, number, kind, platform.documents)
                uow.commit()
        except Conflict:  # another read stored them first: those are the invoice's files
            with platform.uow() as uow:
                name, media, body = documents.document_file(uow, c.ctx, number, kind, platform.documents)
        return cached_file_response(request, body, media, name)

    get_document.__name__ = f"get_invoice_{kind}"


def _header(h: object) -> InvoiceHeaderOut:
    return InvoiceHeaderOut.model_validate(h, from_attributes=True)


@router.get(
    "/invoices",
    response_model=InvoicePage,
    summary="List invoices",
    tags=["billing"],
    responses=responses(NOT_MODIFIED, FORBIDDEN),
    **described("billing.invoices.read", "BIL-4: the invoices the caller may see (TEN-4), oldest first."),
)
def list_invoices(
    request: Request,
    c: Call = Depends(call),
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
    period: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    customer_id: Annotated[str | None, Query(max_length=40, description="Invoices for this customer")] = None,
) -> Response:
    c.require("billing.invoices.read")
    page = queries.list_invoices(
        c.uow,
        c.ctx,
        period=None if period is None else Month.parse(period),
        customer_id=customer_id,
        limit=limit,
        offset=offset,
    )
    out = InvoicePage(items=[_header(h) for h in page.items], total=page.total, limit=limit, offset=offset)
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/invoices/{number}",
    response_model=InvoiceOut,
    summary="Get an invoice with its lines",
    tags=["billing"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(
        "billing.invoices.read", "BIL-4/BIL-10: an invoice, its lines with rules and sources, totals."
    ),
)
def get_invoice(
    number: Annotated[str, PathParam(max_length=32)], request: Request, c: Call = Depends(call)
) -> Response:
    stored = queries.get_invoice(c.uow, c.ctx, number)
    c.require("billing.invoices.read")
    issued = stored.issued
    draft = issued.draft
    totals = issued.totals
    out = InvoiceOut(
        number=issued.number,
        document_type=draft.document_type.value,
        invoiced_party_id=draft.invoiced_party_id,
        issue_on=draft.issue_on,
        period=None if draft.period is None else str(draft.period),
        currency=draft.currency,
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        line_count=len(draft.lines),
        replaces=draft.replaces,
        credits=draft.credits,
        credited_by=stored.credited_by,
        replaced_by=stored.replaced_by,
        vat_regime=draft.vat.regime.value,
        vat_rate=draft.vat.rate,
        vat_mention_key=draft.vat.mention_key,
        lines=[
            LineOut(
                rule_id=line.rule_id,
                description_key=line.description_key,
                description_params=dict(line.description_params),
                customer_id=line.customer_id,
                item_kind=line.item_kind,
                period=None if line.period is None else str(line.period),
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                proration=None
                if line.proration is None
                else f"{line.proration.numerator}/{line.proration.denominator}",
                sources=[SourceOut(kind=s.kind, key=s.key) for s in line.sources],
                vat_category=line_vat(line.vat, draft.vat).category.value,
                vat_rate=line_vat(line.vat, draft.vat).rate,
            )
            for line in draft.lines
        ],
    )
    return read_response(request, out.model_dump_json().encode())


for _kind in DOCUMENT_FILES:
    _document_route(_kind)
