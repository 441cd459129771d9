"""CSV import of call detail records (SIP-1 → RAT): good rows kept, bad rows reported.

Format: a header row, then one CDR per row, comma-separated, UTF-8::

    cdr_id,account_id,started_at,destination,billable_seconds[,emergency]
    c-1,acc-1,2025-01-10T09:00:00+01:00,+3222001122,61
    c-2,acc-1,2025-01-10T09:05:00+01:00,112,30,true

* ``started_at``: ISO 8601 with a UTC offset (naive times are refused).
* ``destination``: E.164 (``+`` and 1-15 digits) or an emergency short number.
* ``billable_seconds``: a whole number ≥ 0.
* ``emergency`` (optional): true/false/1/0/yes/no; when the column or value is
  absent, a destination among the emergency numbers (EMG-4: 112, 100, 101 and those the
  operator listed, ``terms.emergency.emergency_numbers``) is an emergency call (RAT-3).

Row numbers are the file's line numbers as a spreadsheet shows them (the header
is row 1). A bad row yields one ``RowError`` per bad field and is left out; every
good row is kept. A ``cdr_id`` repeated in the file is an error on the later row.

Entry point: ``parse_cdr_csv(text_or_lines, emergency) -> CdrImport``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from nuage.rating.cdr import Cdr, destination_digits
from nuage.terms.emergency import EMERGENCY_NUMBERS

REQUIRED_COLUMNS = ("cdr_id", "account_id", "started_at", "destination", "billable_seconds")
_E164 = re.compile(r"\+[1-9][0-9]{0,14}")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


@dataclass(frozen=True)
class RowError:
    """SIP-1: why one field of one CSV row was refused."""

    row: int
    field: str
    message: str


@dataclass(frozen=True)
class CdrImport:
    """SIP-1: the CDRs parsed from a CSV file and the errors of the rows left out."""

    cdrs: tuple[Cdr, ...]
    errors: tuple[RowError, ...]


def _parse_started_at(raw: str) -> datetime | str:
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return f"not an ISO 8601 date-time: {raw!r}"
    if at.tzinfo is None or at.utcoffset() is None:
        return f"a UTC offset is required: {raw!r}"
    return at


def _parse_row(
    row_number: int, values: dict[str, str], seen: set[str], emergency_numbers: frozenset[str]
) -> Cdr | list[RowError]:
    errors: list[RowError] = []
    cdr_id = values.get("cdr_id", "").strip()
    if not cdr_id:
        errors.append(RowError(row_number, "cdr_id", "cdr_id is required"))
    elif cdr_id in seen:
        errors.append(RowError(row_number, "cdr_id", f"cdr_id {cdr_id!r} appears earlier in the file"))
    account_id = values.get("account_id", "").strip()
    if not account_id:
        errors.append(RowError(row_number, "account_id", "account_id is required"))
    started_at = _parse_started_at(values.get("started_at", "").strip())
    if isinstance(started_at, str):
        errors.append(RowError(row_number, "started_at", started_at))
    destination = values.get("destination", "").strip().replace(" ", "")
    is_short_emergency = destination_digits(destination) in emergency_numbers
    if not (_E164.fullmatch(destination) or is_short_emergency):
        errors.append(RowError(row_number, "destination", f"not an E.164 number: {destination!r}"))
    raw_seconds = values.get("billable_seconds", "").strip()
    seconds = int(raw_seconds) if raw_seconds.isdigit() else -1
    if seconds < 0:
        errors.append(RowError(row_number, "billable_seconds", f"not a whole number ≥ 0: {raw_seconds!r}"))
    raw_emergency = (values.get("emergency") or "").strip().lower()
    if raw_emergency in _TRUE:
        emergency = True
    elif raw_emergency in _FALSE:
        emergency = is_short_emergency if raw_emergency == "" else False
    else:
        emergency = False
        errors.append(RowError(row_number, "emergency", f"not a boolean: {raw_emergency!r}"))
    if errors or isinstance(started_at, str):
        return errors
    seen.add(cdr_id)
    return Cdr(cdr_id, account_id, started_at, destination, seconds, emergency)


def parse_cdr_csv(
    source: str | Iterable[str], emergency_numbers: frozenset[str] = EMERGENCY_NUMBERS
) -> CdrImport:
    """SIP-1: parse a CDR CSV; keep every good row, report each bad field with its row number.

    ``emergency_numbers`` (EMG-4, RAT-3): the short numbers a destination may be besides E.164.
    """
    lines = source.splitlines() if isinstance(source, str) else source
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return CdrImport((), (RowError(1, "header", "the file is empty"),))
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        errors = tuple(RowError(1, name, f"column {name!r} is missing") for name in missing)
        return CdrImport((), errors)
    cdrs: list[Cdr] = []
    row_errors: list[RowError] = []
    seen: set[str] = set()
    for row in reader:
        row_number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            row_errors.append(
                RowError(row_number, "row", f"{len(row)} fields, the header has {len(columns)}")
            )
            continue
        values = dict(zip(columns, row, strict=False))
        parsed = _parse_row(row_number, values, seen, emergency_numbers)
        if isinstance(parsed, list):
            row_errors.extend(parsed)
        else:
            cdrs.append(parsed)
    return CdrImport(tuple(cdrs), tuple(row_errors))
