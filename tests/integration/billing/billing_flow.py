"""Helpers for the billing integration tests: the demo world and its month billed end to end."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.bootstrap import Platform
from nuage.services.billing.cdr_import import import_cdrs
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH, demo_cdr_csv
from nuage.services.billing.monthly_run import RunReport, run_billing
from nuage.services.billing.rating import rate_pending
from nuage.services.context import Context
from nuage.shared.clock import FrozenClock


@dataclass(frozen=True)
class Demo:
    """The demo's parties by name and an operator context."""

    platform: Platform
    clock: FrozenClock
    ctx: Context
    ids: dict[str, str]


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
    return run_billing(demo.platform.uow, demo.ctx, DEMO_MONTH, parties_per_batch=parties_per_batch)
