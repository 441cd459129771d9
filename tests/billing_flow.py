"""The demo world with its billing month, for the billing and payments tests on the in-memory unit of work
(tests/unit/services) and on the databases (tests/integration): load it, count, import, rate and bill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nuage.services.billing.cdr_import import import_cdrs
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH, demo_cdr_csv
from nuage.services.billing.monthly_run import RunReport, run_billing
from nuage.services.billing.rating import rate_pending
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import FrozenClock
from nuage.shared.month import Month
from nuage.tenancy.model import PartyKind


@dataclass(frozen=True)
class Demo:
    """The demo's parties by name, an operator context and the e-invoice validator issuing is handed."""

    platform: Any  # Platform or MemoryPlatform
    clock: FrozenClock
    ctx: Context
    ids: dict[str, str]
    validator: EInvoiceValidator

    def run(self, period: Month, **options: Any) -> RunReport:
        """BIL-2: the billing run of ``period`` with the demo's validator."""
        return run_billing(self.platform.uow, self.ctx, period, validator=self.validator, **options)


def load_demo_world(platform: Any, clock: FrozenClock, validator: EInvoiceValidator) -> Demo:
    """The demo loaded on 3 February 2026 (the demo month, January, has ended)."""
    clock.set(datetime(2026, 2, 3, 8, 0, tzinfo=UTC))
    with platform.uow() as uow:
        summary = load_demo(uow, clock)
    with platform.uow() as uow:
        ids = {
            party.name: party.id
            for party in uow.parties.list()
            if party.kind in (PartyKind.CUSTOMER, PartyKind.PARTNER)
        }
    return Demo(platform, clock, Context.operator(summary.operator_id, clock), ids, validator)


def bill_demo_month(demo: Demo, *, parties_per_batch: int = 2500, run: bool = True) -> RunReport:
    """Count, import the demo CDRs, rate them and (``run``) run the demo month's billing."""
    with demo.platform.uow() as uow:
        freeze_month(uow, demo.ctx, DEMO_MONTH)
    with demo.platform.uow() as uow:
        text = demo_cdr_csv(uow)
    with demo.platform.uow() as uow:
        import_cdrs(uow, demo.ctx, text.splitlines())
    rate_pending(demo.platform.uow, demo.ctx)
    if not run:
        return RunReport(DEMO_MONTH)
    return demo.run(DEMO_MONTH, parties_per_batch=parties_per_batch)
