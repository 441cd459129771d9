"""Helpers for the billing integration tests: the demo world and its month billed end to end."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.bootstrap import Platform
from nuage.services import billing as b
from nuage.services.billing_demo import DEMO_MONTH, demo_cdr_csv
from nuage.services.context import Context
from nuage.shared.clock import FrozenClock


@dataclass(frozen=True)
class Demo:
    """The demo's parties by name and an operator context."""

    platform: Platform
    clock: FrozenClock
    ctx: Context
    ids: dict[str, str]


def bill_demo_month(demo: Demo, *, parties_per_batch: int = 2500, run: bool = True) -> b.RunReport:
    """Count, import the demo CDRs, rate them and (``run``) run the demo month's billing."""
    with demo.platform.uow() as uow:
        b.freeze_month(uow, demo.ctx, DEMO_MONTH)
    with demo.platform.uow() as uow:
        text = demo_cdr_csv(uow)
    with demo.platform.uow() as uow:
        b.import_cdrs(uow, demo.ctx, text.splitlines())
    b.rate_pending(demo.platform.uow, demo.ctx)
    if not run:
        return b.RunReport(DEMO_MONTH)
    return b.run_billing(demo.platform.uow, demo.ctx, DEMO_MONTH, parties_per_batch=parties_per_batch)
