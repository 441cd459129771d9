"""PAY-1..4 by the use cases (in-memory unit of work): camt.053 import, balances, dunning with exact
interest, suspension, restoration."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from nuage.adapters.einvoice_validation import validate_einvoice
from nuage.documents.reference import reference_for
from nuage.errors import InvalidInput
from nuage.payments.camt import BankEntry, MalformedStatement, write_camt053
from nuage.payments.dunning import DunningPolicy, InterestMode
from nuage.services.billing.counting import freeze_month
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments import documents, dunning, payments, suspension
from nuage.shared.month import Month
from nuage.tenancy.model import PartyStatus
from payments_flow import Month1

D = Decimal
IBAN = "BE68539007547034"


def entry(ref: str, amount: str, reference: str | None, on: date = date(2026, 2, 20)) -> BankEntry:
    return BankEntry("STMT-1", ref, D(amount), "EUR", True, on, reference, "Payer", "BE71096123456769")


def balances(month1: Month1, on: date | None = None) -> dict[str, tuple[Decimal, Decimal]]:
    with month1.uow() as (uow, store):
        found = payments.balances(uow, month1.ctx, month1.settings, on)
    return {item.name: (item.balance, item.overdue) for item in found}


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("TEN-5")
def test_camt_import_matches_partial_over_unknown_and_is_idempotent(month1: Month1) -> None:
    dupont, bru, meuse = (
        month1.numbers[n] for n in ("Atelier Dupont", "Brussels Voice Partners", "Meuse Connect")
    )
    statement = write_camt053(
        "STMT-1",
        IBAN,
        (
            entry("E1", "102.03", reference_for(dupont)),  # Dupont in full
            entry("E2", "30.00", reference_for(bru)),  # partner: partial (68.90 due)
            entry("E3", "40.00", reference_for(meuse)),  # partner: over-paid (34.30 due)
            entry("E4", "12.00", "+++999/9999/99948+++"),  # valid reference, no such invoice
            entry("E5", "5.00", "thanks for the service"),  # no reference at all
            replace(entry("E6", "2.50", None), credit=False),  # a bank fee: a debit, ignored
        ),
    )
    with month1.uow() as (uow, store):
        report = payments.import_statement(uow, month1.ctx, statement)
    assert [(ref, number) for ref, number, _ in report.matched] == [
        ("E1", dupont),
        ("E2", bru),
        ("E3", meuse),
    ]
    assert [ref for ref, _ in report.parked] == ["E4", "E5"]
    assert report.ignored == ["E6"]
    assert balances(month1) == {
        "Atelier Dupont": (D("0.00"), D(0)),
        "Brussels Voice Partners": (D("38.90"), D(0)),
        "Meuse Connect": (D("-5.70"), D(0)),  # credit on the account
    }
    # the same file again: nothing counted twice
    with month1.uow() as (uow, store):
        again = payments.import_statement(uow, month1.ctx, statement)
        assert len(store.payments()) == 3
        assert len(store.parked()) == 2
    assert (again.duplicates, again.matched, again.parked) == (6, [], [])
    # a parked entry is reviewed and assigned; it is never lost
    with month1.uow() as (uow, store):
        parked = store.parked()
        payments.assign_parked(uow, month1.ctx, parked[0].parked_id, invoice_number=bru)
        assert [e.entry.entry_ref for e in store.parked()] == ["E5"]
    assert balances(month1)["Brussels Voice Partners"] == (D("26.90"), D(0))


@pytest.mark.rule("PAY-1")
def test_malformed_statement_is_refused_and_nothing_is_stored(month1: Month1) -> None:
    broken = write_camt053("STMT-9", IBAN, (entry("E1", "10.00", None),)).replace(b"<Amt Ccy", b"<Amt Cc")
    with month1.uow() as (uow, store), pytest.raises(MalformedStatement, match="without currency"):
        payments.import_statement(uow, month1.ctx, broken)
    with month1.uow() as (_uow, store):
        assert store.payments() == []


@pytest.mark.rule("PAY-1")
def test_manual_payment_must_match_the_invoices_party(month1: Month1) -> None:
    with month1.uow() as (uow, store), pytest.raises(InvalidInput, match="TEN-5"):
        payments.record_payment(
            uow,
            month1.ctx,
            party_id=month1.ids["Atelier Dupont"],
            amount=D("10.00"),
            received_on=date(2026, 2, 10),
            invoice_number=month1.numbers["Meuse Connect"],
        )
    with month1.uow() as (uow, store):
        payments.record_payment(
            uow,
            month1.ctx,
            party_id=month1.ids["Atelier Dupont"],
            amount=D("2.03"),
            received_on=date(2026, 2, 10),
            invoice_number=month1.numbers["Atelier Dupont"],
        )
    assert balances(month1)["Atelier Dupont"] == (D("100.00"), D(0))


@pytest.mark.rule("PAY-1")
@pytest.mark.parametrize("amount", ["1E+999999", "NaN", "1000000000.00", "0", "-5.00", "1.001"])
def test_a_payment_by_hand_is_a_bounded_amount_in_cents(month1: Month1, amount: str) -> None:
    with month1.uow() as (uow, store), pytest.raises(InvalidInput) as refused:
        payments.record_payment(
            uow,
            month1.ctx,
            party_id=month1.ids["Atelier Dupont"],
            amount=D(amount),
            received_on=date(2026, 2, 10),
        )
    assert refused.value.field == "amount"


def run(month1: Month1, on: date, settings: PaymentSettings) -> dunning.DunningReport:
    month1.clock.set(datetime(on.year, on.month, on.day, 9, tzinfo=UTC))
    with month1.uow() as (uow, store):
        return dunning.run_dunning(uow, month1.ctx, settings, on)


@pytest.mark.rule("PAY-1")
@pytest.mark.rule("PAY-2")
@pytest.mark.rule("PAY-3")
def test_reminders_interest_suspension_and_restoration_on_payment(month1: Month1) -> None:
    policy = DunningPolicy((7, 14, 30), (D(0), D("7.50"), D(15)), suspend_after_days=7, auto_suspend=True)
    settings = replace(month1.settings, policy=policy)
    dupont_id, dupont = month1.ids["Atelier Dupont"], month1.numbers["Atelier Dupont"]
    # issued 3 Feb, due 5 March (30 days); 102.03 unpaid
    assert run(month1, date(2026, 3, 5), settings).plan.reminders == ()
    first = run(month1, date(2026, 3, 12), settings)
    assert [(r.invoice_number, r.level) for r in first.plan.reminders if r.invoice_number == dupont] == [
        (dupont, 1)
    ]
    assert run(month1, date(2026, 3, 12), settings).plan.reminders == ()  # same day again: nothing more
    run(month1, date(2026, 3, 19), settings)
    third = run(month1, date(2026, 4, 4), settings)
    assert [r.level for r in third.plan.reminders if r.invoice_number == dupont] == [3]
    assert third.suspended == []
    # 7 days after the last reminder: suspended to minimum service, citing PAY-1/PAY-3
    fourth = run(month1, date(2026, 4, 11), settings)
    assert dupont_id in fourth.suspended
    with month1.uow() as (uow, store):
        party = uow.parties.get(dupont_id)
        charges = [c for c in store.charges(dupont_id)]
    assert party.status is PartyStatus.SUSPENDED
    assert party.status_reason is not None
    assert party.status_reason.startswith("PAY-1/PAY-3")
    assert dupont in party.status_reason
    # PAY-2, per started month: delay month 1 (6 Mar–5 Apr) and 2 (from 6 Apr) on 102.03 → 1.02 + 1.02
    interest = [c.line.amount for c in charges if c.kind == "late_interest"]
    assert interest == [D("1.02"), D("1.02")]
    fees = [c.line.amount for c in charges if c.kind == "reminder_fee"]
    assert fees == [D("7.50"), D("15.00")]
    # paid by bank transfer on 15 April: restored by the next run
    statement = write_camt053(
        "STMT-2", IBAN, (entry("P1", "102.03", reference_for(dupont), date(2026, 4, 15)),)
    )
    with month1.uow() as (uow, store):
        payments.import_statement(uow, month1.ctx, statement)
    restored = run(month1, date(2026, 4, 16), settings)
    assert dupont_id in restored.restored
    with month1.uow() as (uow, store):
        assert uow.parties.get(dupont_id).status is PartyStatus.ACTIVE
        # the PAY-2 lines go on an invoice of their own that passes the e-invoice rules
        stored = dunning.invoice_charges(uow, month1.ctx, dupont_id, month1.tools, date(2026, 4, 16))
        assert stored is not None
        assert [line.rule_id for line in stored.issued.draft.lines] == ["PAY-2"] * 4
        assert stored.issued.totals.net == D("24.54")
        document = documents.render_documents(uow, month1.ctx, stored.issued.number, month1.tools)
        assert store.charges(dupont_id) == []
    validate_einvoice(stored.issued.number, document.ubl)


@pytest.mark.rule("PAY-2")
def test_pro_rata_interest_setting(month1: Month1) -> None:
    policy = DunningPolicy(interest_mode=InterestMode.PRO_RATA)
    settings = replace(month1.settings, policy=policy)
    run(month1, date(2026, 4, 10), settings)
    with month1.uow() as (_uow, store):
        interest = [
            c.line.amount for c in store.charges(month1.ids["Atelier Dupont"]) if c.kind == "late_interest"
        ]
    assert interest == [D("1.02")]  # one whole delay month (6 Mar–5 Apr) on 102.03; April not complete yet


@pytest.mark.rule("PAY-1")
def test_a_suspended_customer_is_still_invoiced(month1: Month1) -> None:
    dupont_id = month1.ids["Atelier Dupont"]
    with month1.uow() as (uow, _store):
        suspension.suspend(uow, month1.ctx, dupont_id, (month1.numbers["Atelier Dupont"],))
    month1.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    with month1.uow() as (uow, _store):
        freeze_month(uow, month1.ctx, Month(2026, 2))
    report = month1.run(Month(2026, 2))
    invoiced = {s.issued.draft.invoiced_party_id for s in report.invoices}
    assert dupont_id in invoiced  # PAY-1: suspension never ends the subscription
    with month1.uow() as (uow, _store):
        assert uow.parties.get(dupont_id).status is PartyStatus.SUSPENDED


@pytest.mark.rule("PAY-4")
@pytest.mark.rule("TEN-5")
def test_defaulting_partner_customers_are_suspended_then_moved_to_direct(month1: Month1) -> None:
    partner_id, peeters_id = month1.ids["Brussels Voice Partners"], month1.ids["Bakkerij Peeters"]
    with month1.uow() as (uow, _store):
        suspended = suspension.suspend_partner_customers(uow, month1.ctx, partner_id)
    assert {party.id for party in suspended} == {partner_id, peeters_id}
    with month1.uow() as (uow, _store):
        users_before = len(uow.users.list(account_id=peeters_id))
        moved = suspension.move_partner_customers(uow, month1.ctx, partner_id, None)
    assert [(m.id, m.partner_id, m.status) for m in moved] == [(peeters_id, None, PartyStatus.ACTIVE)]
    with month1.uow() as (uow, _store):
        assert len(uow.users.list(account_id=peeters_id)) == users_before  # configuration kept
        assert uow.parties.get(partner_id).status is PartyStatus.SUSPENDED
    month1.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    with month1.uow() as (uow, _store):
        freeze_month(uow, month1.ctx, Month(2026, 2))
    report = month1.run(Month(2026, 2))
    invoiced = {s.issued.draft.invoiced_party_id for s in report.invoices}
    assert peeters_id in invoiced  # from the move on, invoiced directly
    assert partner_id not in invoiced
