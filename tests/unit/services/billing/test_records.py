"""Records that must never change (CNT-1, BIL-4), contract life (CTR-2..4), BIL-1 and CNT-3, by the use
cases on the in-memory unit of work (the databases' own refusals: tests/integration/billing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_flow import Demo, bill_demo_month
from nuage.errors import Conflict
from nuage.services.billing.contracts import declare_bankruptcy, give_notice
from nuage.services.billing.counting import freeze_month
from nuage.services.billing.demo import DEMO_MONTH
from nuage.services.billing.issuing import void_and_regenerate
from nuage.services.billing.order_fees import invoice_order
from nuage.services.billing.queries import get_invoice
from nuage.services.billing.summaries import account_summaries
from nuage.services.directory.users import remove_user
from nuage.shared.month import Month
from nuage.tenancy.model import PartyStatus
from nuage.terms.counting import ItemKind, verify_chain

D = Decimal


@pytest.mark.rule("CNT-1")
def test_a_frozen_summary_is_never_replaced_and_its_chain_verifies(demo: Demo) -> None:
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
        correction = void_and_regenerate(uow, demo.ctx, number, validator=demo.validator)
    assert correction.credit_note.issued.number == "CN-2026-000001"
    assert correction.credit_note.issued.draft.credits == number
    assert correction.credit_note.issued.totals.gross == -original.issued.totals.gross
    assert correction.replacement is not None
    assert correction.replacement.issued.number == "INV-2026-000004"
    assert correction.replacement.issued.draft.replaces == number
    with demo.platform.uow() as uow:
        reread = get_invoice(uow, demo.ctx, number)
        with pytest.raises(Conflict, match="already voided"):
            void_and_regenerate(uow, demo.ctx, number, validator=demo.validator)
    assert reread.issued.draft == original.issued.draft
    assert (reread.credited_by, reread.replaced_by) == ("CN-2026-000001", "INV-2026-000004")


@pytest.mark.rule("BIL-1")
def test_an_orders_one_time_fees_are_invoiced_once(demo: Demo) -> None:
    dupont = demo.ids["Atelier Dupont"]
    with demo.platform.uow() as uow:
        (order,) = uow.orders.list(customer_id=dupont)
    with demo.platform.uow() as uow:
        stored = invoice_order(uow, demo.ctx, order.id, validator=demo.validator)
    with demo.platform.uow() as uow:
        again = invoice_order(uow, demo.ctx, order.id, validator=demo.validator)
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
        outcome = give_notice(uow, demo.ctx, dupont, date(2026, 3, 5), validator=demo.validator)
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
        give_notice(uow, demo.ctx, dupont, date(2026, 3, 6), validator=demo.validator)


@pytest.mark.rule("CTR-4")
def test_bankruptcy_suspends_billing_and_interrupts_service(demo: Demo) -> None:
    bill_demo_month(demo)
    lemaire = demo.ids["Cabinet Lemaire"]
    demo.clock.set(datetime(2026, 2, 11, 8, tzinfo=UTC))  # the proof is dated: it is declared after
    with demo.platform.uow() as uow:
        declare_bankruptcy(uow, demo.ctx, lemaire, date(2026, 2, 10))
    demo.clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        freeze_month(uow, demo.ctx, Month(2026, 2))
    report = demo.run(Month(2026, 2), run_on=date(2026, 2, 28))
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
    demo.run(Month(2026, 2), run_on=date(2026, 2, 28))  # bills March: 2 users
    with demo.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        remove_user(uow, demo.ctx, bob.id)
        uow.commit()
    demo.clock.set(datetime(2026, 4, 2, 8, tzinfo=UTC))
    with demo.platform.uow() as uow:
        march = freeze_month(uow, demo.ctx, Month(2026, 3))
    assert {s.account_id: s.quantity(ItemKind.BILLABLE_USERS) for s in march.frozen}[dupont] == 1
    report = demo.run(Month(2026, 3), run_on=date(2026, 3, 28))
    invoice = next(s for s in report.invoices if s.issued.draft.invoiced_party_id == dupont)
    users = next(ln for ln in invoice.issued.draft.lines if ln.item_kind == "billable_users")
    # April opens Q2; March billed 2 users, so April bills ceil(0.9 × 2) = 2 although 1 is counted.
    assert (users.rule_id, str(users.period), users.quantity) == ("CNT-3", "2026-04", D(2))
    assert dict(users.description_params)["counted"] == "1"
