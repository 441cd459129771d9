"""The billing run's request and answer (BIL-2, BIL-3, BIL-4, BIL-9): strict types, a dry run."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, StrictBool

from nuage.api.schemas import Input, MonthText, Output
from nuage.services.billing.monthly_run import RunReport


def _iso_date(value: object) -> object:
    """A date is given as ISO text (``YYYY-MM-DD``), never as a number (0 is not 1970-01-01)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date is a string YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date), Field(examples=["2026-01-28"])]


class RunBody(Input):
    """BIL-2/BIL-3: the period P of the run, optionally the issue date, and whether it is a dry run.

    Types are strict: ``run_on`` is ISO text, ``dry_run`` a JSON boolean. The run must be one the
    rules allow (``billing.periods.check_run``): otherwise 422 with ``error_id``
    ``period-not-closed`` or ``run-date-refused`` and the rule in ``details.rule_id``.
    """

    period: MonthText
    run_on: IsoDate | None = None
    dry_run: StrictBool = False


class RefusalOut(Output):
    """BIL-4: a party whose invoice was not issued: its e-invoice fails these rules."""

    party_id: str
    rule_ids: list[str]
    message: str


class DraftOut(Output):
    """BIL-9 dry run: an invoice the run would issue (not numbered, not validated yet)."""

    invoiced_party_id: str
    document_type: str
    issue_on: date
    line_count: int
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str


class RunOut(Output):
    """BIL-9: invoices issued by this run and parties already billed for the period.

    ``refused``: parties left unbilled because their e-invoice fails validation (BIL-4); a
    re-run issues them once fixed. ``charges_invoiced``: PAY-2 lines the invoices carry.
    ``dry_run``: nothing was issued; ``would_issue`` lists what the run would issue.
    """

    period: str
    invoices: list[str]
    already_billed: int
    suspended_customers: list[str]
    refused: list[RefusalOut] = []
    charges_invoiced: int = 0
    dry_run: bool = False
    would_issue: list[DraftOut] = []


def run_out(report: RunReport) -> RunOut:
    """BIL-9: the answer to a run (or a dry run)."""
    return RunOut(
        period=str(report.period),
        invoices=[stored.issued.number for stored in report.invoices],
        already_billed=report.already_billed,
        suspended_customers=report.suspended_customers,
        refused=[
            RefusalOut(party_id=party_id, rule_ids=list(error.rule_ids), message=error.message)
            for party_id, error in report.refused.items()
        ],
        charges_invoiced=report.charges_invoiced,
        dry_run=report.dry_run,
        would_issue=[
            DraftOut(
                invoiced_party_id=draft.invoiced_party_id,
                document_type=draft.document_type.value,
                issue_on=draft.issue_on,
                line_count=len(draft.lines),
                net=draft.totals.net,
                vat=draft.totals.vat,
                gross=draft.totals.gross,
                currency=draft.currency,
            )
            for draft in report.drafts
        ],
    )
