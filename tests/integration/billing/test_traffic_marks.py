"""BIL-3: the calls each traffic line cites are marked with its invoice, in the issuing transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from billing_flow import Demo, bill_demo_month
from nuage.errors import Conflict
from nuage.services.billing.demo import DEMO_MONTH
from nuage.services.billing.ports import TrafficMark
from nuage.storage.sql import billing_tables as bt

FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)


def _marks(demo: Demo) -> dict[tuple[str, str], str | None]:
    r = bt.rated_calls
    with demo.platform.engine.connect() as connection:
        rows = connection.execute(select(r.c.cdr_id, r.c.run, r.c.invoice_id, r.c.itemised, r.c.amount_minor))
        return {
            (cdr_id, run): invoice for cdr_id, run, invoice, itemised, minor in rows if itemised and minor
        }


@pytest.mark.rule("BIL-3")
@pytest.mark.rule("BIL-9")
@pytest.mark.rule("BIL-10")
def test_billed_one_party_per_batch_every_cited_call_carries_its_invoice(demo: Demo) -> None:
    report = bill_demo_month(demo, parties_per_batch=1)
    assert len(report.invoices) == 3
    cited: dict[tuple[str, str], str] = {}
    for stored in report.invoices:
        direct = stored.issued.draft.invoiced_party_id == demo.ids["Atelier Dupont"]
        run = "customer-retail" if direct else "partner-wholesale"  # TEN-5: partners pay wholesale
        for line in stored.issued.draft.lines:
            if line.rule_id == "BIL-3":
                for source in line.sources:
                    if source.kind == "rated-call":
                        cited[(source.key, run)] = stored.invoice_id
    marks = _marks(demo)
    assert cited
    assert {key: marks[key] for key in cited} == cited
    # no other call is marked (the indirect customers' retail records are nobody's to invoice)
    assert {key for key, invoice in marks.items() if invoice is not None} == set(cited)
    again = demo.run(DEMO_MONTH, parties_per_batch=1)
    assert (again.invoices, again.already_billed) == ([], 3)
    assert _marks(demo) == marks


@pytest.mark.rule("BIL-3")
def test_a_call_changed_after_it_was_read_fails_the_marking(demo: Demo) -> None:
    bill_demo_month(demo, run=False)
    dupont = demo.ids["Atelier Dupont"]
    r = bt.rated_calls
    with demo.platform.uow() as uow:
        calls = uow.billing.uninvoiced_calls({dupont: "customer-retail"}, FEBRUARY)[dupont]
        assert len(calls) > 1
        uow.connection.execute(  # another invoice took one of them meanwhile
            update(r)
            .where(r.c.cdr_id == calls[0].cdr_id, r.c.run == "customer-retail")
            .values(invoice_id="inv_other")
        )
        with pytest.raises(Conflict):
            uow.billing.mark_traffic_invoiced(
                [TrafficMark("inv_this", "customer-retail", dupont, len(calls))], FEBRUARY
            )


@pytest.mark.rule("BIL-3")
def test_calls_not_read_in_the_transaction_are_marked_customer_by_customer(demo: Demo) -> None:
    bill_demo_month(demo, run=False)
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        count = len(uow.billing.uninvoiced_calls({dupont: "customer-retail"}, FEBRUARY)[dupont])
    with demo.platform.uow() as uow:  # another transaction: nothing read here
        with pytest.raises(Conflict):  # the line cites one call fewer than there are
            uow.billing.mark_traffic_invoiced(
                [TrafficMark("inv_x", "customer-retail", dupont, count - 1)], FEBRUARY
            )
    with demo.platform.uow() as uow:
        uow.billing.mark_traffic_invoiced([TrafficMark("inv_x", "customer-retail", dupont, count)], FEBRUARY)
        uow.commit()
    marked = [(key, invoice) for key, invoice in _marks(demo).items() if invoice is not None]
    assert len(marked) == count
    assert {invoice for _, invoice in marked} == {"inv_x"}
