"""Records that must never change (CNT-1, BIL-4), gapless numbers, contract life (CTR-2..4), BIL-1, CNT-3."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from nuage.errors import Conflict
from nuage.services.billing.contracts import declare_bankruptcy, give_notice
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH
from nuage.services.billing.issuing import void_and_regenerate
from nuage.services.billing.monthly_run import run_billing
from nuage.services.billing.order_fees import invoice_order
from nuage.services.billing.queries import get_invoice
from nuage.services.billing.summaries import account_summaries
from nuage.services.directory.users import remove_user
from nuage.shared.month import Month
from nuage.storage.sql import billing_tables as bt
from nuage.tenancy.model import PartyStatus
from nuage.terms.counting import ItemKind, verify_chain

from .billing_flow import Demo, bill_demo_month

D = Decimal


@pytest.mark.rule("CNT-1")
def test_a_frozen_summary_is_never_updated_and_its_chain_verifies(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        first = freeze_month(uow, demo.ctx, DEMO_MONTH)
    demo.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        again = freeze_month(uow, demo.ctx, DEMO_MONTH)
        freeze_month(uow, demo.ctx, Month(2026, 2))
    assert len(first.frozen) == 3
    assert sorted(again.already_frozen) == sorted(s.account_id for s in first.frozen)
    with demo.platform.uow() as uow:
        summaries = account_summaries(uow, demo.ctx, dupont)
    assert [str(s.month) for s in summaries] == ["2026-01", "2026-02"]
    assert summaries[1].previous_hash == summaries[0].hash
    # The database refuses an UPDATE, whatever the path.
    with pytest.raises(DBAPIError, match="CNT-1"), demo.platform.engine.begin() as connection:
        connection.execute(
            update(bt.monthly_summaries)
            .where(bt.monthly_summaries.c.account_id == dupont)
            .values(items={"billable_users": "1"})
        )
    with demo.platform.uow() as uow:
        assert uow.billing.summaries(dupont) == summaries
        # A tampered copy is caught by the chain.
        tampered = replace(summaries[0], items=((ItemKind.BILLABLE_USERS, D(1)),))
        broken = verify_chain([tampered, summaries[1]])
        with pytest.raises(Conflict):
            uow.billing.add_summary(summaries[0])
    assert broken is not None
    assert broken.reason == "content does not match its hash"


@pytest.mark.rule("CNT-1")
def test_a_month_cannot_be_frozen_before_it_ends_or_out_of_order(demo: Demo) -> None:
    with demo.platform.uow() as uow, pytest.raises(Conflict, match="has not ended"):
        freeze_month(uow, demo.ctx, Month(2026, 2))
    demo.clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        freeze_month(uow, demo.ctx, DEMO_MONTH)
    with demo.platform.uow() as uow:
        report = freeze_month(uow, demo.ctx, Month(2026, 3))
    assert report.frozen == []
    assert set(report.refused.values()) == {"the last summary is 2026-01; freeze 2026-02 first"}


@pytest.mark.rule("BIL-4")
def test_void_and_regenerate_leaves_the_original_untouched(demo: Demo) -> None:
    report = bill_demo_month(demo)
    original = report.invoices[0]
    number = original.issued.number
    with demo.platform.uow() as uow:
        correction = void_and_regenerate(uow, demo.ctx, number)
    assert correction.credit_note.issued.number == "CN-2026-000001"
    assert correction.credit_note.issued.draft.credits == number
    assert correction.credit_note.issued.totals.gross == -original.issued.totals.gross
    assert correction.replacement is not None
    assert correction.replacement.issued.number == "INV-2026-000004"
    assert correction.replacement.issued.draft.replaces == number
    with demo.platform.uow() as uow:
        reread = get_invoice(uow, demo.ctx, number)
        with pytest.raises(Conflict, match="already voided"):
            void_and_regenerate(uow, demo.ctx, number)
    assert reread.issued.draft == original.issued.draft
    assert (reread.credited_by, reread.replaced_by) == ("CN-2026-000001", "INV-2026-000004")
    for table, column in ((bt.invoices, "net_minor"), (bt.invoice_lines, "amount_minor")):
        with pytest.raises(DBAPIError, match="BIL-4"), demo.platform.engine.begin() as connection:
            connection.execute(update(table).values({column: 0}))


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
                stored = invoice_order(uow, demo.ctx, order_id)
            assert stored is not None
            numbers.append(stored.issued.number)

    threads = [threading.Thread(target=issue, args=(orders[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(numbers) == [f"INV-2026-{n:06d}" for n in range(1, 13)]


@pytest.mark.rule("BIL-1")
def test_an_orders_one_time_fees_are_invoiced_once(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        (order,) = uow.orders.list(customer_id=dupont)
    with demo.platform.uow() as uow:
        stored = invoice_order(uow, demo.ctx, order.id)
    with demo.platform.uow() as uow:
        again = invoice_order(uow, demo.ctx, order.id)
    assert again is None
    assert stored is not None
    lines = [(ln.rule_id, ln.item_kind, ln.amount, ln.description_key) for ln in stored.issued.draft.lines]
    assert lines == [
        ("BIL-1", "activation", D("50.00"), "line.one_time.activation"),
        ("BIL-1", "hardware", D("150.00"), "line.one_time.hardware.desk_phone"),
    ]
    assert stored.issued.totals.gross == D("242.00")


@pytest.mark.rule("CTR-2")
@pytest.mark.rule("CTR-3")
def test_early_notice_invoices_the_contract_balance_except_national_numbers(demo: Demo) -> None:
    bill_demo_month(demo)
    dupont = demo.ids["Atelier Dupont"]
    demo.clock.set(datetime(2026, 3, 5, 9, tzinfo=UTC))
    with demo.platform.uow() as uow:
        outcome = give_notice(uow, demo.ctx, dupont, date(2026, 3, 5))
    termination = outcome.contract.termination
    assert termination is not None
    assert termination.effective_on == date(2026, 4, 1)  # CTR-2: after the current period
    assert outcome.balance_invoice is not None
    lines = [
        (ln.rule_id, ln.item_kind, ln.quantity, ln.unit_price, ln.amount, ln.proration)
        for ln in outcome.balance_invoice.issued.draft.lines
    ]
    from fractions import Fraction

    # From 1 April 2026 to the term end 10 January 2028: 21 months + 9/31.
    months = Fraction(660, 31)
    assert lines == [
        ("CTR-3", "billable_users", D(2), D("19.95"), D("849.48"), months),
        ("CTR-3", "conference_rooms", D(1), D("5.00"), D("106.45"), months),
    ]
    with demo.platform.uow() as uow, pytest.raises(Conflict):
        give_notice(uow, demo.ctx, dupont, date(2026, 3, 6))


@pytest.mark.rule("CTR-4")
def test_bankruptcy_suspends_billing_and_interrupts_service(demo: Demo) -> None:
    bill_demo_month(demo)
    lemaire = demo.ids["Cabinet Lemaire"]
    with demo.platform.uow() as uow:
        declare_bankruptcy(uow, demo.ctx, lemaire, date(2026, 2, 10))
    demo.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        freeze_month(uow, demo.ctx, Month(2026, 2))
    report = run_billing(demo.platform.uow, demo.ctx, Month(2026, 2), run_on=date(2026, 2, 28))
    assert report.suspended_customers == [lemaire]
    assert demo.ids["Meuse Connect"] not in {s.issued.draft.invoiced_party_id for s in report.invoices}
    with demo.platform.uow() as uow:
        assert uow.parties.get(lemaire).status is PartyStatus.BANKRUPT


@pytest.mark.rule("CNT-3")
@pytest.mark.rule("CNT-2")
def test_billed_users_fall_by_at_most_ten_percent_in_a_quarter(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    bill_demo_month(demo)  # bills January and February
    demo.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        freeze_month(uow, demo.ctx, Month(2026, 2))
    run_billing(demo.platform.uow, demo.ctx, Month(2026, 2), run_on=date(2026, 2, 28))  # bills March: 2 users
    with demo.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        remove_user(uow, demo.ctx, bob.id)
        uow.commit()
    demo.clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        march = freeze_month(uow, demo.ctx, Month(2026, 3))
    assert {s.account_id: s.quantity(ItemKind.BILLABLE_USERS) for s in march.frozen}[dupont] == 1
    report = run_billing(demo.platform.uow, demo.ctx, Month(2026, 3), run_on=date(2026, 3, 28))
    invoice = next(s for s in report.invoices if s.issued.draft.invoiced_party_id == dupont)
    users = next(ln for ln in invoice.issued.draft.lines if ln.item_kind == "billable_users")
    # April opens Q2; March billed 2 users, so April bills ceil(0.9 × 2) = 2 although 1 is counted.
    assert (users.rule_id, str(users.period), users.quantity) == ("CNT-3", "2026-04", D(2))
    assert dict(users.description_params)["counted"] == "1"
