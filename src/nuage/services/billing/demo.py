"""Demo traffic (SIP-1 -> RAT): a CDR CSV for the demo month, for the demo customers.

The demo's parties get random ids, so the file is generated from the stored demo rather
than shipped: ``demo_cdr_csv(uow)`` writes the ``rating.csv_import`` format with stable
``cdr_id``s, so importing it twice stores each call once.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from nuage.errors import NotFound
from nuage.services.ports import UnitOfWork
from nuage.shared.clock import BUSINESS_TZ
from nuage.shared.month import Month
from nuage.tenancy.model import PartyKind

DEMO_MONTH = Month(2026, 1)  # the demo's orders start service on 10 January 2026

# (customer name, day, hour, minute, destination, billable seconds)
_CALLS: tuple[tuple[str, int, int, int, str, int], ...] = (
    ("Atelier Dupont", 12, 9, 5, "+3222001122", 61),  # Belgian fixed: 0.05/min
    ("Atelier Dupont", 12, 10, 40, "+32470123456", 95),  # Belgian mobile: 0.15/min
    ("Atelier Dupont", 14, 15, 2, "+33142000000", 300),  # France: 0.08/min
    ("Atelier Dupont", 20, 11, 30, "112", 40),  # RAT-3: emergency, free
    ("Atelier Dupont", 27, 16, 45, "+3222001122", 1),
    ("Bakkerij Peeters", 13, 8, 15, "+3292001122", 600),
    ("Bakkerij Peeters", 19, 17, 0, "+32475998877", 61),
    ("Bakkerij Peeters", 30, 12, 0, "+31201234567", 125),  # Netherlands
    ("Cabinet Lemaire", 15, 14, 20, "+3281223344", 180),
    ("Cabinet Lemaire", 22, 9, 0, "+4930123456", 59),  # Germany
)


def demo_cdr_csv(uow: UnitOfWork) -> str:
    """SIP-1: the demo month's CDRs as CSV, in the ``rating.csv_import`` format."""
    accounts: dict[str, str] = {}
    for name in dict.fromkeys(call[0] for call in _CALLS):
        party = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name=name)
        if party is None:
            raise NotFound("demo customer", f"{name} (run `nuage demo` first)")
        accounts[name] = party.id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cdr_id", "account_id", "started_at", "destination", "billable_seconds"])
    for index, (name, day, hour, minute, destination, seconds) in enumerate(_CALLS, start=1):
        started_at = datetime(DEMO_MONTH.year, DEMO_MONTH.month, day, hour, minute, tzinfo=BUSINESS_TZ)
        writer.writerow(
            [f"demo-{DEMO_MONTH}-{index:04d}", accounts[name], started_at.isoformat(), destination, seconds]
        )
    return out.getvalue()
