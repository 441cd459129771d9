"""Call records (SIP-1, TEN-4, TEN-5): the CDRs a caller may see, filtered, a page at a time or whole.

Owns the filter (account, user, number, period, direction, disposition, refusing rule), its bounds,
the keyset cursor (``started_at`` then id: a page never shifts when calls are added) and which
prices a viewer may read: a customer its retail prices only, a partner also the wholesale prices
the operator invoices it, the operator everything (``rating.runs.runs_visible_to``).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from nuage.errors import InvalidInput, NotFound
from nuage.rating.runs import RatingRun, runs_visible_to
from nuage.services.call_record_ports import (
    CallRecord,
    CallRecordFilter,
    CallRecordQuery,
    CallRecordsUnitOfWork,
)
from nuage.services.context import Context
from nuage.shared.phone import dialled_to_e164
from nuage.tenancy.model import PartyKind

DIRECTIONS = frozenset({"internal", "outbound", "inbound"})
DISPOSITIONS = frozenset(
    {
        "answered",
        "busy",
        "no-answer",
        "cancelled",
        "refused",
        "not-found",
        "unavailable",
        "failed",
        "no-ack",
    }
)
MAX_PAGE = 500
#: a filter spans at most this long: an export of a year is the largest a person asks for
MAX_SPAN = timedelta(days=366)
EXPORT_BATCH = 1000
_DIALLABLE = frozenset("0123456789+ ().-")


@dataclass(frozen=True)
class CallRecordPage:
    """One page and the cursor of the next (``None`` on the last page)."""

    items: list[CallRecord]
    next_cursor: str | None


def encode_cursor(record: CallRecord) -> str:
    """An opaque cursor after ``record``."""
    raw = f"{record.started_at.isoformat()}|{record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; a cursor we did not make is ``InvalidInput``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        started, record_id = raw.split("|", 1)
        at = datetime.fromisoformat(started)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidInput("cursor", "Not a cursor this API gave: start again without it") from error
    if at.tzinfo is None or not record_id or len(record_id) > 64:
        raise InvalidInput("cursor", "Not a cursor this API gave: start again without it")
    return at, record_id


def _checked(wanted: CallRecordFilter) -> CallRecordFilter:
    if wanted.direction is not None and wanted.direction not in DIRECTIONS:
        raise InvalidInput("direction", f"direction is one of {', '.join(sorted(DIRECTIONS))}")
    if wanted.disposition is not None and wanted.disposition not in DISPOSITIONS:
        raise InvalidInput("disposition", f"disposition is one of {', '.join(sorted(DISPOSITIONS))}")
    for name in ("since", "until"):
        at = getattr(wanted, name)
        if at is not None and at.tzinfo is None:
            raise InvalidInput(name, f"{name} needs its offset, e.g. 2026-01-01T00:00:00+01:00")
    if wanted.since is not None and wanted.until is not None:
        if wanted.until <= wanted.since:
            raise InvalidInput("until", "until comes after since")
        if wanted.until - wanted.since > MAX_SPAN:
            raise InvalidInput("until", "a period spans at most 366 days: export it a year at a time")
    return wanted


def _numbers(number: str | None) -> tuple[str, ...]:
    if number is None:
        return ()
    text = number.strip()
    if (
        not text
        or len(text) > 32
        or not all(ch.isascii() and (ch.isdigit() or ch in "+ ().-") for ch in text)
    ):
        raise InvalidInput("number", "number is a phone number or an extension, e.g. +3222001234 or 211")
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    forms = {digits}
    e164 = dialled_to_e164(digits)
    if e164 is not None:
        forms.add(e164)
    return tuple(sorted(forms))


def _query(
    uow: CallRecordsUnitOfWork, ctx: Context, wanted: CallRecordFilter, after: str | None, limit: int
) -> CallRecordQuery:
    wanted = _checked(wanted)
    scope = ctx.scope
    if wanted.account_id is not None:
        scope.require(wanted.account_id, "account")
        accounts: frozenset[str] | None = frozenset({wanted.account_id})
    else:
        accounts = scope.visible_ids
    viewer = uow.parties.find(scope.viewer_id)
    kind = PartyKind.OPERATOR if scope.is_operator or viewer is None else viewer.kind
    devices: tuple[str, ...] = ()
    if wanted.user_id is not None:
        user = uow.users.find(wanted.user_id)
        if user is None or not scope.can_see(user.account_id):
            raise NotFound("user", wanted.user_id)
        devices = tuple(d.id for d in uow.devices.list(user_id=user.id, limit=1000))
    return CallRecordQuery(
        filter=wanted,
        account_ids=accounts,
        runs=frozenset(run.value for run in runs_visible_to(kind)),
        numbers=_numbers(wanted.number),
        after=None if after is None else decode_cursor(after),
        limit=limit,
        user_device_ids=devices,
    )


def list_call_records(
    uow: CallRecordsUnitOfWork,
    ctx: Context,
    wanted: CallRecordFilter,
    *,
    after: str | None = None,
    limit: int = 50,
) -> CallRecordPage:
    """SIP-1/TEN-4: one page of the call records the caller may see, oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"limit is 1 to {MAX_PAGE}")
    query = _query(uow, ctx, wanted, after, limit + 1)
    found = uow.call_records.page(query)
    items = found[:limit]
    more = len(found) > limit
    return CallRecordPage(items, encode_cursor(items[-1]) if more and items else None)


def export_query(uow: CallRecordsUnitOfWork, ctx: Context, wanted: CallRecordFilter) -> CallRecordQuery:
    """SIP-1/TEN-4: the checked, scoped query of an export (``export_batches`` runs it)."""
    return _query(uow, ctx, wanted, None, EXPORT_BATCH)


def export_batches(
    units: Callable[[], AbstractContextManager[CallRecordsUnitOfWork]], query: CallRecordQuery
) -> Iterator[list[CallRecord]]:
    """Every record the query matches, oldest first, a batch per short transaction (a long export
    never holds one open; the keyset cursor keeps the order whatever is added meanwhile)."""
    while True:
        with units() as uow:
            batch = uow.call_records.page(query)
        if batch:
            yield batch
        if len(batch) < query.limit:
            return
        query = replace(query, after=(batch[-1].started_at, batch[-1].id))


CSV_COLUMNS = (
    "id",
    "call_id",
    "account_id",
    "direction",
    "caller",
    "callee",
    "user_id",
    "device_id",
    "trunk_id",
    "started_at",
    "answered_at",
    "ended_at",
    "billable_seconds",
    "disposition",
    "reason",
    "sip_status",
    "refusal_rule",
    "emergency",
    "source",
)


def csv_row(record: CallRecord, runs: Sequence[str]) -> list[str]:
    """One CSV row: the columns above, then an amount per visible run ("" when not rated).

    A value a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is quoted with a
    leading apostrophe, so an export never executes what a caller dialled.
    """
    values: list[str] = []
    for column in CSV_COLUMNS:
        value = getattr(record, column)
        if isinstance(value, datetime):
            text = value.isoformat()
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = "" if value is None else str(value)
        values.append(_cell(text))
    prices = {price.run: price for price in record.prices}
    values.extend(str(prices[run].amount) if run in prices else "" for run in runs)
    return values


def csv_chunks(batches: Iterable[list[CallRecord]], runs: Sequence[str]) -> Iterator[str]:
    """The export as CSV text, a chunk per batch: a header, then ``csv_row`` for every record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *(f"amount_{run}" for run in runs)])
    for batch in batches:
        writer.writerows(csv_row(record, runs) for record in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _cell(text: str) -> str:
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    return text.startswith("+") and text[1:].isdigit()


def visible_runs(query: CallRecordQuery) -> list[str]:
    """The runs whose prices the query reads, in a fixed order (the export's price columns)."""
    return [run.value for run in RatingRun if run.value in query.runs]
