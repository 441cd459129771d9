"""CSV import of a tariff version (RAT-2): all rows or nothing, every bad field reported.

Format: a header row, then one destination prefix per row, comma-separated, UTF-8::

    prefix,description,per_minute,minimum,connection_fee
    32,Belgium fixed,0.0200,0,0
    324,Belgium mobile,0.1500,0.05,0.01

* ``prefix``: E.164 digits only (1 to 15, no ``+``), each prefix once.
* ``description``: free text, at most ``MAX_DESCRIPTION`` characters (may be empty).
* ``per_minute``, ``minimum`` and ``connection_fee``: decimal amounts ≥ 0 in EUR with at most
  ``MAX_DECIMALS`` decimals and below ``MAX_AMOUNT``; ``minimum`` and ``connection_fee`` may be
  empty (0).

Bounded at the edge: at most ``MAX_BYTES`` bytes and ``MAX_ROWS`` rows. Row numbers are the
file's line numbers as a spreadsheet shows them (the header is row 1). Unlike the CDR import,
one bad row refuses the whole file: a tariff is a whole price list, never half of one.

Entry point: ``parse_tariff_csv(text) -> TariffImport``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from nuage.rating.csv_import import RowError
from nuage.rating.tariffs import RateTerms
from nuage.shared.money import ZERO

COLUMNS = ("prefix", "description", "per_minute", "minimum", "connection_fee")
REQUIRED_COLUMNS = ("prefix", "per_minute")
MAX_BYTES = 2_000_000
MAX_ROWS = 20_000
MAX_DECIMALS = 6
MAX_AMOUNT = Decimal(1000)
MAX_DESCRIPTION = 80
_PREFIX = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class TariffImport:
    """RAT-2: the prices read from a tariff CSV, or the errors that refuse it (then no prices)."""

    per_minute_by_prefix: dict[str, Decimal]
    terms_by_prefix: dict[str, RateTerms]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        """Whether the file can be published: no error at all."""
        return not self.errors


def _amount(row: int, field: str, raw: str, errors: list[RowError], *, required: bool) -> Decimal:
    text = raw.strip()
    if not text:
        if required:
            errors.append(RowError(row, field, f"{field} is required"))
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(RowError(row, field, f"not a decimal amount: {text[:20]!r}"))
        return ZERO
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        errors.append(RowError(row, field, f"must be between 0 and {MAX_AMOUNT}: {text[:20]!r}"))
        return ZERO
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        errors.append(RowError(row, field, f"at most {MAX_DECIMALS} decimals: {text[:20]!r}"))
        return ZERO
    return value


def _refused(error: RowError) -> TariffImport:
    return TariffImport({}, {}, (error,))


def parse_tariff_csv(text: str) -> TariffImport:
    """RAT-2: read a tariff CSV; any error refuses the whole file (prices empty, errors listed)."""
    if len(text.encode()) > MAX_BYTES:
        return _refused(RowError(0, "file", f"larger than {MAX_BYTES} bytes"))
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return _refused(RowError(1, "header", "the file is empty"))
    columns = [name.strip().lower() for name in header]
    errors = [
        RowError(1, name, f"column {name!r} is missing") for name in REQUIRED_COLUMNS if name not in columns
    ]
    errors += [RowError(1, name, f"unknown column {name[:30]!r}") for name in columns if name not in COLUMNS]
    if errors:
        return TariffImport({}, {}, tuple(errors))
    prices: dict[str, Decimal] = {}
    terms: dict[str, RateTerms] = {}
    first_row: dict[str, int] = {}
    rows = 0
    for row in reader:
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        rows += 1
        if rows > MAX_ROWS:
            return TariffImport({}, {}, (*errors, RowError(number, "file", f"more than {MAX_ROWS} rows")))
        if len(row) != len(columns):
            errors.append(RowError(number, "row", f"{len(row)} fields, the header has {len(columns)}"))
            continue
        values = dict(zip(columns, row, strict=True))
        prefix = values["prefix"].strip()
        if not _PREFIX.fullmatch(prefix):
            errors.append(RowError(number, "prefix", f"not 1 to 15 digits: {prefix[:20]!r}"))
        elif prefix in first_row:
            errors.append(
                RowError(number, "prefix", f"prefix {prefix} is already on row {first_row[prefix]}")
            )
        else:
            first_row[prefix] = number
        description = values.get("description", "").strip()
        if len(description) > MAX_DESCRIPTION:
            errors.append(RowError(number, "description", f"longer than {MAX_DESCRIPTION} characters"))
        per_minute = _amount(number, "per_minute", values["per_minute"], errors, required=True)
        minimum = _amount(number, "minimum", values.get("minimum", ""), errors, required=False)
        fee = _amount(number, "connection_fee", values.get("connection_fee", ""), errors, required=False)
        prices[prefix] = per_minute
        terms[prefix] = RateTerms(description, minimum, fee)
    if not errors and not prices:
        errors.append(RowError(2, "file", "no prefix: a tariff needs at least one row"))
    if errors:
        return TariffImport({}, {}, tuple(errors))
    return TariffImport(prices, terms, ())
