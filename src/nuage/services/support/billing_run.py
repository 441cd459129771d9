"""BIL-8 in the monthly run: the Telavox activations' lines for the period reach its invoices.

Before the run of a period, each activation confirmed by the upstream is charged for that period
once the period is over (pro rata from its confirmation and to its deactivation,
``ucaas.bill_month``: once per activation and month, BIL-9) as a pending charge; the run then
carries the pending charges onto the contracting parties' invoices (PAY-2). A run held before its
period ends (from three days before the run day, BIL-2) leaves the period's Telavox lines to the
next run, which also charges the month before its own. An activation never confirmed is never
billed. A dry run charges nothing (it shows what is already pending).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from nuage.services.billing import monthly_run
from nuage.services.billing.monthly_run import RunReport
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.ports import EInvoiceValidator
from nuage.services.support import ucaas
from nuage.services.support.ports import SupportUnitOfWork
from nuage.shared.clock import business_date
from nuage.shared.month import Month


class SupportUnitOfWorkFactory(Protocol):
    """Makes units of work that keep the billing and the support records."""

    def __call__(self) -> SupportUnitOfWork: ...


def run_billing(
    factory: SupportUnitOfWorkFactory,
    ctx: Context,
    period: Month,
    *,
    validator: EInvoiceValidator,
    run_on: date | None = None,
    settings: PaymentSettings | None = None,
    dry_run: bool = False,
) -> RunReport:
    """BIL-2/BIL-8/BIL-9: the period's Telavox lines as pending charges, then the monthly run."""
    if not dry_run:
        today = business_date(ctx.clock.now())
        for month in (period.previous(), period):
            if month.last_day < today:
                with factory() as uow:
                    ucaas.bill_month(uow, ctx, month)
    return monthly_run.run_billing(
        factory, ctx, period, validator=validator, run_on=run_on, settings=settings, dry_run=dry_run
    )
