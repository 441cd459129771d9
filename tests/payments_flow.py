"""The demo with its first month billed, for the documents, payments and dunning tests on the in-memory unit
of work (tests/unit/services/payments) and on the databases (tests/integration/payments)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from billing_flow import bill_demo_month, load_demo_world
from nuage.services.billing.monthly_run import RunReport, run_billing
from nuage.services.context import Context
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.documents import DocumentTools
from nuage.services.payments.ports import PaymentStore
from nuage.shared.clock import FrozenClock
from nuage.shared.month import Month


@dataclass(frozen=True)
class Month1:
    """The demo with its first month billed: three invoices (Dupont direct, two partners)."""

    platform: Any  # Platform or MemoryPlatform
    clock: FrozenClock
    ctx: Context
    ids: dict[str, str]
    numbers: dict[str, str]  # party name -> invoice number
    settings: PaymentSettings  # the platform's ([payments] of its settings)
    tools: DocumentTools

    @contextmanager
    def uow(self) -> Iterator[tuple[Any, PaymentStore]]:
        with self.platform.uow() as uow:
            yield uow, uow.payments
            uow.commit()

    def run(self, period: Month) -> RunReport:
        """BIL-2: the billing run of ``period``, its e-invoices checked by the tools' validator."""
        return run_billing(self.platform.uow, self.ctx, period, validator=self.tools.validator)


def bill_month1(platform: Any, clock: FrozenClock, tools: DocumentTools) -> Month1:
    """The demo loaded on 3 February 2026 and January billed."""
    demo = load_demo_world(platform, clock, tools.validator)
    report = bill_demo_month(demo)
    names = {v: k for k, v in demo.ids.items()}
    numbers = {names[s.issued.draft.invoiced_party_id]: s.issued.number for s in report.invoices}
    return Month1(platform, clock, demo.ctx, demo.ids, numbers, tools.settings, tools)
