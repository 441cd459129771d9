"""CSV import of call detail records (SIP-1 → RAT): good rows kept, bad rows reported.

Format: a header row, then one CDR per row, comma-separated, UTF-8::

    cdr_id,account_id,started_at,destination,billable_seconds[,emergency]
    c-1,acc-1,2025-01-10T09:00:00+01:00,+3222001122,61
    c-2,acc-1,2025-01-10T09:05:00+01:00,112,30,true

* ``cdr_id``: 1 to 128 of letters, digits and ``. _ : @ / + -``, starting with a letter or digit
  (``ID_PATTERN``: what a spreadsheet would read as a formula, ``=`` ``+`` ``-`` ``@`` first, is refused);
  ``account_id``: 1 to 40 of letters, digits and ``. _ -``, starting with a letter or digit.
* ``started_at``: ISO 8601 with a UTC offset (naive times are refused), not before ``CDR_EPOCH`` and
  not later than ``FUTURE_TOLERANCE`` after the importer's clock.
* ``destination``: E.164 (``+`` and 1-15 digits) or an emergency short number.
* ``billable_seconds``: a whole number from 0 to ``MAX_BILLABLE_SECONDS`` (one day).
* ``emergency`` (optional): true/false/1/0/yes/no; when the column or value is
  absent, a destination among the emergency numbers (EMG-4: 112, 100, 101 and those the
  operator listed, ``terms.emergency.emergency_numbers``) is an emergency call (RAT-3).

Bounds (decisions; the terms give none): no call lasts more than a day; no CDR predates 2020 (the
platform's epoch: an older date is a clock that was never set); a CDR may be at most five minutes
ahead of the importer (clocks of SIP nodes drift) but not more.

Row numbers are the file's line numbers as a spreadsheet shows them (the header
is row 1). A bad row yields one ``RowError`` per bad field and is left out; every
good row is kept. A ``cdr_id`` repeated in the file is an error on the later row.

Entry points: ``parse_cdr_csv(text_or_lines, emergency, now) -> CdrImport``, and ``decoded_lines``
for a file read as bytes (UTF-8; another encoding is refused naming the row).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nuage.errors import InvalidInput
from nuage.rating.cdr import Cdr, destination_digits
from nuage.terms.emergency import EMERGENCY_NUMBERS

REQUIRED_COLUMNS = ("cdr_id", "account_id", "started_at", "destination", "billable_seconds")
_E164 = re.compile(r"\+[1-9][0-9]{0,14}")
CDR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}")
ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_BILLABLE_SECONDS = 86_400
CDR_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)
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
    rows: tuple[int, ...] = ()  # the row of each CDR of ``cdrs``


def decoded_lines(lines: Iterable[bytes]) -> Iterator[str]:
    """SIP-1: a CSV file's lines as text: UTF-8 (a leading BOM dropped); another encoding (a spreadsheet's
    Latin-1 export) raises ``InvalidInput`` naming the first row that is not UTF-8."""
    for row, line in enumerate(lines, start=1):
        try:
            yield line.decode("utf-8-sig" if row == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                "file",
                f'row {row} is not UTF-8 text: save the file as UTF-8 ("CSV UTF-8") and import it again',
                row=row,
            ) from None


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _parse_started_at(raw: str, now: datetime | None) -> datetime | str:
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return f"not an ISO 8601 date-time: {_shown(raw)}"
    if at.tzinfo is None or at.utcoffset() is None:
        return f"a UTC offset is required: {raw!r}"
    if at < CDR_EPOCH:
        return f"{raw!r} is before {CDR_EPOCH:%Y-%m-%d}: the clock that wrote it was not set"
    if now is not None and at > now + FUTURE_TOLERANCE:
        return f"{raw!r} is in the future"
    return at


def _parse_seconds(raw: str) -> int | str:
    if not (raw.isascii() and raw.isdigit()):
        return f"not a whole number ≥ 0: {_shown(raw)}"
    if len(raw) > 6 or int(raw) > MAX_BILLABLE_SECONDS:
        return f"{_shown(raw)} is more than a day ({MAX_BILLABLE_SECONDS} seconds)"
    return int(raw)


def _id_error(field: str, value: str, pattern: re.Pattern[str], what: str) -> str | None:
    if not value:
        return f"{field} is required"
    if not pattern.fullmatch(value):
        return f"{field} {_shown(value)} is not {what}"
    return None


def _parse_row(
    row_number: int,
    values: dict[str, str],
    seen: set[str],
    emergency_numbers: frozenset[str],
    now: datetime | None,
) -> Cdr | list[RowError]:
    errors: list[RowError] = []
    cdr_id = values.get("cdr_id", "").strip()
    id_error = _id_error(
        "cdr_id", cdr_id, CDR_ID, "1-128 letters, digits or . _ : @ / + - starting with a letter or digit"
    )
    if id_error:
        errors.append(RowError(row_number, "cdr_id", id_error))
    elif cdr_id in seen:
        errors.append(RowError(row_number, "cdr_id", f"cdr_id {cdr_id!r} appears earlier in the file"))
    account_id = values.get("account_id", "").strip()
    account_error = _id_error(
        "account_id", account_id, ACCOUNT_ID, "1-40 letters, digits or . _ - starting with a letter or digit"
    )
    if account_error:
        errors.append(RowError(row_number, "account_id", account_error))
    started_at = _parse_started_at(values.get("started_at", "").strip(), now)
    if isinstance(started_at, str):
        errors.append(RowError(row_number, "started_at", started_at))
    destination = values.get("destination", "").strip().replace(" ", "")
    is_short_emergency = destination_digits(destination) in emergency_numbers
    if not (_E164.fullmatch(destination) or is_short_emergency):
        errors.append(RowError(row_number, "destination", f"not an E.164 number: {_shown(destination)}"))
    seconds = _parse_seconds(values.get("billable_seconds", "").strip())
    if isinstance(seconds, str):
        errors.append(RowError(row_number, "billable_seconds", seconds))
    raw_emergency = (values.get("emergency") or "").strip().lower()
    if raw_emergency in _TRUE:
        emergency = True
    elif raw_emergency in _FALSE:
        emergency = is_short_emergency if raw_emergency == "" else False
    else:
        emergency = False
        errors.append(RowError(row_number, "emergency", f"not a boolean: {_shown(raw_emergency)}"))
    if errors or isinstance(started_at, str) or isinstance(seconds, str):
        return errors
    seen.add(cdr_id)
    return Cdr(cdr_id, account_id, started_at, destination, seconds, emergency)


def parse_cdr_csv(
    source: str | Iterable[str],
    emergency_numbers: frozenset[str] = EMERGENCY_NUMBERS,
    now: datetime | None = None,
) -> CdrImport:
    """SIP-1: parse a CDR CSV; keep every good row, report each bad field with its row number.

    ``emergency_numbers`` (EMG-4, RAT-3): the short numbers a destination may be besides E.164.
    ``now``: the importer's clock; a CDR later than ``FUTURE_TOLERANCE`` after it is refused.
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
    rows: list[int] = []
    row_errors: list[RowError] = []
    seen: set[str] = set()
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:  # a field longer than the csv module's limit (128 KiB), ...
            row_errors.append(RowError(reader.line_num, "row", f"not a CSV row: {exc}"))
            continue
        if row is None:
            break
        row_number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            row_errors.append(
                RowError(row_number, "row", f"{len(row)} fields, the header has {len(columns)}")
            )
            continue
        values = dict(zip(columns, row, strict=False))
        parsed = _parse_row(row_number, values, seen, emergency_numbers, now)
        if isinstance(parsed, list):
            row_errors.extend(parsed)
        else:
            cdrs.append(parsed)
            rows.append(row_number)
    return CdrImport(tuple(cdrs), tuple(row_errors), tuple(rows))
