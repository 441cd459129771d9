"""The demo month over real storage: what the use cases bill is what SQLite and PostgreSQL keep (amounts in
minor units and exact), and importing, rating and running again adds no row. The rules themselves are
proved on the in-memory unit of work (tests/unit/services/billing)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing_flow import Demo, bill_demo_month
from nuage.services.billing.cdr_import import import_cdrs
from nuage.services.billing.demo import DEMO_MONTH, demo_cdr_csv
from nuage.services.billing.queries import get_invoice
from nuage.services.billing.rating import rate_pending
from nuage.storage.sql import billing_tables as bt
from nuage.storage.sql.tables import cdrs

D = Decimal


def table_count(demo: Demo, table: object) -> int:
    with demo.platform.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-9")
@pytest.mark.rule("RAT-1")
def test_the_demo_month_is_stored_as_billed_and_billing_it_again_adds_no_row(demo: Demo) -> None:
    report = bill_demo_month(demo)
    gross = sorted(stored.issued.totals.gross for stored in report.invoices)
    assert gross == [D("34.30"), D("68.90"), D("102.03")]
    dupont = next(
        s for s in report.invoices if s.issued.draft.invoiced_party_id == demo.ids["Atelier Dupont"]
    )
    with demo.platform.uow() as uow:
        reread = get_invoice(uow, demo.ctx, dupont.issued.number)
    assert reread.issued == dupont.issued  # every line, source and amount read back as issued
    # Stored twice over: minor units and the exact value.
    with demo.platform.engine.connect() as connection:
        row = connection.execute(
            select(bt.invoices.c.gross_minor, bt.invoices.c.gross_precise).where(
                bt.invoices.c.number == dupont.issued.number
            )
        ).one()
    assert tuple(row) == (10203, D("102.03"))
    with demo.platform.uow() as uow:
        again = import_cdrs(uow, demo.ctx, demo_cdr_csv(uow).splitlines())
    assert (again.imported, again.already_imported) == (0, 10)
    assert rate_pending(demo.platform.uow, demo.ctx).cdrs_seen == 0
    assert demo.run(DEMO_MONTH).already_billed == 3
    assert table_count(demo, cdrs) == 10
    assert table_count(demo, bt.rated_calls) == 15  # 10 retail + 5 wholesale (the partners' customers)
    assert table_count(demo, bt.invoices) == 3
