"""Records the databases never let change (CNT-1, BIL-4) and gapless numbers under concurrent issuers (BIL-4,
BIL-1), on SQLite and PostgreSQL; the rules by the use cases: tests/unit/services/billing/test_records.py."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from billing_flow import Demo, bill_demo_month
from nuage.services.billing.demo import DEMO_MONTH
from nuage.services.billing.order_fees import invoice_order
from nuage.storage.sql import billing_tables as bt


@pytest.mark.rule("CNT-1")
@pytest.mark.rule("BIL-4")
def test_the_database_refuses_to_update_a_frozen_summary_or_an_issued_invoice(demo: Demo) -> None:
    report = bill_demo_month(demo)
    assert report.invoices
    # Whatever the path (another tool, a bug), an UPDATE is refused naming the rule.
    with pytest.raises(DBAPIError, match="CNT-1"), demo.platform.engine.begin() as connection:
        connection.execute(update(bt.monthly_summaries).values(items={"billable_users": "1"}))
    for table, column in ((bt.invoices, "net_minor"), (bt.invoice_lines, "amount_minor")):
        with pytest.raises(DBAPIError, match="BIL-4"), demo.platform.engine.begin() as connection:
            connection.execute(update(table).values({column: 0}))
    with demo.platform.uow() as uow:
        assert [s.month for s in uow.billing.summaries(demo.ids["Atelier Dupont"])] == [DEMO_MONTH]


@pytest.mark.rule("BIL-4")
@pytest.mark.postgres
def test_two_concurrent_issuers_get_gapless_numbers(demo: Demo) -> None:
    if demo.platform.engine.dialect.name != "postgresql":
        pytest.skip("row locks (SELECT ... FOR UPDATE) are what is tested; SQLite has one writer")
    got: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def issuer() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with demo.platform.uow() as uow:
                    last = uow.billing.locked_last_number("INV", 2030)
                    sequence = 0 if last is None else int(last.rsplit("-", 1)[1])
                    uow.connection.execute(text("SELECT pg_sleep(0.002)"))  # widen the race window
                    number = f"INV-2030-{sequence + 1:06d}"
                    uow.billing.set_last_number("INV", 2030, number)
                    uow.commit()
                got.append(number)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=issuer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(got) == [f"INV-2030-{n:06d}" for n in range(1, 51)]


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-1")
@pytest.mark.postgres
def test_concurrent_order_invoices_are_numbered_without_gaps(demo: Demo) -> None:
    if demo.platform.engine.dialect.name != "postgresql":
        pytest.skip("concurrency through the issuing use case is tested on PostgreSQL")
    from nuage.services import tenancy as t
    from nuage.tenancy.model import Language, OrderLine

    customer = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        orders = [
            t.place_order(
                uow, demo.ctx, customer, terms_version="2026-01", language=Language.FR,
                accepted_by="Alice", service_start_on=date(2026, 2, 1),
                lines=[OrderLine("hardware:yealink_t54w", 1)],
            ).id
            for _ in range(12)
        ]  # fmt: skip
        uow.commit()
    numbers: list[str] = []

    def issue(order_ids: list[str]) -> None:
        for order_id in order_ids:
            with demo.platform.uow() as uow:
                stored = invoice_order(uow, demo.ctx, order_id, validator=demo.validator)
            assert stored is not None
            numbers.append(stored.issued.number)

    threads = [threading.Thread(target=issue, args=(orders[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, 13)]
