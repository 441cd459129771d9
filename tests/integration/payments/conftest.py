"""The demo month billed on SQLite and PostgreSQL, for documents, payments and dunning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from nuage.adapters.einvoice_validation import SaxonValidator
from nuage.bootstrap import Platform
from nuage.services.billing.cdr_import import import_cdrs
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH, demo_cdr_csv
from nuage.services.billing.monthly_run import run_billing
from nuage.services.billing.rating import rate_pending
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.documents import DocumentTools
from nuage.services.payments.ports import PaymentStore
from nuage.shared.clock import FrozenClock
from nuage.storage.sql.unit_of_work import SqlUnitOfWork
from nuage.tenancy.model import PartyKind


@dataclass(frozen=True)
class Month1:
    """The demo with its first month billed: three invoices (Dupont direct, two partners)."""

    platform: Platform
    clock: FrozenClock
    ctx: Context
    ids: dict[str, str]
    numbers: dict[str, str]  # party name -> invoice number
    settings: PaymentSettings  # the platform's ([payments] of its settings)
    tools: DocumentTools

    @contextmanager
    def uow(self) -> Iterator[tuple[SqlUnitOfWork, PaymentStore]]:
        with self.platform.uow() as uow:
            yield uow, uow.payments
            uow.commit()


@pytest.fixture(scope="session", autouse=True)
def compiled_rules() -> None:
    SaxonValidator().warm()


@pytest.fixture
def month1(platform: Platform, clock: FrozenClock) -> Month1:
    clock.set(datetime(2026, 2, 3, 8, 0, tzinfo=UTC))
    with platform.uow() as uow:
        summary = load_demo(uow, clock)
    ctx = Context.operator(summary.operator_id, clock)
    with platform.uow() as uow:
        ids = {p.name: p.id for p in uow.parties.list() if p.kind in (PartyKind.CUSTOMER, PartyKind.PARTNER)}
    with platform.uow() as uow:
        freeze_month(uow, ctx, DEMO_MONTH)
    with platform.uow() as uow:
        text = demo_cdr_csv(uow)
    with platform.uow() as uow:
        import_cdrs(uow, ctx, text.splitlines())
    rate_pending(platform.uow, ctx)
    report = run_billing(platform.uow, ctx, DEMO_MONTH)
    names = {v: k for k, v in ids.items()}
    numbers = {names[s.issued.draft.invoiced_party_id]: s.issued.number for s in report.invoices}
    return Month1(platform, clock, ctx, ids, numbers, platform.payments, platform.documents)
