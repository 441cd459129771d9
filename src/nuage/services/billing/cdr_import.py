"""CDR import (SIP-1 -> RAT): a CDR CSV (``rating.csv_import`` format) into stored CDRs.

Good rows are kept, bad ones reported with their row; each CDR's key derives from the file's
``cdr_id``, so importing a file again stores nothing twice. A stored CDR never changes: a row whose
``cdr_id`` was imported before with other values is reported (``changed``), not applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice

from nuage.rating.cdr import Cdr
from nuage.rating.csv_import import RowError, parse_cdr_csv
from nuage.services.billing.common import require_operator
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.tenancy.model import PartyKind
from nuage.terms.emergency import emergency_numbers


@dataclass
class ImportReport:
    """SIP-1: the rows of a CDR file: stored, already stored (re-import), refused with their errors."""

    imported: int = 0
    already_imported: int = 0
    changed: int = 0  # rows whose cdr_id was imported before with other values: reported, not applied
    errors: list[RowError] = field(default_factory=list)


def imported_cdr_id(cdr_id: str) -> str:
    """SIP-1 decision: an imported CDR's key is derived from the file's ``cdr_id`` (re-import = no-op)."""
    return "imp_" + hashlib.sha256(cdr_id.encode()).hexdigest()[:32]


_COMPARED = ("account_id", "started_at", "destination", "billable_seconds", "emergency")


def _differences(stored: Cdr, cdr: Cdr) -> str:
    return ", ".join(
        f"{name} {getattr(stored, name)} -> {getattr(cdr, name)}"
        for name in _COMPARED
        if getattr(stored, name) != getattr(cdr, name)
    )


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while True:
        batch = list(islice(lines, size))
        if not batch:
            return
        yield batch


def import_cdrs(
    uow: BillingUnitOfWork, ctx: Context, lines: Iterable[str], *, batch_rows: int = 5000
) -> ImportReport:
    """SIP-1: import a CDR CSV (``rating.csv_import`` format) into ``cdrs``; good rows kept, idempotent."""
    require_operator(ctx)
    report = ImportReport()
    iterator = iter(lines)
    header = next(iterator, None)
    if header is None:
        report.errors.append(RowError(1, "header", "the file is empty"))
        return report
    header_errors = [error for error in parse_cdr_csv([header]).errors if error.row == 1]
    if header_errors:
        report.errors.extend(header_errors)  # not a CDR file: nothing else can be read
        return report
    now = ctx.clock.now()
    # EMG-4/RAT-3: a CDR may go to any emergency number, the operator's short numbers included
    emergency = emergency_numbers(item.number for item in uow.emergency_numbers.list())
    offset = 1  # lines read so far (the header)
    known_accounts: dict[str, bool] = {}
    for chunk in _batches(iterator, batch_rows):
        parsed = parse_cdr_csv([header, *chunk], emergency, now)
        report.errors.extend(
            replace(error, row=error.row + offset - 1) if error.row > 1 else error for error in parsed.errors
        )
        if any(error.row == 1 for error in parsed.errors):
            return report  # header errors: nothing else can be read
        good: list[tuple[int, str, Cdr]] = []
        for row, cdr in zip(parsed.rows, parsed.cdrs, strict=True):
            if cdr.account_id not in known_accounts:
                party = uow.parties.find(cdr.account_id)
                known_accounts[cdr.account_id] = party is not None and party.kind is PartyKind.CUSTOMER
            if known_accounts[cdr.account_id]:
                good.append((row + offset - 1, imported_cdr_id(cdr.cdr_id), cdr))
            else:
                report.errors.append(
                    RowError(row + offset - 1, "account_id", f"no customer {cdr.account_id!r}")
                )
        offset += len(chunk)
        stored = uow.billing.imported_cdrs([key for _, key, _ in good])
        new: list[tuple[str, Cdr]] = []
        for row, key, cdr in good:
            before = stored.get(key)
            if before is None:
                new.append((key, cdr))
            elif before != cdr:
                report.changed += 1
                change = _differences(before, cdr)
                message = f"{cdr.cdr_id!r} was imported before with other values ({change}); "
                message += "a stored CDR does not change: this row was not applied"
                report.errors.append(RowError(row, "cdr_id", message))
            else:
                report.already_imported += 1
        inserted = uow.billing.add_imported_cdrs(new, now)
        report.imported += inserted
        report.already_imported += len(new) - inserted
    uow.commit()
    return report
