"""The in-memory billing store answers as the SQL one: the same checks on memory, SQLite and PostgreSQL,
so the billing use cases' rule tests on the memory unit of work prove what they would on a database."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nuage.billing.plans import Audience, PriceList
from nuage.billing.runs import NumberHolding
from nuage.errors import Conflict
from nuage.rating.packs import PackBalance
from nuage.rating.runs import RatingRun
from nuage.rating.tariffs import Tariff
from nuage.services.billing.ports import ContractState, TrafficMark
from nuage.shared.month import Month
from nuage.storage.sql.billing import rated_copy
from nuage.terms.contract import Contract, Termination
from nuage.terms.counting import CountRecord, ItemKind, MonthlySummary

from .billing_records import T0, add_parties, cdr, invoice, rated, users_line

RETAIL, WHOLESALE = RatingRun.CUSTOMER_RETAIL, RatingRun.PARTNER_WHOLESALE
BOTH = {"cus_a": (RETAIL,), "cus_b": (RETAIL, WHOLESALE)}


def _tariff(version: str, days: int) -> Tariff:
    return Tariff(version, T0 + timedelta(days=days), {"+322": Decimal("0.05"), "32": Decimal("0.10")})


def test_each_unit_of_work_has_one_billing_store_committed_with_the_rest(uow_factory: Any) -> None:
    with uow_factory() as uow:
        assert uow.billing is uow.billing
        assert uow.payments is uow.payments
        uow.billing.add_tariff("customer-retail", _tariff("t1", 0), T0)
        uow.commit()
        uow.billing.add_tariff("customer-retail", _tariff("t2", 5), T0)  # never committed
    with uow_factory() as uow:
        assert [t.version for t in uow.billing.tariffs("customer-retail")] == ["t1"]
        uow.billing.add_tariff("customer-retail", _tariff("t3", 9), T0)
        uow.rollback()
        assert not uow.billing.has_tariff("customer-retail", "t3")


def test_a_job_lock_sees_what_others_committed_before_it(uow_factory: Any) -> None:
    with uow_factory() as first:
        with uow_factory() as second:
            second.billing.add_tariff("customer-retail", _tariff("t1", 0), T0)
            second.commit()
        first.billing.lock("rating")
        assert first.billing.has_tariff("customer-retail", "t1")
        first.billing.add_tariff("customer-retail", _tariff("t2", 3), T0)
        first.commit()
    with uow_factory() as uow:
        assert [t.version for t in uow.billing.tariffs("customer-retail")] == ["t1", "t2"]


@pytest.mark.rule("BIL-4")
def test_the_number_counter_is_locked_until_the_transaction_ends(uow_factory: Any) -> None:
    got: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def issuer() -> None:
        try:
            barrier.wait()
            for _ in range(15):
                with uow_factory() as uow:
                    last = uow.billing.locked_last_number("INV", 2030)
                    number = f"INV-2030-{(0 if last is None else int(last[-6:])) + 1:06d}"
                    time.sleep(0.001)  # widen the race window (not a wait: the lock decides)
                    uow.billing.set_last_number("INV", 2030, number)
                    uow.commit()
                got.append(number)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=issuer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(got) == [f"INV-2030-{n:06d}" for n in range(1, 31)]


@pytest.mark.rule("RAT-2")
@pytest.mark.rule("BIL-2")
def test_tariffs_price_lists_and_plans(uow_factory: Any) -> None:
    add = "customer-retail"
    prices = PriceList("v1", Audience.CUSTOMER_RETAIL, date(2026, 1, 1), {}, valid_to=date(2026, 6, 1))
    with uow_factory() as uow:
        add_parties(uow)
        uow.billing.add_tariff(add, _tariff("t2", 10), T0)
        uow.billing.add_tariff(add, _tariff("t1", 0), T0)
        uow.billing.add_price_list(
            "plan", PriceList("v2", Audience.CUSTOMER_RETAIL, date(2026, 6, 1), {}), T0
        )
        uow.billing.add_price_list("plan", prices, T0)
        uow.billing.assign_plan("cus_a", "plan", T0)
        uow.billing.assign_plan("cus_a", "other", T0)
        uow.commit()
    with uow_factory() as uow:
        store = uow.billing
        found = store.tariffs(add)
        assert [t.version for t in found] == ["t1", "t2"]
        assert dict(found[0].per_minute_by_prefix) == {"322": Decimal("0.05"), "32": Decimal("0.10")}
        assert found[0].valid_from == T0
        assert store.tariffs("partner-wholesale") == []
        assert store.has_tariff(add, "t1")
        assert not store.has_tariff("partner-wholesale", "t1")
        assert [p.version for p in store.price_lists("plan")] == ["v1", "v2"]
        assert store.price_lists("plan")[0] == prices
        assert store.has_price_list("plan", Audience.CUSTOMER_RETAIL, "v1")
        assert not store.has_price_list("plan", Audience.PARTNER_WHOLESALE, "v1")
        assert store.plan_assignments() == {"cus_a": "other"}
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.billing.add_tariff(add, _tariff("t1", 20), T0)


@pytest.mark.rule("CNT-1")
@pytest.mark.rule("BIL-11")
def test_count_records_summaries_and_number_holdings(uow_factory: Any) -> None:
    users = ItemKind.BILLABLE_USERS

    def summary(account: str, month: Month, n: int) -> MonthlySummary:
        return MonthlySummary(
            account, month, ((users, Decimal(n)),), T0, "0" * 64, f"{account}{month}".ljust(64, "x")
        )

    with uow_factory() as uow:
        add_parties(uow)
        uow.billing.add_count_records(
            [CountRecord("cus_a", T0 + timedelta(hours=h), users, Decimal(h)) for h in (5, 1, 30)]
            + [CountRecord("cus_b", T0, users, Decimal(9))]
        )
        for month in (Month(2026, 2), Month(2026, 1), Month(2026, 3)):
            uow.billing.add_summary(summary("cus_a", month, month.month))
        uow.billing.add_summary(summary("cus_b", Month(2026, 1), 4))
        early, late = NumberHolding("+442000", date(2026, 1, 5)), NumberHolding("+441000", date(2026, 2, 1))
        uow.billing.add_number_holding("cus_a", late)
        uow.billing.add_number_holding("cus_a", early)
        uow.billing.release_number_holding("cus_a", early, date(2026, 1, 20))
        uow.commit()
    with uow_factory() as uow:
        store = uow.billing
        window = store.count_records("cus_a", T0, T0 + timedelta(days=1))
        assert [(r.counted_at, r.quantity) for r in window] == [
            (T0 + timedelta(hours=1), 1),
            (T0 + timedelta(hours=5), 5),
        ]
        assert [str(s.month) for s in store.summaries("cus_a")] == ["2026-01", "2026-02", "2026-03"]
        assert store.summary("cus_a", Month(2026, 2)) == summary("cus_a", Month(2026, 2), 2)
        assert store.summary("cus_a", Month(2025, 12)) is None
        assert store.latest_summary("cus_a") == summary("cus_a", Month(2026, 3), 3)
        latest = store.latest_summaries(["cus_a", "cus_b", "cus_x"], Month(2026, 2))
        assert {k: str(v.month) for k, v in latest.items()} == {"cus_a": "2026-02", "cus_b": "2026-01"}
        chains = store.summaries_of(["cus_b", "cus_a", "cus_x"])
        assert list(chains) == ["cus_b", "cus_a", "cus_x"]
        assert chains["cus_a"] == store.summaries("cus_a")
        assert chains["cus_b"] == store.summaries("cus_b")
        assert chains["cus_x"] == []
        assert store.number_holdings(["cus_a", "cus_b"]) == {
            "cus_a": [NumberHolding("+442000", date(2026, 1, 5), date(2026, 1, 20)), late]
        }
    with pytest.raises(Conflict, match="CNT-1"), uow_factory() as uow:
        uow.billing.add_summary(summary("cus_a", Month(2026, 2), 7))


@pytest.mark.rule("SIP-1")
@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-3")
def test_imported_cdrs_are_pending_in_each_run_that_has_not_rated_them(uow_factory: Any) -> None:
    with uow_factory() as uow:
        add_parties(uow)
        records = [
            ("k1", cdr(1, "cus_a", minutes_in=5)),
            ("k2", cdr(2, "cus_b", minutes_in=9)),
            ("k3", cdr(3, "cus_b", minutes_in=1)),
            ("k4", cdr(4, "cus_a", seconds=0)),  # not answered: never rated
        ]
        assert uow.billing.add_imported_cdrs(records, T0) == 4
        assert uow.billing.add_imported_cdrs([records[0], ("k5", cdr(5, "cus_a"))], T0) == 1
        uow.billing.add_rated_calls([rated(0, "cus_b", cdr_id="k3", run=WHOLESALE.value)], T0)
        uow.commit()
    with uow_factory() as uow:
        batches = list(uow.billing.pending_cdrs(2, {"cus_b"}, BOTH))
        flat = [(c.cdr_id, run) for b in batches for run in RatingRun for c in b.of(run)]
        assert sorted(flat) == sorted(
            [("k1", RETAIL), ("k5", RETAIL), ("k3", RETAIL), ("k2", RETAIL), ("k2", WHOLESALE)]
        )
        assert sum(b.size for b in batches) == 4
        ordered = [c.cdr_id for b in batches for c in b.retail if c.account_id == "cus_b"]
        assert ordered == ["k3", "k2"]  # RAT-3: call order
        last = [c for b in batches for c in b.retail + b.wholesale]
        assert [c.cdr_id for c in last][-1] == "k2"  # the accounts with packs come last
        k1 = next(c for c in last if c.cdr_id == "k1")
        assert (k1.account_id, k1.started_at, k1.destination, k1.billable_seconds, k1.emergency) == (
            "cus_a",
            T0 + timedelta(minutes=5),
            "+3222000000",
            60,
            False,
        )
        only_a = list(uow.billing.pending_cdrs(10, (), {"cus_a": (RETAIL,)}))
        assert sorted(c.cdr_id for b in only_a for c in b.retail) == ["k1", "k5"]


@pytest.mark.rule("SIP-1")
def test_imported_cdrs_are_read_back_by_key_as_they_were_imported(uow_factory: Any) -> None:
    with uow_factory() as uow:
        add_parties(uow)
        emergency = cdr(2, "cus_b", seconds=0)._replace(destination="112", emergency=True)
        records = [("k1", cdr(1, "cus_a", minutes_in=5)), ("k2", emergency)]
        uow.billing.add_imported_cdrs(records, T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.billing.imported_cdrs(["k2", "k1", "k9"]) == dict(records)  # k9: never imported
        assert uow.billing.imported_cdrs([]) == {}


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("RAT-3")
def test_cost_records_are_stored_once_and_read_back_as_they_were(uow_factory: Any) -> None:
    calls = [
        rated(2),
        rated(1, pack_ids=("pk_1", "pk_2"), pack_seconds=61, charged_seconds=0, amount=Decimal("0.00")),
        rated(1, run=WHOLESALE.value, emergency=True, itemised=False, prefix="", tariff_version=""),
    ]
    with uow_factory() as uow:
        store = uow.billing
        assert store.add_rated_calls(calls[:1], T0) == 1
        prepared = store.prepare_rated_calls(calls, T0)
        assert store.add_prepared_rated_calls(prepared) == 2
        store.rating_stored()
        store.save_pack_balances("customer-retail", [PackBalance("pk_1", 61, Decimal("1.25"))], T0)
        store.save_pack_balances("customer-retail", [PackBalance("pk_1", 122, Decimal("2.50"))], T0)
        uow.commit()
    with uow_factory() as uow:
        found = uow.billing.rated_calls(["cdr_1", "cdr_2", "cdr_9"])
        kept = Decimal("0.050833333333")  # exact amounts are kept to 12 places
        assert found == [call._replace(exact_amount=kept) for call in (calls[1], calls[2], calls[0])]
        assert uow.billing.pack_balances("customer-retail", ["pk_1", "pk_2"]) == {
            "pk_1": PackBalance("pk_1", 122, Decimal("2.50"))
        }
        assert uow.billing.pack_balances("partner-wholesale", ["pk_1"]) == {}


@pytest.mark.rule("RAT-1")
@pytest.mark.rule("TEN-5")
def test_a_pass_streams_each_cost_record_once_and_counts_the_new_ones_by_run(
    uow_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass streams its records (PostgreSQL: one COPY over several writes, ended once it holds
    ``STREAM_RECORDS`` records, before any other statement and by ``rating_stored``): a record
    already stored is kept and not counted, whether the stream it meets is open or ended."""
    monkeypatch.setattr(rated_copy, "STREAM_RECORDS", 3)
    retail = [rated(n) for n in range(1, 6)]
    wholesale = [rated(n, account="cus_b", run=WHOLESALE.value) for n in range(6, 8)]
    with uow_factory() as uow:
        store = uow.billing
        assert store.add_rated_calls([retail[1]], T0) == 1
        store.stream_rated_calls(store.prepare_rated_calls(retail[:2], T0))  # open, meets retail[1]
        store.stream_rated_calls(store.prepare_rated_calls(wholesale, T0))  # 4 records: ended
        assert store.pack_balances(RETAIL.value, ["pk_1"]) == {}  # another statement between writes
        store.stream_rated_calls(store.prepare_rated_calls(retail[2:], T0))
        store.stream_rated_calls(store.prepare_rated_calls(retail[4:], T0))  # stored by the last
        assert store.rating_stored() == {RETAIL.value: 4, WHOLESALE.value: 2}
        uow.commit()
    with uow_factory() as uow:
        found = uow.billing.rated_calls([call.cdr_id for call in retail + wholesale])
    kept = Decimal("0.050833333333")  # exact amounts are kept to 12 places
    assert sorted(found) == sorted(call._replace(exact_amount=kept) for call in retail + wholesale)


@pytest.mark.rule("BIL-3")
def test_uninvoiced_calls_are_marked_once_and_a_changed_count_is_refused(uow_factory: Any) -> None:
    with uow_factory() as uow:
        uow.billing.add_rated_calls(
            [
                rated(3),
                rated(1),
                rated(2, amount=Decimal("0.00")),  # free: not itemised on an invoice
                rated(4, emergency=True, itemised=False),
                rated(5, "cus_b"),
                rated(6, "cus_b", run=WHOLESALE.value),
                rated(90),  # after the run's bound
            ],
            T0,
        )
        uow.commit()
    before = T0 + timedelta(minutes=60)
    runs = {"cus_a": RETAIL.value, "cus_b": WHOLESALE.value, "cus_c": RETAIL.value}
    with uow_factory() as uow:
        found = uow.billing.uninvoiced_calls(runs, before)
        assert {k: [c.cdr_id for c in v] for k, v in found.items()} == {
            "cus_a": ["cdr_1", "cdr_3"],
            "cus_b": ["cdr_6"],
        }
        marks = [
            TrafficMark("inv_1", RETAIL.value, "cus_a", 2),
            TrafficMark("inv_2", WHOLESALE.value, "cus_b", 1),
        ]
        uow.billing.mark_traffic_invoiced(marks, before)
        uow.commit()
    with uow_factory() as uow:
        assert uow.billing.uninvoiced_calls(runs, before) == {}
        assert [
            c.cdr_id for c in uow.billing.uninvoiced_calls(runs, before + timedelta(hours=1))["cus_a"]
        ] == ["cdr_90"]
    with pytest.raises(Conflict, match="BIL-3"), uow_factory() as uow:
        uow.billing.mark_traffic_invoiced(
            [TrafficMark("inv_3", RETAIL.value, "cus_a", 2)], T0 + timedelta(hours=3)
        )
    with uow_factory() as uow:  # the refused marking was rolled back
        assert len(uow.billing.uninvoiced_calls(runs, T0 + timedelta(hours=3))["cus_a"]) == 1


@pytest.mark.rule("CTR-1")
@pytest.mark.rule("BIL-9")
def test_contracts_are_saved_and_read_by_party(uow_factory: Any) -> None:
    def state(customer: str, party: str) -> ContractState:
        return ContractState(
            Contract(f"ctr_{customer}", customer, party, date(2026, 1, 1)), f"ord_{customer}"
        )

    with uow_factory() as uow:
        add_parties(uow)
        uow.billing.add_contract(state("cus_b", "par_1"), T0)
        uow.billing.add_contract(state("cus_a", "cus_a"), T0)
        uow.commit()
    with uow_factory() as uow:
        assert [s.contract.customer_id for s in uow.billing.contracts()] == ["cus_a", "cus_b"]
        assert uow.billing.contract_for("cus_x") is None
        ended = Contract(
            "ctr_cus_a",
            "cus_a",
            "cus_a",
            date(2026, 1, 1),
            12,
            Termination(date(2026, 2, 1), date(2026, 5, 1)),
        )
        uow.billing.save_contract(ContractState(ended, "ord_cus_a", Month(2026, 2)))
        uow.billing.save_contracts([replace_billed(state("cus_b", "par_1"), Month(2026, 3))])
        uow.commit()
    with uow_factory() as uow:
        assert uow.billing.contract_for("cus_a") == ContractState(ended, "ord_cus_a", Month(2026, 2))
        assert uow.billing.contract_for("cus_b") == replace_billed(state("cus_b", "par_1"), Month(2026, 3))
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.billing.add_contract(
            ContractState(Contract("ctr_2", "cus_a", "cus_a", date(2026, 1, 1)), "ord_cus_a"), T0
        )


def replace_billed(state: ContractState, month: Month) -> ContractState:
    return ContractState(state.contract, state.order_id, month)


@pytest.mark.rule("BIL-4")
@pytest.mark.rule("BIL-9")
@pytest.mark.rule("CNT-3")
@pytest.mark.rule("CTR-3")
def test_invoices_numbers_corrections_and_the_reads_of_earlier_invoices(uow_factory: Any) -> None:
    feb, mar = Month(2026, 2), Month(2026, 3)
    first = invoice("F-1", "cus_a", users_line("cus_a", feb, 3), minutes=1)
    partner = invoice("F-2", "par_1", users_line("cus_b", feb, 5), users_line("cus_b", mar, 1), minutes=2)
    credit = invoice("C-1", "cus_a", *first.draft.lines, minutes=3, credits="F-1")
    again = invoice("F-3", "cus_a", users_line("cus_a", feb, 2), minutes=3, replaces="F-1")
    with uow_factory() as uow:
        add_parties(uow)
        store = uow.billing
        assert store.locked_last_number("F", 2026) is None
        ids = store.add_invoices([first, partner], "monthly")
        store.set_last_number("F", 2026, "F-2")
        assert store.add_invoice(credit, "correction") not in ids
        store.add_invoice(again, "correction")
        uow.commit()
    with uow_factory() as uow:
        store = uow.billing
        assert store.locked_last_number("F", 2026) == "F-2"
        assert store.existing_run_keys(["run:F-1", "run:F-9"]) == {"run:F-1"}
        found = store.find_invoice("F-1")
        assert found is not None
        assert found.invoice_id == ids[0]
        assert (found.issued, found.credited_by, found.replaced_by) == (first, "C-1", "F-3")
        assert store.find_invoice("F-9") is None
        headers, total = store.list_invoices(party_ids=None, period=None, limit=2, offset=1)
        assert total == 4
        assert [h.number for h in headers] == ["F-2", "C-1"]
        header = headers[0]
        assert (header.net, header.gross, header.line_count, header.period) == (
            Decimal("119.70"),
            Decimal("144.84"),
            2,
            "2026-02",
        )
        headers, total = store.list_invoices(party_ids=["cus_a"], period="2026-02", limit=10, offset=0)
        assert [(h.number, h.credited_by) for h in headers] == [("F-1", "C-1"), ("C-1", None), ("F-3", None)]
        headers, total = store.list_invoices(
            party_ids=None, period=None, customer_id="cus_b", limit=10, offset=0
        )
        assert [h.number for h in headers] == ["F-2"]
        assert store.billed_users(["cus_a", "cus_b"], feb) == {"cus_a": 2, "cus_b": 5}  # F-1 is voided
        latest = store.latest_recurring_invoice("cus_a", "cus_a")
        assert latest is not None
        assert latest.issued.number == "F-3"
        assert store.latest_recurring_invoice("cus_a", "cus_b") is None
    with pytest.raises(Conflict), uow_factory() as uow:
        uow.billing.add_invoice(invoice("F-1", "cus_a", users_line("cus_a", mar, 1)), "order")


@pytest.mark.rule("BIL-4")
def test_the_date_of_the_last_document_issued(uow_factory: Any) -> None:
    first = invoice("F-1", "cus_a", users_line("cus_a", Month(2026, 2), 3))
    later = invoice("F-2", "cus_a", users_line("cus_a", Month(2026, 3), 3))
    later = replace(later, draft=replace(later.draft, issue_on=date(2026, 3, 31)))
    credit = invoice("C-1", "cus_a", *first.draft.lines, minutes=3, credits="F-1")
    with uow_factory() as uow:
        add_parties(uow)
        assert uow.billing.last_issue_on() is None
        uow.billing.add_invoices([first, later, credit], "monthly")
        uow.commit()
    with uow_factory() as uow:
        assert uow.billing.last_issue_on() == date(2026, 3, 31)  # the latest date, not the latest row
