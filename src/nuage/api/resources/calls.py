"""Call records (SIP-1, TEN-4/TEN-5): ``/call-records`` and its CSV export.

Paged by an opaque keyset cursor (``next_cursor``): a page never shifts when calls are added, and no
page counts the whole table. A user (role ``user``) reads its own calls with ``user_id`` set to
itself; administrators and supervisors read their tenant's. Prices are those the viewer may read:
a customer its retail prices, a partner also its wholesale prices, the operator both.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from nuage.api.caching import read_response
from nuage.api.crud import FORBIDDEN, NOT_FOUND, NOT_MODIFIED, described, responses
from nuage.api.deps import Call, call, runtime
from nuage.api.schemas import ID_PATTERN, MOMENT_PATTERN, Output
from nuage.errors import InvalidInput
from nuage.services import call_records as records
from nuage.services.call_record_ports import CallRecord, CallRecordFilter

router = APIRouter()

READ = "billing.call-records.read"
RULE = "SIP-1: the call detail records the caller may see (TEN-4), with the prices it may read (TEN-5)."

IdParam = Annotated[str | None, Query(min_length=1, max_length=40, pattern=ID_PATTERN)]
Direction = Literal["internal", "outbound", "inbound"]
Disposition = Literal[
    "answered", "busy", "no-answer", "cancelled", "refused", "not-found", "unavailable", "failed", "no-ack"
]


class PriceOut(Output):
    """TEN-5: one rating run's price of the call; ``invoice_id`` once an invoice carries it."""

    run: str
    amount: Decimal
    charged_seconds: int
    tariff_version: str
    invoice_id: str | None


class CallRecordOut(Output):
    """SIP-1: one call attempt: who, when, how it ended (``disposition``; ``reason`` says why when it
    is unusual: a 2xx never acknowledged, a call interrupted by a node failure), the rule that
    refused it, its prices."""

    id: str
    call_id: str
    account_id: str | None
    direction: str
    caller: str
    callee: str
    user_id: str | None
    device_id: str | None
    trunk_id: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    billable_seconds: int
    disposition: str
    reason: str | None
    sip_status: int
    refusal_rule: str | None
    emergency: bool
    source: str
    prices: list[PriceOut]
    loss_percent: float | None = Field(
        default=None, description="An anchored call's packet loss, % of the worse stream (null: not anchored)"
    )
    jitter_ms: float | None = Field(
        default=None, description="Its interarrival jitter (ms, the worse stream)"
    )
    mos: float | None = Field(default=None, description="Its E-model MOS estimate (1 to 4.5)")


class CallRecordPageOut(Output):
    """A page of call records, oldest first; ``next_cursor`` fetches the next (null on the last)."""

    items: list[CallRecordOut]
    next_cursor: str | None


_ISO_MOMENT = re.compile(MOMENT_PATTERN)
EXAMPLE = "2026-01-01T00:00:00+01:00"
#: a call's start bound: ISO 8601 with its offset (never a number of seconds read as some instant)
Moment = Annotated[str | None, Query(max_length=40, pattern=MOMENT_PATTERN, examples=[EXAMPLE])]


def _moment(text: str | None, field: str) -> datetime | None:
    """An ISO 8601 date and time with its offset; anything else (a number of seconds, a date alone)
    is refused naming the field, never read as some other instant."""
    if text is None:
        return None
    try:
        if not _ISO_MOMENT.match(text):
            raise ValueError(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            field,
            f"{field}: expected an ISO 8601 date and time with its offset, e.g. 2026-01-01T00:00:00+01:00",
        ) from None


def _filter(
    account_id: IdParam = None,
    user_id: IdParam = None,
    number: Annotated[str | None, Query(min_length=1, max_length=32, description="Caller or callee")] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="Started at or after (ISO 8601 with offset)")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="Started before (ISO 8601 with offset)")
    ] = None,
    direction: Direction | None = None,
    disposition: Disposition | None = None,
    refused_by: Annotated[
        str | None, Query(pattern=r"^[A-Z]{2,4}-[0-9]{1,3}$", description="The rule ID that refused the call")
    ] = None,
) -> CallRecordFilter:
    return CallRecordFilter(
        account_id=account_id,
        user_id=user_id,
        number=number,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
        direction=direction,
        disposition=disposition,
        refused_by=refused_by,
    )


def _out(record: CallRecord) -> CallRecordOut:
    return CallRecordOut(
        id=record.id,
        call_id=record.call_id,
        account_id=record.account_id,
        direction=record.direction,
        caller=record.caller,
        callee=record.callee,
        user_id=record.user_id,
        device_id=record.device_id,
        trunk_id=record.trunk_id,
        started_at=record.started_at,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        billable_seconds=record.billable_seconds,
        disposition=record.disposition,
        reason=record.reason,
        sip_status=record.sip_status,
        refusal_rule=record.refusal_rule,
        emergency=record.emergency,
        source=record.source,
        prices=[PriceOut.model_validate(price) for price in record.prices],
        loss_percent=record.loss_percent,
        jitter_ms=record.jitter_ms,
        mos=record.mos,
    )


@router.get(
    "/call-records",
    response_model=CallRecordPageOut,
    summary="List call records",
    tags=["calls"],
    responses=responses(NOT_MODIFIED, FORBIDDEN, NOT_FOUND),
    **described(READ, RULE),
)
def list_call_records(
    request: Request,
    c: Call = Depends(call),
    wanted: CallRecordFilter = Depends(_filter),
    limit: Annotated[int, Query(ge=1, le=records.MAX_PAGE, description="Page size")] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200, description="From next_cursor")] = None,
) -> Response:
    c.require(READ, self_id=wanted.user_id)
    page = records.list_call_records(c.uow, c.ctx, wanted, after=cursor, limit=limit)
    out = CallRecordPageOut(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)
    return read_response(request, out.model_dump_json().encode())


@router.get(
    "/call-records/export.csv",
    response_class=StreamingResponse,
    summary="Export call records as CSV",
    tags=["calls"],
    responses={
        **responses(FORBIDDEN, NOT_FOUND),
        200: {"content": {"text/csv": {}}, "description": "Every matching record, oldest first"},
    },
    **described(READ, RULE + " The whole selection, streamed; a period spans at most 366 days."),
)
def export_call_records(
    request: Request, c: Call = Depends(call), wanted: CallRecordFilter = Depends(_filter)
) -> StreamingResponse:
    c.require(READ, self_id=wanted.user_id)
    query = records.export_query(c.uow, c.ctx, wanted)
    runs = records.visible_runs(query)
    units = runtime(request).uow
    return StreamingResponse(
        (chunk.encode() for chunk in records.csv_chunks(records.export_batches(units, query), runs)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="call-records.csv"',
            "Cache-Control": "no-store",
        },
    )
